import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoint } from '../address.js';
import { DEFAULTS, checkCount } from '../options.js';
import { connectUdp, type ConnectUdpOptions, type Datagram } from '../udp/endpoint.js';

export type CounterClientEvent =
  | { type: 'sent'; index: number }
  | { type: 'reply'; index: number; text: string; from: Endpoint; rttMs: number }
  | { type: 'lost'; index: number; timeoutMs: number };

export interface CounterClientOptions extends ConnectUdpOptions {
  /** `get`s to send. @default 10 */
  count?: number;
  /** Pause after each reply (or loss) before the next `get`, as the seed does. @default 500 */
  intervalMs?: number;
  /** A reply not here within this long counts as lost; the seed waits forever. @default 2000 */
  timeoutMs?: number;
  /** What to send. @default 'get' */
  request?: string;
  onEvent?: (event: CounterClientEvent) => void;
}

export interface CounterClientResult {
  replies: string[];
  lost: number;
}

/**
 * The seed's udp_client.py: send `get`, wait for the reply, pause, `count` times. Unlike the seed it gives up on
 * a reply after `timeoutMs` (UDP may lose either datagram) and reports it lost instead of hanging forever.
 *
 * @example
 * const { replies, lost } = await runCounterClient({ port: 12345, count: 3, intervalMs: 0 });
 */
export async function runCounterClient(options: CounterClientOptions): Promise<CounterClientResult> {
  const count = checkCount('count', options.count ?? 10, 0);
  const intervalMs = checkCount('intervalMs', options.intervalMs ?? DEFAULTS.replyDelayMs, 0);
  const timeoutMs = checkCount('timeoutMs', options.timeoutMs ?? 2000, 1);
  const request = options.request ?? 'get';
  const emit = options.onEvent ?? (() => {});
  await using endpoint = await connectUdp(options);
  const incoming = endpoint.messages();
  const result: CounterClientResult = { replies: [], lost: 0 };
  let next: Promise<IteratorResult<Datagram>> | undefined;
  for (let index = 1; index <= count; index++) {
    options.signal?.throwIfAborted();
    const sentAt = performance.now();
    await endpoint.send(request);
    emit({ type: 'sent', index });
    // Keep one next() pending across a timeout so a late datagram is not lost between iterations.
    next ??= incoming.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, timeoutMs, 'timeout')));
    const outcome = await Promise.race([next, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      result.lost++;
      emit({ type: 'lost', index, timeoutMs });
    } else {
      next = undefined;
      if (outcome.done) break;
      const text = outcome.value.data.toString('utf8').trimEnd();
      result.replies.push(text);
      emit({ type: 'reply', index, text, from: outcome.value.from, rttMs: performance.now() - sentAt });
    }
    if (index < count && intervalMs > 0) await sleep(intervalMs, undefined, options.signal ? { signal: options.signal } : {});
  }
  return result;
}
