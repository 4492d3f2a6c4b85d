// One worker thread of `bench hold|connect|udp --workers N`: runs the mode on its share and posts its result and
// its latency histogram (HdrHistogram compressed base64) to the main thread, which merges them.
import { parentPort, workerData } from 'node:worker_threads';
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { createLatencyHistogram } from './report.js';
import { runConnectBench, runHoldBench, type TcpBenchOptions } from './tcp.js';
import { runUdpBench, type UdpBenchOptions } from './udp.js';

/** What the main thread sends: the mode and its options, without the callbacks (they cannot cross threads). */
export type ModeWorkerInput =
  | { mode: 'hold' | 'connect'; options: Omit<TcpBenchOptions, 'onProgress' | 'histogram' | 'signal'> }
  | { mode: 'udp'; options: Omit<UdpBenchOptions, 'onProgress' | 'histogram' | 'serviceHistogram' | 'sendLagHistogram' | 'signal' | 'waitForStart'> };

if (parentPort) {
  const port = parentPort;
  const input = workerData as ModeWorkerInput;
  const abort = new AbortController();
  let go: ((at: number) => void) | undefined;
  port.on('message', (message: { type: string; at?: number }) => {
    if (message.type === 'go') go?.(message.at!);
    if (message.type === 'abort') abort.abort();
  });
  const histogram = createLatencyHistogram();
  const common = { histogram, signal: abort.signal };
  const service = createLatencyHistogram();
  const sendLag = createLatencyHistogram();
  const running =
    input.mode === 'udp'
      ? runUdpBench({
          ...input.options,
          ...common,
          serviceHistogram: service,
          sendLagHistogram: sendLag,
          // The main thread starts every worker's share of the plan at one instant, once all are ready.
          waitForStart: () =>
            new Promise<number>((resolve) => {
              go = resolve;
              port.postMessage({ type: 'ready' });
            }),
        })
      : (input.mode === 'hold' ? runHoldBench : runConnectBench)({ ...input.options, ...common });
  running.then(
    (result) =>
      port.postMessage({
        type: 'done',
        result,
        histogram: encodeIntoCompressedBase64(histogram),
        ...(input.mode === 'udp' ? { service: encodeIntoCompressedBase64(service), sendLag: encodeIntoCompressedBase64(sendLag) } : {}),
      }),
    (err: unknown) => port.postMessage({ type: 'error', code: (err as { code?: string }).code, message: (err as Error).message ?? String(err) }),
  );
}
