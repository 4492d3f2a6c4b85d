import { createAccessCheck, type AccessOptions } from '../access.js';
import type { Endpoint } from '../address.js';
import { DEFAULTS, checkCount } from '../options.js';
import { MemoryState, type SharedState, type SharedStateStatus } from '../state/shared-state.js';
import { bindUdp, type BindUdpOptions, type UdpEndpoint, type UdpStats } from '../udp/endpoint.js';
import { SourceRateLimiter } from '../udp/rate-limit.js';
import { ReplyRing } from './_reply-ring.js';
import { ValueBatcher, type PendingGet } from './_value-batcher.js';

/** Why a datagram got no reply. */
export type DropReason = 'empty' | 'oversized' | 'malformed' | 'denied' | 'rate-limited' | 'amplification' | 'overloaded' | 'backend-unavailable';

/** What the counter server reports, for logs and tests. */
export type CounterEvent =
  | { type: 'request'; from: Endpoint; text: string; id?: string; retry: boolean }
  | { type: 'reply'; to: Endpoint; value: number; id?: string }
  | { type: 'dropped'; from: Endpoint; reason: DropReason; bytes: number }
  /** The shared state went down or came back (reported once per change, even with `logMessages` off). */
  | { type: 'backend'; status: SharedStateStatus; location: string; reason?: string };

export interface CounterServerOptions extends BindUdpOptions, AccessOptions {
  /** Wait before answering a `get`. @default DEFAULTS.replyDelayMs */
  delayMs?: number;
  /** Replies waiting for their delay at once; `get`s beyond are dropped and counted. @default DEFAULTS.maxPendingReplies */
  maxPendingReplies?: number;
  /** Bigger datagrams are not read as requests. @default DEFAULTS.maxRequestBytes */
  maxRequestBytes?: number;
  /** A reply is at most this many times its request's bytes (anti-reflection). @default DEFAULTS.maxAmplification */
  maxAmplification?: number;
  /** Requests answered per second per source address. @default DEFAULTS.maxRequestsPerSecondPerSource */
  maxRequestsPerSecondPerSource?: number;
  /** Source addresses rate-limited separately. @default DEFAULTS.maxTrackedSources */
  maxTrackedSources?: number;
  /** `get <id>` requests remembered for retries. @default DEFAULTS.maxRememberedRequests */
  maxRememberedRequests?: number;
  /**
   * Where counter values come from. Pass a shared one (`--workers`, Redis) to run several servers as one
   * counter; the server does not close it. @default a new MemoryState (this process only)
   */
  state?: SharedState;
  onEvent?: (event: CounterEvent) => void;
  /** Report `request`, `reply` and `dropped` events. @default true */
  logMessages?: boolean;
}

/** Counters of the counter server, on top of the endpoint's. */
export interface CounterStats extends UdpStats {
  /** `get`s that took a new counter value. */
  gets: number;
  /** `get <id>` retries answered with the value their id was first given. */
  retries: number;
  /** Datagrams that were not a request: `empty + oversized + malformed` (derived, read-only). */
  readonly ignored: number;
  empty: number;
  oversized: number;
  malformed: number;
  /** From addresses the allow/deny lists refuse. */
  denied: number;
  /** Over `maxRequestsPerSecondPerSource`. */
  rateLimited: number;
  /** Whose reply would have been more than `maxAmplification` × the request. */
  amplificationLimited: number;
  /** `get`s dropped because `maxPendingReplies` were waiting. */
  overloaded: number;
  /** `get`s dropped because the shared state could not give a value (never invented). */
  backendUnavailable: number;
  /** Most replies ever waiting at once (never above `maxPendingReplies`). */
  peakPending: number;
  replied: number;
}

/** A running UDP counter server. */
export interface CounterServer {
  readonly endpoint: UdpEndpoint;
  readonly stats: CounterStats;
  address(): Endpoint;
  /** The highest value this server handed out. */
  readonly counter: number;
  /** Replies waiting for their delay now. */
  readonly pending: number;
  readonly state: SharedState;
  /** Stops at once; replies still waiting for their delay are not sent. */
  close(): Promise<void>;
}

const ENDINGS = ['', '\n', '\r\n'] as const;

/** A request id: 1 to 32 letters, digits, `.`, `_` or `-`. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,32}$/;

/** A parsed `get`: the line ending to echo back (0 none, 1 LF, 2 CRLF) and the request id, if any. */
export interface GetRequest {
  ending: 0 | 1 | 2;
  id: string | undefined;
}

/**
 * Recognises `get` (the seed's request) and `get <id>` (socklab's, for retries), tolerating one trailing LF or
 * CRLF (ncat -u and socat send the newline typed). Returns undefined when the datagram is neither.
 * @example parseGet(Buffer.from('get 7\n')) // { ending: 1, id: '7' }
 */
