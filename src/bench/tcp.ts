import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemCode } from '../errors.js';
import type { Histogram } from 'hdr-histogram-js';
import { connectFor } from './_connection-driver.js';
import { availableParallelism } from 'node:os';
import { runRequestBench, type RequestBenchOptions } from './request-loop.js';
import { runRequestBenchWorkers } from './workers.js';
import type { RequestRun } from './_run-tally.js';
import type { ResolvedTlsClientOptions } from '../tls/options.js';
import { benchResult, cpuMeter, createLatencyHistogram, RateSeries, type BenchResult } from './report.js';

/** How hold and connect modes recognise a reply: a line (ends at LF), or whatever one read brings. */
export type ReplyFraming = 'line' | 'read';

export interface TcpBenchOptions {
  host: string;
  port: number;
  /** Connect to this UNIX domain socket instead of host and port. */
  path?: string;
  /** Connections (tcp, hold) or parallel connect loops (connect). */
  connections: number;
  /** Measured period. */
  durationMs: number;
  /** Run before measuring, to let both sides warm up (JIT, buffers). */
  warmupMs: number;
  /** Request sent; a newline is appended. */
  payload: string;
  /** The server greets on connect: wait for it before the first request. */
  greeting: boolean;
  replyFraming: ReplyFraming;
  /** Per connect and per awaited reply in hold mode. */
  timeoutMs: number;
  /** Connects in flight at once while opening; bursts past the server's backlog would only measure SYN drops. */
  openConcurrency?: number;
  onProgress?: (fraction: number, completed: number) => void;
  /** Record latencies into this histogram (so a live view can read it); a new one by default. */
  histogram?: Histogram;
  signal?: AbortSignal;
  /** Connect with TLS (a full handshake per connection: no session resumption). */
  tls?: ResolvedTlsClientOptions;
}

const LF = 0x0a;

/** Replies in a chunk: one per LF. */
function countLines(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) count++;
  return count;
}

interface Counters {
  errors: number;
  resets: number;
}

function noteError(counters: Counters, err: unknown): void {
  const code = systemCode(err);
  if (code === 'ECONNRESET' || code === 'EPIPE') counters.resets++;
  else counters.errors++;
}

/** Opens one connection and, if asked, waits for the greeting. Resolves with the socket and leftover replies. */
function open(options: TcpBenchOptions, index = 0): Promise<{ socket: Socket; extraReplies: number }> {
  return new Promise((resolve, reject) => {
    const { socket, ready } = connectFor(options, index);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
    }, options.timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once(ready, () => {
      if (!options.greeting) {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve({ socket, extraReplies: 0 });
        return;
      }
      socket.once('data', (chunk: Buffer) => {
        clearTimeout(timer);
        socket.off('error', fail);
        const extra = options.replyFraming === 'line' ? Math.max(0, countLines(chunk) - 1) : 0;
        resolve({ socket, extraReplies: extra });
      });
    });
  });
}

/** Opens `count` connections, at most `openConcurrency` connects at a time. */
async function openMany(options: TcpBenchOptions, count: number, counters: Counters): Promise<Socket[]> {
  const sockets: Socket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !options.signal?.aborted) {
      const index = next++;
      try {
        sockets.push((await open(options, index)).socket);
      } catch (err) {
        noteError(counters, err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, options.openConcurrency ?? 256) }, worker));
  return sockets;
}

/**
 * Waits warm-up + duration (or until aborted), reporting progress; calls `onMeasure` when measuring starts.
 * Returns the measured time and the completions per second, second by second.
 */
async function runClock(options: TcpBenchOptions, onMeasure: () => void, completed: () => number): Promise<{ measuredMs: number; series: RateSeries | undefined }> {
  const total = options.warmupMs + options.durationMs;
  const startedAt = performance.now();
  let measureFrom = Infinity;
  let series: RateSeries | undefined;
  for (;;) {
    const now = performance.now();
    const elapsed = now - startedAt;
    if (elapsed >= options.warmupMs && measureFrom === Infinity) {
      measureFrom = now;
      onMeasure();
      series = new RateSeries(now);
    }
    series?.tick(now, completed());
    if (elapsed >= total || options.signal?.aborted) break;
    options.onProgress?.(Math.min(1, elapsed / total), completed());
    await sleep(Math.min(100, total - elapsed));
  }
  options.onProgress?.(1, completed());
  series?.tick(performance.now(), completed(), true);
  return { measuredMs: measureFrom === Infinity ? 0 : performance.now() - measureFrom, series };
}

