import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Histogram } from 'hdr-histogram-js';
import { recordRequest, type LatencyTriple } from './_bench-stats.js';
import { benchResult, cpuMeter, createLatencyHistogram, latencyDistribution, RateSeries, summarise, type BenchResult } from './report.js';
import { SendSchedule } from './schedule.js';

export interface UdpBenchOptions {
  host: string;
  port: number;
  /** Sockets sending at once (each its own source port). */
  sockets: number;
  /** Requests per second over all sockets (and over all workers: one global plan). */
  ratePerSec: number;
  /** Requests awaiting a reply at most, over all sockets; a request due above it waits (its lag is charged to it). */
  maxOutstanding: number;
  /** A reply later than this (from the actual send) counts as lost. */
  timeoutMs: number;
  durationMs: number;
  warmupMs: number;
  payload: string;
  /** SO_RCVBUF asked for (the kernel caps it at net.core.rmem_max). */
  receiveBufferBytes?: number;
  onProgress?: (fraction: number, completed: number) => void;
  /** Record latencies from the intended send time into this histogram (so a live view can read it); a new one by default. */
  histogram?: Histogram;
  /** Record service times (from the actual send) here; a new one by default. */
  serviceHistogram?: Histogram;
  /** Record send lags (actual send minus intended time) here; a new one by default. */
  sendLagHistogram?: Histogram;
  /** This runner's share of the global plan: worker `index` of `of` takes requests index, index + of, … @default the whole plan */
  share?: { index: number; of: number };
  /** Called once the sockets are ready; resolves with the wall-clock instant (ms since the epoch) the plan starts at. */
  waitForStart?: () => Promise<number>;
  signal?: AbortSignal;
}

/** The request for id `id`: `{seq}` in the payload is replaced by it; the counter server's `get` becomes `get <id>`. */
export function udpRequest(payload: string, id: string): Buffer {
  return Buffer.from(payload === 'get' ? `get ${id}` : payload.replaceAll('{seq}', id));
}

/** A request sent and awaiting its reply; times in ms from the plan's start. */
interface Waiting {
  intendedAt: number;
  sentAt: number;
  /** Its intended time falls after the warm-up. */
  measured: boolean;
}

/**
 * Open-loop UDP request/response at a fixed rate, the counter server's load. Requests go out at the intended times
 * of one global plan (uniform, `ratePerSec`), fixed before the run and independent of the replies; latency is
 * recorded from the intended time (coordinated-omission corrected, as `bench tcp --rate`), the service time from
 * the actual send, and the send lag between the two. A request due while `maxOutstanding` are awaiting replies
 * waits, and its wait is charged to it. Sending stops `timeoutMs` after the plan's end: what the plan still owed
 * then is counted `unsent`.
 *
 * Each request carries an id (`get <id>`; the server answers `<id> <value>`), and a reply is matched to its request
 * by that id, never by order: datagrams are lost and reordered, and after one loss an order-based match would charge
 * every later reply to an older request. Requests unanswered after `timeoutMs` count as lost; replies with an
 * unknown id as late.
 */