export function parseGet(data: Buffer): GetRequest | undefined {
  if (data.length < 3 || data[0] !== 0x67 || data[1] !== 0x65 || data[2] !== 0x74) return undefined;
  let end = data.length;
  let ending: 0 | 1 | 2 = 0;
  if (data[end - 1] === 0x0a) {
    end--;
    ending = 1;
    if (data[end - 1] === 0x0d) {
      end--;
      ending = 2;
    }
  }
  if (end === 3) return { ending, id: undefined };
  if (data[3] !== 0x20) return undefined;
  const id = data.toString('latin1', 4, end);
  return REQUEST_ID.test(id) ? { ending, id } : undefined;
}

/** The bytes `formatReply` would produce, without building it (checked for every request). */
function replyLength(value: number, ending: 0 | 1 | 2, id: string | undefined): number {
  // `ending` is 0, 1 or 2: exactly the bytes of "", "\n" and "\r\n".
  return (id === undefined ? 0 : id.length + 1) + String(value).length + ending;
}

/** The reply to a request: `<value>` for the seed's `get`, `<id> <value>` for `get <id>`, ending as the request did. */
export function formatReply(value: number, ending: 0 | 1 | 2, id: string | undefined): string {
  return id === undefined ? `${value}${ENDINGS[ending]}` : `${id} ${value}${ENDINGS[ending]}`;
}

/**
 * The seed's udp_server.py: each `get` takes the next counter value at once (so values are unique and in
 * order of arrival) and is answered with it after `delayMs`, to the address it came from. The reply ends the
 * way the request did: `get` → `1`, `get\n` → `1\n`, so the seed's client and ncat users both read it cleanly.
 *
 * Because the delay is the same for every request, pending replies are due in arrival order: one FIFO queue and
 * one timer serve them all, instead of a timer per request.
 *
 * Hardening, in the order a datagram meets it: allow/deny lists, size (`maxRequestBytes`; empty and malformed
 * datagrams are counted too), a per-source rate limit, the amplification bound, and the cap on pending replies.
 * Each drop is counted in `stats` under its own name. A `get <id>` retried from the same address and port gets
 * the value the id was first given, so a retry never consumes a second counter value.
 *
 * @example
 * const server = await startCounterServer({ port: 0, delayMs: 500 });
 */
