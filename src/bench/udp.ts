import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Histogram } from 'hdr-histogram-js';
import { benchResult, cpuMeter, createLatencyHistogram, RateSeries, type BenchResult } from './report.js';

export interface UdpBenchOptions {
  host: string;
  port: number;
  /** Sockets sending at once (each its own source port). */
  sockets: number;
  /** Requests per second over all sockets. */
  ratePerSec: number;
  /** Requests awaiting a reply at most, over all sockets; sending waits below it. */
  maxOutstanding: number;
  /** A reply later than this counts as lost. */
  timeoutMs: number;
  durationMs: number;
  warmupMs: number;
  payload: string;
  /** SO_RCVBUF asked for (the kernel caps it at net.core.rmem_max). */
  receiveBufferBytes?: number;
  onProgress?: (fraction: number, completed: number) => void;
  /** Record latencies into this histogram (so a live view can read it); a new one by default. */
  histogram?: Histogram;
  signal?: AbortSignal;
}

/** The request for id `id`: `{seq}` in the payload is replaced by it; the counter server's `get` becomes `get <id>`. */
export function udpRequest(payload: string, id: string): Buffer {
  return Buffer.from(payload === 'get' ? `get ${id}` : payload.replaceAll('{seq}', id));
}

/**
 * Open-loop UDP request/response at a fixed rate, the counter server's load. Each request carries an id
 * (`get <id>`; the server answers `<id> <value>`), and a reply is matched to its request by that id, never by
 * order: datagrams are lost and reordered, and after one loss an order-based match would charge every later reply
 * to an older request. Requests unanswered after `timeoutMs` count as lost; replies with an unknown id as late.
 */
export async function runUdpBench(options: UdpBenchOptions): Promise<BenchResult> {
  const cpu = cpuMeter();
  const histogram = options.histogram ?? createLatencyHistogram();
  if (options.payload !== 'get' && !options.payload.includes('{seq}')) {
    throw new RangeError('bench udp matches replies by id: put {seq} in the payload where the server echoes it back first (or use get)');
  }
  const type = isIP(options.host) === 6 ? 'udp6' : 'udp4';
  let measuring = false;
  let completed = 0;
  let lost = 0;
  let errors = 0;
  let outstanding = 0;
  let sent = 0;
  let scheduled = 0; // rate slots used up, sent or skipped
  let late = 0;
  let nextId = 0;
  /** Request id → send time, oldest first (a Map keeps insertion order). */
  const waiting = new Map<string, number>();

  const sockets: { socket: Socket }[] = [];
  for (let i = 0; i < options.sockets; i++) {
    const socket = createSocket({ type, recvBufferSize: options.receiveBufferBytes ?? 4 * 1024 * 1024 });
    socket.connect(options.port, options.host);
    await once(socket, 'connect');
    const state = { socket };
    socket.on('message', (message: Buffer) => {
      const space = message.indexOf(0x20);
      const id = message.toString('latin1', 0, space === -1 ? message.length : space).trim();
      const sentAt = waiting.get(id);
      if (sentAt === undefined) {
        late++; // a reply to a request already counted lost, or to none
        return;
      }
      waiting.delete(id);
      outstanding--;
      if (measuring) {
        histogram.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
        completed++;
      }
    });
    // ICMP port unreachable and the like arrive as errors on a connected UDP socket.
    socket.on('error', () => errors++);
    sockets.push(state);
  }

  const expire = (now: number): void => {
    for (const [id, sentAt] of waiting) {
      if (now - sentAt <= options.timeoutMs) break;
      waiting.delete(id);
      outstanding--;
      if (measuring) lost++;
    }
  };

  const total = options.warmupMs + options.durationMs;
  const startedAt = performance.now();
  let measureFrom = Infinity;
  let lastProgress = 0;
  let turn = 0;
  let series: RateSeries | undefined;
  while (!options.signal?.aborted) {
    const now = performance.now();
    // A stall that overruns the end (a busy machine) still sends the requests that fell due before the end,
    // as a stall mid-run does, rather than ending with slots silently unsent.
    const overran = now - startedAt >= total;
    const elapsed = Math.min(now - startedAt, total);
    if (elapsed >= options.warmupMs && measureFrom === Infinity) {
      measureFrom = now;
      measuring = true;
      series = new RateSeries(now);
    }
    series?.tick(now, completed);
    expire(now);
    const due = Math.floor((options.ratePerSec * elapsed) / 1000) - scheduled;
    const allowed = Math.min(due, options.maxOutstanding - outstanding);
    for (let i = 0; i < allowed; i++) {
      const state = sockets[turn++ % sockets.length]!;
      const id = (nextId++).toString(36);
      waiting.set(id, performance.now());
      state.socket.send(udpRequest(options.payload, id));
      outstanding++;
      sent++;
    }
    // Slots skipped because maxOutstanding was reached are not made up later (that would be a burst).
    if (due > 0) scheduled += due;
    if (now - lastProgress > 100) {
      options.onProgress?.(Math.min(1, elapsed / total), completed);
      lastProgress = now;
    }
    if (overran) break;
    await sleep(1);
  }
  const measuredMs = measureFrom === Infinity ? 0 : performance.now() - measureFrom;
  series?.tick(performance.now(), completed, true);
  // Replies to the last requests are still owed: wait for them (or their timeout), then count.
  const drainUntil = performance.now() + options.timeoutMs + 50;
  while (outstanding > 0 && performance.now() < drainUntil) {
    await sleep(10);
    expire(performance.now());
  }
  measuring = false;
  options.onProgress?.(1, completed);
  for (const { socket } of sockets) socket.close();
  return benchResult({
    mode: 'udp',
    host: options.host,
    port: options.port,
    concurrency: options.sockets,
    measuredMs,
    completed,
    histogram,
    errors,
    resets: 0,
    lost,
    cpu,
    extra: { sent, outstandingAtEnd: outstanding, late },
    ...(series ? { series } : {}),
  });
}
