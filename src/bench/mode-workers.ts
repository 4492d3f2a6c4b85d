import { Worker } from 'node:worker_threads';
import { decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { SocklabError, type SocklabCode } from '../errors.js';
import type { ModeWorkerInput } from './_mode-worker.js';
import { cpuMeter, createLatencyHistogram, latencyDistribution, summarise, type BenchResult } from './report.js';
import type { TcpBenchOptions } from './tcp.js';
import type { UdpBenchOptions } from './udp.js';

type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; result: BenchResult; histogram: string; service?: string; sendLag?: string }
  | { type: 'error'; code?: string; message: string };

/** `count` split into `parts` shares as even as whole numbers allow. */
function share(count: number, parts: number, index: number): number {
  return Math.floor(count / parts) + (index < count % parts ? 1 : 0);
}

/** Adds a worker's compressed histogram into `into`. */
function add(into: Histogram, base64: string): void {
  const decoded = decodeFromCompressedBase64(base64);
  into.add(decoded);
  decoded.destroy();
}

/**
 * `bench hold|connect|udp` over `workers` worker threads, their histograms merged and their counts added. hold and
 * connect split the connections. udp shares one global plan at the full rate (worker i takes requests i, i + n, …,
 * as `bench tcp --workers` does), every worker starting it at the same wall-clock instant once all their sockets
 * are ready; the sockets and the outstanding limit are split. The CPU figure is the whole process's (every thread).
 *
 * @example const result = await runModeWorkers('udp', { …options }, 2);
 */
export async function runModeWorkers(
  mode: 'hold' | 'connect' | 'udp',
  options: (TcpBenchOptions | UdpBenchOptions) & { histogram?: Histogram; signal?: AbortSignal; onProgress?: (fraction: number, completed: number) => void },
  workers: number,
): Promise<BenchResult> {
  const cpu = cpuMeter();
  const { histogram: live, signal, onProgress, ...plain } = options;
  const inputs: ModeWorkerInput[] = Array.from({ length: workers }, (_, i) => {
    if (mode === 'udp') {
      const udp = plain as Omit<UdpBenchOptions, 'histogram' | 'signal' | 'onProgress'>;
      return { mode, options: { ...udp, sockets: Math.max(1, share(udp.sockets, workers, i)), maxOutstanding: Math.max(1, share(udp.maxOutstanding, workers, i)), share: { index: i, of: workers } } };
    }
    const tcp = plain as Omit<TcpBenchOptions, 'histogram' | 'signal' | 'onProgress'>;
    return { mode, options: { ...tcp, connections: share(tcp.connections, workers, i) } };
  });
  const threads = inputs.map((input) => new Worker(new URL('./_mode-worker.js', import.meta.url), { workerData: input }));
  const onAbort = (): void => threads.forEach((thread) => thread.postMessage({ type: 'abort' }));
  signal?.addEventListener('abort', onAbort, { once: true });
  const startedAt = performance.now();
  const totalMs = (options.warmupMs ?? 0) + options.durationMs;
  let ready = 0;
  const progress = setInterval(() => onProgress?.(Math.min(1, (performance.now() - startedAt) / totalMs), 0), 100);
  let results: Extract<FromWorker, { type: 'done' }>[];
  try {
    results = await Promise.all(
      threads.map(
        (thread) =>
          new Promise<Extract<FromWorker, { type: 'done' }>>((resolve, reject) => {
            thread.on('message', (message: FromWorker) => {
              if (message.type === 'ready') {
                // Every worker has its sockets: all start the plan 50 ms from now, on one clock.
                if (++ready === workers) {
                  const at = performance.timeOrigin + performance.now() + 50;
                  for (const each of threads) each.postMessage({ type: 'go', at });
                }
              } else if (message.type === 'done') resolve(message);
              else reject(message.code?.startsWith('SL_ERR_') ? new SocklabError(message.code as SocklabCode, message.message) : new SocklabError('SL_ERR_WORKER', `A bench worker failed: ${message.message}`));
            });
            thread.once('error', (err) => reject(new SocklabError('SL_ERR_WORKER', `A bench worker failed: ${err.message}`, { cause: err })));
          }),
      ),
    );
  } finally {
    clearInterval(progress);
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
  const merged = live ?? createLatencyHistogram();
  const service = createLatencyHistogram();
  const sendLag = createLatencyHistogram();
  for (const result of results) {
    add(merged, result.histogram);
    if (result.service !== undefined) add(service, result.service);
    if (result.sendLag !== undefined) add(sendLag, result.sendLag);
  }
  const open = mode === 'udp' ? { serviceTimeUs: summarise(service), sendLagUs: summarise(sendLag), servicePercentiles: latencyDistribution(service) } : {};
  const all = results.map((r) => r.result);
  const sum = (read: (r: BenchResult) => number): number => all.reduce((total, r) => total + read(r), 0);
  const extra: Record<string, number> = {};
  for (const r of all) for (const [key, value] of Object.entries(r.extra)) extra[key] = (extra[key] ?? 0) + value;
  onProgress?.(1, sum((r) => r.completed));
  return {
    ...all[0]!,
    concurrency: sum((r) => r.concurrency),
    measuredMs: Math.max(...all.map((r) => r.measuredMs)),
    completed: sum((r) => r.completed),
    perSec: sum((r) => r.perSec),
    latencyUs: summarise(merged),
    errors: sum((r) => r.errors),
    resets: sum((r) => r.resets),
    lost: sum((r) => r.lost),
    cpuPercent: cpu.stop(),
    extra: { ...extra, workers },
    percentiles: latencyDistribution(merged),
    ...open,
  };
}