export async function runUdpBench(options: UdpBenchOptions): Promise<BenchResult> {
  const cpu = cpuMeter();
  const triple: LatencyTriple = {
    latency: options.histogram ?? createLatencyHistogram(),
    service: options.serviceHistogram ?? createLatencyHistogram(),
    sendLag: options.sendLagHistogram ?? createLatencyHistogram(),
  };
  if (options.payload !== 'get' && !options.payload.includes('{seq}')) {
    throw new RangeError('bench udp matches replies by id: put {seq} in the payload where the server echoes it back first (or use get)');
  }
  const share = options.share ?? { index: 0, of: 1 };
  const type = isIP(options.host) === 6 ? 'udp6' : 'udp4';
  let completed = 0;
  let lost = 0;
  let errors = 0;
  let outstanding = 0;
  let sent = 0;
  let scheduled = 0; // measured requests of the plan: sent, or still owed when sending stopped
  let late = 0;
  let unsent = 0;
  // Ids are global request numbers, so the workers' ids never collide.
  let requestNumber = share.index;
  /** Request id → its times, oldest send first (a Map keeps insertion order). */
  const waiting = new Map<string, Waiting>();
  let t0 = 0;
  let started = false;
  let turn = 0;
  let nextAt: number | undefined;
  const rel = (): number => performance.now() - t0;

  const sockets: Socket[] = [];
  for (let i = 0; i < options.sockets; i++) {
    const socket = createSocket({ type, recvBufferSize: options.receiveBufferBytes ?? 4 * 1024 * 1024 });
    socket.connect(options.port, options.host);
    await once(socket, 'connect');
    socket.on('message', (message: Buffer) => {
      const space = message.indexOf(0x20);
      const id = message.toString('latin1', 0, space === -1 ? message.length : space).trim();
      const request = waiting.get(id);
      if (request === undefined) {
        late++; // a reply to a request already counted lost, or to none
        return;
      }
      waiting.delete(id);
      outstanding--;
      if (request.measured) {
        recordRequest(triple, request.intendedAt, request.sentAt, rel());
        completed++;
      }
      // A freed slot goes to the next request due at once, not at the next tick: a held-back queue drains at
      // the server's pace, not the timer's.
      if (started) pump(rel());
    });
    // ICMP port unreachable and the like arrive as errors on a connected UDP socket.
    socket.on('error', () => errors++);
    sockets.push(socket);
  }

  const expire = (now: number): void => {
    for (const [id, request] of waiting) {
      if (now - request.sentAt <= options.timeoutMs) break;
      waiting.delete(id);
      outstanding--;
      if (request.measured) lost++;
    }
  };

  /**
   * Sends the requests whose intended time has come, late ones included (a stall of ours, or a full window):
   * their lag is charged to them, never skipped.
   */
  const pump = (now: number): void => {
    while (nextAt !== undefined && nextAt <= now && outstanding < options.maxOutstanding) {
      const measured = nextAt >= options.warmupMs;
      if (measured) scheduled++;
      const id = requestNumber.toString(36);
      requestNumber += share.of;
      waiting.set(id, { intendedAt: nextAt, sentAt: rel(), measured });
      sockets[turn++ % sockets.length]!.send(udpRequest(options.payload, id));
      outstanding++;
      sent++;
      nextAt = schedule.next();
    }
  };

  const total = options.warmupMs + options.durationMs;
  const schedule = new SendSchedule({ stages: [{ fromPerSec: options.ratePerSec, toPerSec: options.ratePerSec, durationMs: total }], arrival: 'uniform', seed: 1 }, share);
  if (options.waitForStart) {
    t0 = (await options.waitForStart()) - performance.timeOrigin;
    const waitMs = t0 - performance.now();
    if (waitMs > 0) await sleep(waitMs);
  } else t0 = performance.now();
  let measureFrom = Infinity;
  let lastProgress = 0;
  let series: RateSeries | undefined;
  nextAt = schedule.next();
  started = true;
  while (!options.signal?.aborted) {
    const now = rel();
    if (now >= options.warmupMs && measureFrom === Infinity) {
      measureFrom = now;
      series = new RateSeries(performance.now());
    }
    series?.tick(performance.now(), completed);
    expire(now);
    pump(now);
    if (now - lastProgress > 100) {
      options.onProgress?.(Math.min(1, now / total), completed);
      lastProgress = now;
    }
    if (nextAt === undefined) break;
    if (now >= total + options.timeoutMs) {
      // A window that never frees (a dead server) would otherwise keep the run going a timeout per window.
      for (; nextAt !== undefined; nextAt = schedule.next()) if (nextAt >= options.warmupMs) unsent++;
      scheduled += unsent;
      break;
    }
    await sleep(1);
  }
  const measuredMs = measureFrom === Infinity ? 0 : Math.max(0, rel() - measureFrom);
  series?.tick(performance.now(), completed, true);
  // Replies to the last requests are still owed: wait for them (or their timeout), then count.
  const drainUntil = performance.now() + options.timeoutMs + 50;
  while (outstanding > 0 && performance.now() < drainUntil) {
    await sleep(10);
    expire(rel());
  }
  options.onProgress?.(1, completed);
  for (const socket of sockets) socket.close();
  const result = benchResult({
    mode: 'udp',
    host: options.host,
    port: options.port,
    concurrency: options.sockets,
    measuredMs,
    completed,
    histogram: triple.latency,
    errors,
    resets: 0,
    lost,
    cpu,
    extra: { scheduled, sent, outstandingAtEnd: outstanding, late, unsent },
    ...(series ? { series } : {}),
  });
  return { ...result, loop: 'open', serviceTimeUs: summarise(triple.service), sendLagUs: summarise(triple.sendLag), servicePercentiles: latencyDistribution(triple.service) };
}
