// How bench results leave the process: interval events, the HdrHistogram log, the failure verdict.
import { writeFileSync } from 'node:fs';
import type { Histogram } from 'hdr-histogram-js';
import type { IntervalStats } from '../../bench/_bench-stats.js';
import type { BenchResult } from '../../bench/report.js';
import { usageError } from '../command.js';
import type { EventOutput } from '../json-events.js';

/** tcp: one `interval` event per interval the run cut, with corrected and uncorrected latency. */
export function tcpIntervalEvent(out: EventOutput, stats: IntervalStats): void {
  out.event('interval', { mode: 'tcp', ...stats });
}

/** The other modes: turns progress callbacks into one `interval` event per `intervalMs` (iperf3 --json-stream style). */
export function intervalReporter(out: EventOutput, mode: string, warmupMs: number, durationMs: number, intervalMs: number): (fraction: number, completed: number) => void {
  const totalMs = warmupMs + durationMs;
  let startMs = 0;
  let startCompleted = 0;
  return (fraction, completed) => {
    const nowMs = fraction * totalMs;
    if (nowMs - startMs < intervalMs && fraction < 1) return;
    const spanMs = nowMs - startMs;
    if (spanMs <= 0) return;
    const done = completed - startCompleted;
    out.event('interval', { mode, startMs: Math.round(startMs), endMs: Math.round(nowMs), completed: done, perSec: Math.round((done * 1000) / spanMs), measuring: nowMs > warmupMs });
    startMs = nowMs;
    startCompleted = completed;
  };
}

/**
 * The measured period's histograms (µs) as an HdrHistogram log, one tagged interval histogram each
 * (`latency` from the intended time, `service` from the write), values shown in ms.
 */
export async function writeHdrLog(file: string, result: BenchResult, histograms: { tag: string; histogram: Histogram }[]): Promise<void> {
  const hdr = await import('hdr-histogram-js');
  let text = '';
  const writer = new hdr.HistogramLogWriter((line: string) => (text += line));
  const endMs = Date.now();
  writer.outputComment(`socklab bench ${result.mode} ${result.target}: latency in microseconds`);
  writer.outputLogFormatVersion();
  writer.outputStartTime(endMs - result.measuredMs);
  writer.outputLegend();
  for (const { tag, histogram } of histograms) {
    histogram.tag = tag;
    writer.outputIntervalHistogram(histogram, 0, result.measuredMs / 1000, 1000);
  }
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw usageError(`Cannot write --hdr-log file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** One stderr line per warning, and the verdict of a failed run. */
export function reportVerdict(out: EventOutput, result: BenchResult, maxErrorRate: number): void {
  // Without --json the summary table already shows them.
  if (out.json) for (const warning of result.warnings ?? []) out.note(`warning: ${warning}`);
  if (!result.failed) return;
  const rate = `${((result.errorRate ?? 0) * 100).toFixed(3)}% of requests failed, --max-error-rate allows ${maxErrorRate * 100}%`;
  out.note(`SL_ERR_BENCH_FAILED: this run failed: ${rate}: ${(result.failedBecause ?? []).join('; ')}`);
}
