import type { Endpoint } from '../address.js';
import { DEFAULTS, checkCount } from '../options.js';
import { bindUdp, type BindUdpOptions, type UdpEndpoint, type UdpStats } from '../udp/endpoint.js';

/** What the counter server reports, for logs and tests. */
export type CounterEvent =
  | { type: 'request'; from: Endpoint; text: string; accepted: boolean }
  | { type: 'reply'; to: Endpoint; value: number }
  | { type: 'overloaded'; from: Endpoint };

export interface CounterServerOptions extends BindUdpOptions {
  /** Wait before answering a `get`. @default DEFAULTS.replyDelayMs */
  delayMs?: number;
  /** Replies waiting for their delay at once; `get`s beyond are dropped and counted. @default DEFAULTS.maxPendingReplies */
  maxPendingReplies?: number;
  onEvent?: (event: CounterEvent) => void;
  /** Report `request` and `reply` events. @default true */
  logMessages?: boolean;
}

/** Counters of the counter server, on top of the endpoint's. */
export interface CounterStats extends UdpStats {
  /** `get`s answered or waiting to be. */
  gets: number;
  /** Datagrams that were not a `get`. */
  ignored: number;
  /** `get`s dropped because `maxPendingReplies` were waiting. */
  overloaded: number;
  replied: number;
}

/** A running UDP counter server. */
export interface CounterServer {
  readonly endpoint: UdpEndpoint;
  readonly stats: CounterStats;
  address(): Endpoint;
  /** The last value handed out. */
  readonly counter: number;
  /** Stops at once; replies still waiting for their delay are not sent. */
  close(): Promise<void>;
}

interface PendingReply {
  dueAt: number;
  to: Endpoint;
  payload: Buffer;
}

/**
 * Recognises `get`, tolerating one trailing LF or CRLF (ncat -u and socat send the newline typed).
 * Returns the line ending to echo back, or undefined when the datagram is not a `get`.
 */
export function parseGet(data: Buffer): '' | '\n' | '\r\n' | undefined {
  if (data.length < 3 || data.length > 5 || data[0] !== 0x67 || data[1] !== 0x65 || data[2] !== 0x74) return undefined;
  const rest = data.subarray(3).toString('latin1');
  return rest === '' || rest === '\n' || rest === '\r\n' ? rest : undefined;
}

/**
 * The seed's udp_server.py: each `get` takes the next counter value at once (so values are unique and in
 * order of arrival) and is answered with it after `delayMs`, to the address it came from. The reply ends the
 * way the request did: `get` → `1`, `get\n` → `1\n`, so the seed's client and ncat users both read it cleanly.
 *
 * Because the delay is the same for every request, pending replies are due in arrival order: one FIFO queue and
 * one timer serve them all, instead of a timer per request.
 *
 * @example
 * const server = await startCounterServer({ port: 0, delayMs: 500 });
 */
export async function startCounterServer(options: CounterServerOptions = {}): Promise<CounterServer> {
  const delayMs = checkCount('delayMs', options.delayMs ?? DEFAULTS.replyDelayMs, 0);
  const maxPending = checkCount('maxPendingReplies', options.maxPendingReplies ?? DEFAULTS.maxPendingReplies, 1, true);
  const emit = options.onEvent ?? (() => {});
  const logMessages = options.logMessages ?? true;
  const endpoint = await bindUdp(options);
  const stats: CounterStats = Object.assign(endpoint.stats, { gets: 0, ignored: 0, overloaded: 0, replied: 0 });
  let counter = 0;
  let pending: PendingReply[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;

  const sendDue = (): void => {
    timer = undefined;
    const now = performance.now();
    while (head < pending.length && pending[head]!.dueAt <= now) {
      const reply = pending[head++]!;
      endpoint.send(reply.payload, reply.to).then(
        () => stats.replied++,
        () => {}, // counted in stats.sendErrors by the endpoint
      );
      if (logMessages) emit({ type: 'reply', to: reply.to, value: Number(reply.payload.toString('latin1').trim()) });
    }
    if (head === pending.length) {
      pending = [];
      head = 0;
    } else {
      if (head > 4096) {
        pending = pending.slice(head);
        head = 0;
      }
      timer = setTimeout(sendDue, Math.max(0, pending[head]!.dueAt - now));
    }
  };

  endpoint.on('message', ({ data, from }) => {
    const ending = parseGet(data);
    if (logMessages) emit({ type: 'request', from, text: data.toString('utf8'), accepted: ending !== undefined });
    if (ending === undefined) {
      stats.ignored++;
      return;
    }
    if (pending.length - head >= maxPending) {
      stats.overloaded++;
      emit({ type: 'overloaded', from });
      return;
    }
    stats.gets++;
    counter++;
    pending.push({ dueAt: performance.now() + delayMs, to: from, payload: Buffer.from(`${counter}${ending}`) });
    timer ??= setTimeout(sendDue, delayMs);
  });

  return {
    endpoint,
    stats,
    address: () => endpoint.address(),
    get counter() {
      return counter;
    },
    close: async () => {
      clearTimeout(timer);
      await endpoint.close();
    },
  };
}
