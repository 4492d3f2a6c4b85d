import { Worker } from 'node:worker_threads';
import { decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { SocklabError, type SocklabCode } from '../errors.js';
import { createTriple, percentiles, type IntervalStats, type LatencyTriple } from './_bench-stats.js';
import { RunTally, type RequestRun, type RunCounts } from './_run-tally.js';
import type { WorkerInput } from './_request-worker.js';
import type { RequestBenchOptions } from './request-loop.js';
import { createLatencyHistogram } from './report.js';
import { serverCpuMeter } from './server-cpu.js';

type Encoded = Record<string, string>;
type FromWorker =
  | { type: 'ready' }
  | { type: 'interval'; stats: IntervalStats; histograms: Encoded }
  | { type: 'done'; counts: RunCounts; samples: [string, number][]; connectFailure?: string; histograms: Encoded; connectionsAtEnd: number; endedEarly?: string; unscheduled: number }
  | { type: 'error'; code?: string; message: string };

function add(into: Histogram, base64: string): void {
  const decoded = decodeFromCompressedBase64(base64);
  into.add(decoded);
  decoded.destroy();
}

function addTriple(into: LatencyTriple, encoded: Encoded): void {
  add(into.latency, encoded.latency!);
  add(into.service, encoded.service!);
  add(into.sendLag, encoded.sendLag!);
}

/**
 * `runRequestBench` over `workers` worker threads: one global plan split between them (worker i takes requests
 * i, i + n, …), the connections split as evenly as they go, every worker starting the plan at the same
 * wall-clock instant, and their histograms merged (HDR histograms add exactly).
 *
 * @example const run = await runRequestBenchWorkers({ …options }, 2, ['+PONG']);
 */
export async function runRequestBenchWorkers(options: RequestBenchOptions, workers: number, expect: string[] | undefined): Promise<RequestRun> {
  const tally = new RunTally(options);
  const whole = createTriple(options.histogram, options.serviceHistogram);
  const timerLag = createLatencyHistogram();
  const intervals: IntervalStats[] = [];
  const pending = new Map<number, { stats: IntervalStats[]; triple: LatencyTriple }>();
  const { checks: _checks, onInterval: _i, onProgress: _p, histogram: _h, serviceHistogram: _s, signal: _sig, waitForStart: _w, onIntervalHistograms: _o, ...plain } = options;
  const threads = Array.from({ length: workers }, (_, index) => {
    const connections = Math.floor(options.connections / workers) + (index < options.connections % workers ? 1 : 0);
    const input: WorkerInput = { options: { ...plain, connections, share: { index, of: workers } }, expect };
    return new Worker(new URL('./_request-worker.js', import.meta.url), { workerData: input });
  });
  let ready = 0;
  let serverMeter: ReturnType<typeof serverCpuMeter> | undefined;
  let startedAt = 0;
  const totalMs = options.warmupMs + options.durationMs;
  const progress = setInterval(() => {
    if (startedAt > 0) options.onProgress?.(Math.min(1, (performance.now() - startedAt) / totalMs), tally.counts.completed);
  }, 100);
  const onAbort = (): void => threads.forEach((thread) => thread.postMessage({ type: 'abort' }));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const mergeInterval = (index: number, stats: IntervalStats, encoded: Encoded): void => {
    const slot = pending.get(index) ?? { stats: [], triple: createTriple() };
    pending.set(index, slot);
    slot.stats.push(stats);
    addTriple(slot.triple, encoded);
    if (slot.stats.length === workers) emitInterval(index);
  };
  /** Emits interval `index` from the workers' parts (all of them, or at the end whatever came: one worker may cut one interval more). */
  const emitInterval = (index: number): void => {
    const slot = pending.get(index)!;
    pending.delete(index);
    const sum = (key: 'scheduled' | 'sent' | 'completed' | 'failed'): number => slot.stats.reduce((total, s) => total + s[key], 0);
    const first = slot.stats[0]!;
    const spanMs = Math.max(1e-3, Math.max(...slot.stats.map((s) => s.endMs)) - first.startMs);
    const merged: IntervalStats = {
      startMs: first.startMs,
      endMs: Math.max(...slot.stats.map((s) => s.endMs)),
      measuring: first.measuring,
      scheduled: sum('scheduled'),
      sent: sum('sent'),
      completed: sum('completed'),
      perSec: Math.round((sum('completed') * 1000) / spanMs),
      failed: sum('failed'),
      latencyUs: percentiles(slot.triple.latency),
      serviceTimeUs: percentiles(slot.triple.service),
      sendLagUs: percentiles(slot.triple.sendLag),
    };
    intervals.push(merged);
    options.onInterval?.(merged);
  };
  const runs: Extract<FromWorker, { type: 'done' }>[] = [];
  try {
    await Promise.all(
      threads.map(
        (thread) =>
          new Promise<void>((resolve, reject) => {
            let intervalIndex = 0;
            thread.on('message', (message: FromWorker) => {
              if (message.type === 'ready' && ++ready === workers) {
                // Every worker has its connections: start them all 50 ms from now, on one clock.
                const at = performance.timeOrigin + performance.now() + 50;
                startedAt = performance.now() + 50;
                tally.startCpu();
                if (options.serverPid !== undefined) serverMeter = serverCpuMeter(options.serverPid);
                for (const each of threads) each.postMessage({ type: 'go', at });
              } else if (message.type === 'interval') mergeInterval(intervalIndex++, message.stats, message.histograms);
              else if (message.type === 'done') {
                runs.push(message);
                resolve();
              } else if (message.type === 'error') {
                reject(message.code?.startsWith('SL_ERR_') ? new SocklabError(message.code as SocklabCode, message.message) : new SocklabError('SL_ERR_WORKER', `A bench worker failed: ${message.message}`));
              }
            });
            thread.once('error', (err) => reject(new SocklabError('SL_ERR_WORKER', `A bench worker failed: ${err.message}`, { cause: err })));
            thread.once('exit', (code) => (code === 0 ? resolve() : reject(new SocklabError('SL_ERR_WORKER', `A bench worker exited with code ${code}`))));
          }),
      ),
    );
  } finally {
    clearInterval(progress);
    options.signal?.removeEventListener('abort', onAbort);
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
  for (const index of [...pending.keys()].sort((a, b) => a - b)) emitInterval(index);
  const serverCpu = serverMeter?.stop();
  for (const run of runs) {
    tally.absorb(run.counts, run.samples, run.connectFailure);
    addTriple(whole, run.histograms);
    add(timerLag, run.histograms.timerLag!);
  }
  options.onProgress?.(1, tally.counts.completed);
  const endedEarly = runs.find((run) => run.endedEarly !== undefined)?.endedEarly;
  return tally.finish({
    whole,
    timerLag,
    intervals,
    measuredMs: options.durationMs,
    aliveAtEnd: runs.reduce((sum, run) => sum + run.connectionsAtEnd, 0),
    ...(endedEarly === undefined ? {} : { endedEarly }),
    unscheduled: runs.reduce((sum, run) => sum + run.unscheduled, 0),
    ...(serverCpu ? { serverCpu } : {}),
  });
}