export async function startCounterServer(options: CounterServerOptions = {}): Promise<CounterServer> {
  const delayMs = checkCount('delayMs', options.delayMs ?? DEFAULTS.replyDelayMs, 0);
  const maxPending = checkCount('maxPendingReplies', options.maxPendingReplies ?? DEFAULTS.maxPendingReplies, 1, true);
  const maxRequestBytes = checkCount('maxRequestBytes', options.maxRequestBytes ?? DEFAULTS.maxRequestBytes, 3);
  const maxAmplification = checkCount('maxAmplification', options.maxAmplification ?? DEFAULTS.maxAmplification, 1, true);
  const maxRemembered = checkCount('maxRememberedRequests', options.maxRememberedRequests ?? DEFAULTS.maxRememberedRequests, 0);
  const limiter = new SourceRateLimiter({
    perSecond: options.maxRequestsPerSecondPerSource ?? DEFAULTS.maxRequestsPerSecondPerSource,
    maxSources: options.maxTrackedSources ?? DEFAULTS.maxTrackedSources,
  });
  const allowed = createAccessCheck(options);
  const emit = options.onEvent ?? (() => {});
  const logMessages = options.logMessages ?? true;
  const endpoint = await bindUdp({ receiveBufferBytes: DEFAULTS.udpReceiveBufferBytes, ...options });
  const counts = Object.assign(endpoint.stats, {
    gets: 0,
    retries: 0,
    empty: 0,
    oversized: 0,
    malformed: 0,
    denied: 0,
    rateLimited: 0,
    amplificationLimited: 0,
    overloaded: 0,
    backendUnavailable: 0,
    peakPending: 0,
    replied: 0,
  });
  const stats: CounterStats = Object.defineProperty(counts, 'ignored', {
    enumerable: true,
    get: () => counts.empty + counts.oversized + counts.malformed,
  }) as typeof counts & Pick<CounterStats, 'ignored'>;
  let counter = 0;
  const state = options.state ?? new MemoryState();
  const pending = new ReplyRing();
  /** `address port id` → the value that request id was given (0 while it is on its way); oldest forgotten first. */
  const remembered = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  const onSent = (): void => {
    stats.replied++;
  };
  const onSendError = (): void => {}; // counted in stats.sendErrors by the endpoint
  const sendReply = (value: number, to: Endpoint, ending: 0 | 1 | 2, requestId: string | undefined): void => {
    endpoint.send(formatReply(value, ending, requestId), to).then(onSent, onSendError);
    if (logMessages) emit({ type: 'reply', to, value, ...(requestId === undefined ? {} : { id: requestId }) });
  };

  const sendDue = (): void => {
    timer = undefined;
    const now = performance.now();
    for (let due = pending.nextDueAt(); due !== undefined && due <= now; due = pending.nextDueAt()) pending.shift(sendReply);
    const next = pending.nextDueAt();
    if (next !== undefined) timer = setTimeout(sendDue, Math.max(0, next - now));
  };

  const drop = (from: Endpoint, reason: DropReason, bytes: number): void => {
    if (logMessages) emit({ type: 'dropped', from, reason, bytes });
  };

  const remember = (key: string, value: number): void => {
    if (!remembered.has(key) && remembered.size >= maxRemembered) remembered.delete(remembered.keys().next().value!);
    remembered.set(key, value);
  };

  // Values arrive for a whole batch at once; new gets take them in arrival order. A value whose reply would break
  // the amplification bound (possible only when other instances moved the shared counter past the guess made at
  // arrival) is skipped, never sent.
  const settle = (gets: PendingGet[], first: number | undefined, error: Error | undefined): void => {
    let next = first ?? 0;
    for (const get of gets) {
      let value: number | undefined;
      if (get.retry) value = remembered.get(get.key!) || undefined;
      else if (error === undefined) {
        value = next++;
        if (value > counter) counter = value;
        if (get.key !== undefined && maxRemembered > 0) remember(get.key, value);
      } else if (get.key !== undefined && remembered.get(get.key) === 0) remembered.delete(get.key);
      if (value === undefined) {
        stats.backendUnavailable++;
        drop(get.from, 'backend-unavailable', get.bytes);
        continue;
      }
      if (replyLength(value, get.ending, get.id) > maxAmplification * get.bytes) {
        stats.amplificationLimited++;
        drop(get.from, 'amplification', get.bytes);
        continue;
      }
      if (get.retry) stats.retries++;
      else stats.gets++;
      pending.push(get.arrivedAt + delayMs, value, get.from, get.ending, get.id);
    }
    const due = pending.nextDueAt();
    if (timer === undefined && due !== undefined) timer = setTimeout(sendDue, Math.max(0, due - performance.now()));
  };
  const batcher = new ValueBatcher(state, settle);

  const onStatus = (status: SharedStateStatus, reason?: string): void => {
    emit({ type: 'backend', status, location: state.location, ...(reason === undefined ? {} : { reason }) });
  };
  state.on('status', onStatus);

  endpoint.on('message', ({ data, from }) => {
    if (allowed && !allowed(from.address)) {
      stats.denied++;
      return drop(from, 'denied', data.length);
    }
    if (data.length === 0 || data.length > maxRequestBytes) {
      if (data.length === 0) stats.empty++;
      else stats.oversized++;
      return drop(from, data.length === 0 ? 'empty' : 'oversized', data.length);
    }
    const request = parseGet(data);
    if (request === undefined) {
      stats.malformed++;
      return drop(from, 'malformed', data.length);
    }
    if (!limiter.take(from.address)) {
      stats.rateLimited++;
      return drop(from, 'rate-limited', data.length);
    }
    const key = request.id === undefined ? undefined : `${from.address} ${from.port} ${request.id}`;
    const earlier = key === undefined ? undefined : remembered.get(key);
    // The value this get will most likely take: exact with one server; with several on a shared counter it can
    // only be higher, which settle() checks again.
    const value = earlier || counter + batcher.unknownValues + 1;
    if (replyLength(value, request.ending, request.id) > maxAmplification * data.length) {
      stats.amplificationLimited++;
      return drop(from, 'amplification', data.length);
    }
    const waiting = pending.size + batcher.size;
    if (waiting >= maxPending) {
      stats.overloaded++;
      return drop(from, 'overloaded', data.length);
    }
    if (logMessages) emit({ type: 'request', from, text: data.toString('utf8'), retry: earlier !== undefined, ...(request.id === undefined ? {} : { id: request.id }) });
    if (key !== undefined && earlier === undefined && maxRemembered > 0) remember(key, 0);
    batcher.push({ arrivedAt: performance.now(), from, ending: request.ending, id: request.id, key, retry: earlier !== undefined, bytes: data.length });
    if (waiting + 1 > stats.peakPending) stats.peakPending = waiting + 1;
  });

  return {
    endpoint,
    stats,
    address: () => endpoint.address(),
    state,
    get counter() {
      return counter;
    },
    get pending() {
      return pending.size + batcher.size;
    },
    close: async () => {
      clearTimeout(timer);
      batcher.clear();
      state.off('status', onStatus);
      await endpoint.close();
      if (options.state === undefined) await state.close();
    },
  };
}
