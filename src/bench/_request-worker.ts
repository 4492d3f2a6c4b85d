// One worker thread of `bench tcp --workers N`: runs its share of the global plan on its share of the
// connections and posts its histograms (HdrHistogram compressed base64) to the main thread, which merges them.
import { parentPort, workerData } from 'node:worker_threads';
import { encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { defaultChecks, parseExpect } from './_requests.js';
import { runRequestBench, type RequestBenchOptions } from './request-loop.js';
import type { LatencyTriple } from './_bench-stats.js';

/** What the main thread sends: the options that survive structured cloning, and the --expect sources. */
export interface WorkerInput {
  options: Omit<RequestBenchOptions, 'checks' | 'onInterval' | 'onProgress' | 'histogram' | 'serviceHistogram' | 'signal' | 'waitForStart' | 'onIntervalHistograms'>;
  expect: string[] | undefined;
}

export function encodeTriple(triple: LatencyTriple): Record<keyof LatencyTriple, string> {
  return { latency: encode(triple.latency), service: encode(triple.service), sendLag: encode(triple.sendLag) };
}

function encode(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

if (parentPort) {
  const port = parentPort;
  const { options, expect } = workerData as WorkerInput;
  const abort = new AbortController();
  let go: ((at: number) => void) | undefined;
  port.on('message', (message: { type: string; at?: number }) => {
    if (message.type === 'go') go?.(message.at!);
    if (message.type === 'abort') abort.abort();
  });
  runRequestBench({
    ...options,
    checks: expect === undefined ? defaultChecks(options.framing) : expect.map(parseExpect),
    signal: abort.signal,
    waitForStart: () =>
      new Promise<number>((resolve) => {
        go = resolve;
        port.postMessage({ type: 'ready' });
      }),
    onIntervalHistograms: (stats, triple) => port.postMessage({ type: 'interval', stats, histograms: encodeTriple(triple) }),
  }).then(
    (run) =>
      port.postMessage({
        type: 'done',
        counts: run.counts,
        samples: run.samples,
        connectFailure: run.connectFailure,
        histograms: { latency: encode(run.latency), service: encode(run.service), sendLag: encode(run.sendLag), timerLag: encode(run.timerLag) },
        connectionsAtEnd: run.connectionsAtEnd,
        endedEarly: run.endedEarly,
        unscheduled: run.unscheduled,
      }),
    (err: unknown) => port.postMessage({ type: 'error', code: (err as { code?: string }).code, message: (err as Error).message ?? String(err) }),
  );
}