/**
 * Request/response load (closed loop, or open loop with a plan) as a {@link BenchResult}: latency from the
 * intended send time, service time from the write, every count, and a verdict against `maxErrorRate`.
 * @example const result = await runTcpBench({ host: '127.0.0.1', port, connections: 4, inflight: 1, plan, … });
 */
export async function runTcpBench(options: RequestBenchOptions & { config?: Record<string, unknown>; workers?: number }): Promise<BenchResult> {
  const workers = options.workers ?? 1;
  const run = workers > 1 ? await runRequestBenchWorkers(options, workers, options.checks.map((check) => check.source)) : await runRequestBench(options);
  const result = benchResult({
    mode: 'tcp',
    host: options.host,
    port: options.port,
    ...(options.path === undefined ? {} : { path: options.path }),
    concurrency: options.connections,
    measuredMs: run.measuredMs,
    completed: run.counts.completed,
    histogram: run.latency,
    errors: run.counts.unexpected + run.counts.timeouts + run.counts.abandoned + run.counts.unanswered + run.counts.dropped + run.counts.protocolErrors + run.counts.socketErrors + run.counts.connectFailed + run.counts.closes,
    resets: run.counts.resets,
    lost: 0,
    cpu: { stop: () => run.cpuPercent },
    extra: {},
  });
  return {
    ...result,
    loop: options.plan ? 'open' : 'closed',
    serviceTimeUs: run.serviceTimeUs,
    sendLagUs: run.sendLagUs,
    generatorLagUs: run.generatorLagUs,
    counts: { ...run.counts, unscheduled: run.unscheduled, connectionsAtEnd: run.connectionsAtEnd },
    errorRate: run.errorRate,
    failed: run.failed,
    failedBecause: run.failedBecause,
    unexpectedSamples: run.unexpectedSamples,
    warnings: runWarnings(options, run, workers),
    intervals: run.intervals.map((i) => ({ endMs: i.endMs, measuring: i.measuring, perSec: i.perSec, p50Us: i.latencyUs.p50, p99Us: i.latencyUs.p99, serviceP50Us: i.serviceTimeUs.p50, serviceP99Us: i.serviceTimeUs.p99, failed: i.failed })),
    servicePercentiles: run.servicePercentiles,
    ...(run.serverCpu ? { serverCpu: run.serverCpu } : {}),
    generatorUsPerOp: run.generatorUsPerOp,
    ...(options.config ? { config: options.config } : {}),
  };
}

/** Warnings that say when a figure is the generator's, not the server's. */
function runWarnings(options: RequestBenchOptions, run: RequestRun, workers: number): string[] {
  const warnings: string[] = [];
  const cores = Math.min(workers, availableParallelism());
  if (run.cpuPercent >= 95 * cores) {
    warnings.push(`generator-limited: the load generator used ${run.cpuPercent}% of a core${cores > 1 ? ` (${cores} threads)` : ''}, so this rate is its ceiling, not the server's${cores < availableParallelism() ? ' (add --workers)' : ''}`);
  }
  else if (options.plan && run.generatorLagUs.p99 > 5000) {
    warnings.push(`generator-limited: the generator saw its intended send times ${(run.generatorLagUs.p99 / 1000).toFixed(1)} ms late (p99): its own event loop, not the server, was behind`);
  }
  if (options.plan) {
    // Little's law: requests in flight on average = arrival rate × mean time each one spends in the system.
    const ratePerSec = (run.counts.scheduled * 1000) / Math.max(1, run.measuredMs);
    const inFlight = (ratePerSec * run.serviceTimeUs.mean) / 1e6;
    const slots = options.connections * options.inflight;
    if (inFlight > 0.8 * slots) {
      warnings.push(
        `not enough connections: at ${Math.round(ratePerSec)}/s and a mean service time of ${(run.serviceTimeUs.mean / 1000).toFixed(2)} ms, Little's law puts ${inFlight.toFixed(1)} requests in flight on average, and --connections × --inflight allow ${slots}: requests waited for a free connection (send lag p99 ${(run.sendLagUs.p99 / 1000).toFixed(1)} ms)`,
      );
    }
  }
  if (run.endedEarly) warnings.push(`the run ended early: ${run.endedEarly}`);
  return warnings;
}

