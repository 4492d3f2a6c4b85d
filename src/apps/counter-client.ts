import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatEndpoint, type Endpoint } from '../address.js';
import { SocklabError } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';
import { connectUdp, type ConnectUdpOptions, type Datagram } from '../udp/endpoint.js';

/** What `runCounterClient` reports as it goes (`onEvent`): each send, reply, late reply and lost reply. */
export type CounterClientEvent =
  | { type: 'sent'; index: number; attempt: number }
  | { type: 'reply'; index: number; text: string; from: Endpoint; rttMs: number }
  | { type: 'late'; text: string }
  | { type: 'lost'; index: number; timeoutMs: number; attempts: number };

export interface CounterClientOptions extends ConnectUdpOptions {
  /** `get`s to send. @default 10 */
  count?: number;
  /** Pause after each reply (or loss) before the next `get`, as the seed does. @default 500 */
  intervalMs?: number;
  /** How long to wait for a reply to each attempt; the seed waits forever. @default 2000 */
  timeoutMs?: number;
  /**
   * Send each `get` again this many times when no reply comes within `timeoutMs`. Retries need request ids
   * (below), so a socklab server gives a retried request the value it was first given. @default 0
   */
  retries?: number;
  /**
   * Send `get <id>` instead of the seed's plain `get`: the reply names the id, so a late reply to an earlier
   * request is recognised and skipped instead of being taken for the current one. Needs `socklab udp-serve`
   * (the seed's server ignores these). @default true when `retries` > 0
   */
  requestIds?: boolean;
  /** What to send without request ids. @default 'get' */
  request?: string;
  onEvent?: (event: CounterClientEvent) => void;
}

/** What `runCounterClient` resolves with: the replies in order, and how many were lost, retried or late. */
export interface CounterClientResult {
  /** Reply texts, the id stripped: one per answered `get`, in order. */
  replies: string[];
  lost: number;
  /** Attempts sent again after a timeout. */
  retried: number;
  /** Replies that did not answer the request being waited for (late, or duplicated by the network). */
  late: number;
}

/**
 * The seed's udp_client.py: send `get`, wait for the reply, pause, `count` times. Unlike the seed it gives up on
 * a reply after `timeoutMs` (UDP may lose either datagram) and reports it lost instead of hanging forever; with
 * `retries` it first asks again, with request ids so that a retry is not counted twice by the server and a late
 * reply is not misread.
 *
 * An ICMP "port unreachable" (ECONNREFUSED on the connected socket: nothing listens there) is not a lost reply:
 * the run stops with SL_ERR_CONNECT_REFUSED at once, instead of reporting every get lost.
 *
 * @example
 * const { replies, lost } = await runCounterClient({ port: 12345, count: 3, intervalMs: 0, retries: 2 });
 */
export async function runCounterClient(options: CounterClientOptions): Promise<CounterClientResult> {
  const count = checkCount('count', options.count ?? 10, 0);
  const intervalMs = checkCount('intervalMs', options.intervalMs ?? DEFAULTS.replyDelayMs, 0);
  const timeoutMs = checkCount('timeoutMs', options.timeoutMs ?? 2000, 1);
  const retries = checkCount('retries', options.retries ?? 0, 0);
  const requestIds = options.requestIds ?? retries > 0;
  if (retries > 0 && !requestIds) throw new RangeError('retries need requestIds: without ids a retried get would take a second counter value');
  const request = options.request ?? 'get';
  const emit = options.onEvent ?? (() => {});
  // Ids are unique to this run, so a server that remembers ids never confuses it with an earlier run that
  // happened to use the same source port.
  const runTag = randomBytes(4).toString('hex');
  await using endpoint = await connectUdp(options);
  const incoming = endpoint.messages();
  // Linux reports the ICMP error of a connected UDP socket as an 'error' event soon after the send.
  let refusedError: Error | undefined;
  let onRefused = (): void => {};
  const refusal = new Promise<'refused'>((resolve) => (onRefused = () => resolve('refused')));
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'ECONNREFUSED') return;
    refusedError = err;
    onRefused();
  };
  endpoint.socket.on('error', onError);
  const result: CounterClientResult = { replies: [], lost: 0, retried: 0, late: 0 };
  // One next() is kept pending across timeouts so that a datagram arriving between two waits is not lost.
  let next: Promise<IteratorResult<Datagram>> | undefined;
  const receive = async (deadline: number): Promise<Datagram | 'timeout' | 'closed' | 'refused'> => {
    next ??= incoming.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - performance.now()), 'timeout')));
    const outcome = await Promise.race([next, timeout, refusal]);
    clearTimeout(timer);
    if (outcome === 'timeout' || outcome === 'refused') return outcome;
    next = undefined;
    return outcome.done ? 'closed' : outcome.value;
  };

  requests: for (let index = 1; index <= count; index++) {
    const id = `${runTag}.${index}`;
    const datagram = requestIds ? `get ${id}` : request;
    const sentAt = performance.now();
    let answered = false;
    for (let attempt = 1; attempt <= retries + 1 && !answered; attempt++) {
      options.signal?.throwIfAborted();
      if (attempt > 1) result.retried++;
      await endpoint.send(datagram).catch((err: unknown) => {
        // A refusal reported at the send (it came back after an earlier one) ends the run the same way.
        if (err instanceof SocklabError && err.code === 'SL_ERR_CONNECT_REFUSED') onError(err.cause as NodeJS.ErrnoException);
        else throw err;
      });
      emit({ type: 'sent', index, attempt });
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const outcome = await receive(deadline);
        if (outcome === 'refused' || refusedError) {
          const target = formatEndpoint(endpoint.remote ?? { address: options.host ?? '?', port: options.port ?? 0 });
          throw new SocklabError('SL_ERR_CONNECT_REFUSED', `Cannot reach ${target}: connection refused (an ICMP "port unreachable" came back: no UDP server listens there)`, { cause: refusedError });
        }
        if (outcome === 'timeout') break;
        if (outcome === 'closed') break requests;
        const text = outcome.data.toString('utf8').trimEnd();
        const space = text.indexOf(' ');
        if (requestIds && (space === -1 || text.slice(0, space) !== id)) {
          result.late++;
          emit({ type: 'late', text });
          continue;
        }
        const value = requestIds ? text.slice(space + 1) : text;
        result.replies.push(value);
        emit({ type: 'reply', index, text: value, from: outcome.from, rttMs: performance.now() - sentAt });
        answered = true;
        break;
      }
    }
    if (!answered) {
      result.lost++;
      emit({ type: 'lost', index, timeoutMs, attempts: retries + 1 });
    }
    if (index < count && intervalMs > 0) await sleep(intervalMs, undefined, options.signal ? { signal: options.signal } : {});
  }
  return result;
}
