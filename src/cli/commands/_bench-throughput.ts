// `bench throughput`: bulk transfer, its intervals and its summary.
import { runThroughputBench, type ThroughputDirection, type ThroughputResult } from '../../bench/throughput.js';
import type { ResolvedTlsClientOptions } from '../../tls/options.js';
import type { EventOutput } from '../json-events.js';

export interface ThroughputRun {
  host: string;
  port: number;
  path?: string;
  tls?: ResolvedTlsClientOptions;
  streams: number;
  direction: ThroughputDirection;
  durationMs: number;
  warmupMs: number;
  intervalMs: number;
  timeoutMs: number;
  chunkBytes: number;
  target: string;
  signal: AbortSignal;
  onProgress: (fraction: number, bytes: number) => void;
}

/** Runs it, streaming interval events with --json (and interval lines without), and prints the summary. */
export async function benchThroughput(run: ThroughputRun, out: EventOutput): Promise<number> {
  const result = await runThroughputBench({
    ...run,
    connections: run.streams,
    onInterval: (i) => {
      if (out.json) out.event('interval', { mode: 'throughput', startMs: i.startMs, endMs: i.endMs, completed: i.sentBytes + i.receivedBytes, perSec: Math.round(((i.sentBytes + i.receivedBytes) * 1000) / Math.max(1, i.endMs - i.startMs)), measuring: i.measuring, sentBytes: i.sentBytes, receivedBytes: i.receivedBytes, sentMBps: i.sentMBps, receivedMBps: i.receivedMBps });
      else out.say(`${(i.startMs / 1000).toFixed(1)}-${(i.endMs / 1000).toFixed(1)} s${i.measuring ? '' : ' (warm-up)'}  ${rates(i.sentMBps, i.receivedMBps, run.direction)}`);
    },
  });
  const totals = { mode: 'throughput', target: run.target, ...result };
  if (out.json) out.event('summary', { totals });
  else out.say(formatThroughput(totals));
  const failed = result.errors > 0 || result.closedEarly > 0;
  if (failed) out.note(`SL_ERR_BENCH_FAILED: ${result.closedEarly} stream(s) closed early, ${result.errors} error(s)`);
  return failed ? 1 : 0;
}

function rates(sent: number, received: number, direction: ThroughputDirection): string {
  return [direction !== 'receive' ? `sent ${sent.toFixed(1)} MB/s` : '', direction !== 'send' ? `received ${received.toFixed(1)} MB/s` : ''].filter(Boolean).join(', ');
}

function formatThroughput(result: ThroughputResult & { target: string }): string {
  const rows: [string, string][] = [
    ['target', `${result.target} (throughput, ${result.direction}, ${result.streams} stream(s))`],
    ['measured', `${(result.measuredMs / 1000).toFixed(1)} s`],
    ...(result.direction !== 'receive' ? ([['sent', `${result.sentBytes} bytes, ${result.sentMBps} MB/s (${result.sentGbps} Gbit/s)`]] as [string, string][]) : []),
    ...(result.direction !== 'send' ? ([['received', `${result.receivedBytes} bytes, ${result.receivedMBps} MB/s (${result.receivedGbps} Gbit/s)`]] as [string, string][]) : []),
    ['closed early / errors', `${result.closedEarly} / ${result.errors}`],
    ['bench CPU', `${result.cpuPercent}% of one core`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join('\n');
}