/**
 * Opens N connections, holds them idle for the duration, then checks that every one is still served: each sends
 * one request and must get its reply within `timeoutMs`.
 */
export async function runHoldBench(options: TcpBenchOptions): Promise<BenchResult> {
  const cpu = cpuMeter();
  const counters: Counters = { errors: 0, resets: 0 };
  const histogram = options.histogram ?? createLatencyHistogram();
  const sockets = await openMany(options, options.connections, counters);
  let closedDuringHold = 0;
  for (const socket of sockets) {
    socket.on('error', (err) => noteError(counters, err));
    socket.once('close', () => closedDuringHold++);
  }
  await runClock({ ...options, warmupMs: 0 }, () => {}, () => 0);
  const closedBeforeCheck = closedDuringHold;
  const request = Buffer.from(`${options.payload}\n`);
  const answered = await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<boolean>((resolve) => {
          if (socket.destroyed) return resolve(false);
          const sentAt = performance.now();
          const timer = setTimeout(() => resolve(false), options.timeoutMs);
          socket.on('data', () => {
            clearTimeout(timer);
            histogram.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
            resolve(true);
          });
          socket.once('close', () => {
            clearTimeout(timer);
            resolve(false);
          });
          socket.write(request);
        }),
    ),
  );
  for (const socket of sockets) socket.destroy();
  const ok = answered.filter(Boolean).length;
  return benchResult({
    mode: 'hold',
    host: options.host,
    port: options.port,
    ...(options.path === undefined ? {} : { path: options.path }),
    concurrency: options.connections,
    measuredMs: options.durationMs,
    completed: ok,
    perSec: 0,
    histogram,
    ...counters,
    lost: options.connections - ok,
    cpu,
    extra: { opened: sockets.length, closedDuringHold: closedBeforeCheck, answered: ok },
  });
}

/** Connection rate: each loop connects, (reads the greeting), sends one request, reads the reply, closes. */
export async function runConnectBench(options: TcpBenchOptions): Promise<BenchResult> {
  const cpu = cpuMeter();
  const counters: Counters = { errors: 0, resets: 0 };
  const histogram = options.histogram ?? createLatencyHistogram();
  const request = Buffer.from(`${options.payload}\n`);
  let measuring = false;
  let stopping = false;
  let completed = 0;
  const cycle = (): Promise<void> =>
    new Promise((resolve) => {
      const startedAt = performance.now();
      const { socket, ready } = connectFor(options);
      let greeted = !options.greeting;
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), options.timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      socket.on(ready, () => {
        if (greeted) socket.write(request);
      });
      socket.on('data', (chunk: Buffer) => {
        let replies = options.replyFraming === 'line' ? countLines(chunk) : 1;
        if (!greeted && replies > 0) {
          greeted = true;
          replies--;
          if (replies === 0) {
            socket.write(request);
            return;
          }
        }
        if (replies > 0) {
          if (measuring) {
            histogram.recordValue(Math.max(1, Math.round((performance.now() - startedAt) * 1000)));
            completed++;
          }
          socket.end(); // FIN; the socket finishes closing in the background while the next cycle starts
          done();
        }
      });
      socket.on('error', (err) => {
        if (!stopping) noteError(counters, err);
        done();
      });
      socket.on('close', done);
    });
  const loops = Array.from({ length: options.connections }, async () => {
    while (!stopping) await cycle();
  });
  const { measuredMs, series } = await runClock(options, () => (measuring = true), () => completed);
  measuring = false;
  stopping = true;
  await Promise.race([Promise.all(loops), sleep(options.timeoutMs + 1000)]);
  return benchResult({ mode: 'connect', host: options.host, port: options.port, ...(options.path === undefined ? {} : { path: options.path }), concurrency: options.connections, measuredMs, completed, histogram, ...counters, lost: 0, cpu, extra: {}, ...(series ? { series } : {}) });
}
