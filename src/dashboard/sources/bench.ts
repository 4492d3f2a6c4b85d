import type { Histogram } from 'hdr-histogram-js';
import { latencyDistribution } from '../../bench/report.js';
import type { DashboardSource } from '../source.js';

/** What a running bench shows: its progress callback's numbers and its latency histogram. */
export interface BenchProgress {
  mode: string;
  target: string;
  histogram: Histogram;
  /** Updated from the bench's `onProgress`. */
  fraction: number;
  completed: number;
}

/**
 * Watches a bench while it runs: the completed count (charted as a rate) and the live latency distribution.
 *
 * @example
 * const progress = { mode: 'tcp', target, histogram: createLatencyHistogram(), fraction: 0, completed: 0 };
 * const source = benchSource(progress);
 */
export function benchSource(progress: BenchProgress): DashboardSource {
  const { histogram } = progress;
  const percentile = (p: number): number => (histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(p));
  const ms = (us: number): string => `${(us / 1000).toFixed(2)} ms`;
  return {
    kind: 'bench',
    title: `bench ${progress.mode}`,
    address: () => `→ ${progress.target}`,
    rates: [{ total: 'completed', label: progress.mode === 'connect' ? 'cycles/s' : 'requests/s' }],
    sample() {
      return {
        totals: { completed: progress.completed },
        cards: [
          { label: 'done', value: `${Math.round(progress.fraction * 100)}%` },
          { label: 'completed (measured)', value: progress.completed },
          { label: 'p50', value: ms(percentile(50)) },
          { label: 'p99', value: ms(percentile(99)) },
          { label: 'max', value: ms(histogram.maxValue) },
        ],
        sections: [],
        percentiles: latencyDistribution(histogram),
      };
    },
    metrics: [
      { name: 'socklab_bench_completed_total', help: 'Requests (or connect cycles) completed while measuring', type: 'counter', read: () => progress.completed },
      { name: 'socklab_bench_progress_ratio', help: 'Share of the run (warm-up included) done', type: 'gauge', read: () => progress.fraction },
      { name: 'socklab_bench_latency_p99_microseconds', help: '99th percentile latency so far', type: 'gauge', read: () => percentile(99) },
    ],
    extraSections: [],
    detach: () => {},
  };
}
