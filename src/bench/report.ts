import { formatSocketPath } from '../unix/socket-path.js';
import { createRequire } from 'node:module';
import type * as Hdr from 'hdr-histogram-js';
import { formatEndpoint } from '../address.js';

/** Latency percentiles in microseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  /** p99.9 */
  p999: number;
  /** p99.99 */
  p9999: number;
  max: number;
  mean: number;
  count: number;
}

/** What every bench mode reports. Counts are over the measured period only (after warm-up). */
export interface BenchResult {
  mode: 'tcp' | 'hold' | 'connect' | 'udp';
  target: string;
  /** Connections (tcp, hold), parallel loops (connect) or sockets (udp). */
  concurrency: number;
  measuredMs: number;
  /** Completed request/response pairs (tcp, udp) or connect cycles (connect). */
  completed: number;
  perSec: number;
  latencyUs: LatencySummary;
  errors: number;
  resets: number;
  /** udp: replies that did not come within the timeout; hold: connections not answered at the end. */
  lost: number;
  /** The load generator's own CPU use over the whole run, in % of one core. */
  cpuPercent: number;
  /** Mode-specific extras (hold: opened, answered, …). */
  extra: Record<string, number>;
  /** Completions per second, second by second over the measured period (for the HTML report). */
  series?: RateSeriesData;
  /** The latency distribution as [percentile, microseconds] pairs, 0% to 100% (max): the HDR percentile plot. */
  percentiles?: [number, number][];
  /** tcp: closed loop (send on reply) or open loop (`--rate`, intended send times); udp: always open. */
  loop?: 'closed' | 'open';
  /** tcp, udp: from the actual write to the reply (uncorrected: what a closed-loop tool reports). `latencyUs` is from the intended time. */
  serviceTimeUs?: LatencySummary;
  /** tcp, udp: actual write minus intended send time. */
  sendLagUs?: LatencySummary;
  /** tcp: how late the generator itself saw each intended time (timer and event loop). */
  generatorLagUs?: LatencySummary;
  /** tcp, udp: the service-time distribution, as `percentiles` is for the corrected latency. */
  servicePercentiles?: [number, number][];
  /** tcp: every count of the run (scheduled, sent, completed, dropped, timeouts, closes, …, warm-up and drain). */
  counts?: Record<string, number>;
  /** tcp: failed requests per request attempted, over the whole run (at most 1). */
  errorRate?: number;
  /** tcp: more failures than --max-error-rate allows; `failedBecause` says which. */
  failed?: boolean;
  failedBecause?: string[];
  unexpectedSamples?: { text: string; count: number }[];
  warnings?: string[];
  /** tcp: one entry per interval: rate, corrected and uncorrected p50/p99, failures. */
  intervals?: IntervalPoint[];
  /** The whole configuration of the run, as resolved. */
  config?: Record<string, unknown>;
  /** The server process's CPU over the run (Linux /proc; `--server-pid` or found by its listening socket); tcp adds µs per request. */
  serverCpu?: { pid: number; command: string; cpuUs: number; cpuPercent: number; usPerOp?: number };
  /** tcp: the generator's CPU per answered request, beside the server's. */
  generatorUsPerOp?: number;
}

/** One interval of a run, as the report plots it over time. */
export interface IntervalPoint {
  endMs: number;
  measuring: boolean;
  perSec: number;
  p50Us: number;
  p99Us: number;
  serviceP50Us: number;
  serviceP99Us: number;
  failed: number;
}

/** `perSec[i]` completions per second in the interval ending `atMs[i]` ms after measuring began. */
export interface RateSeriesData {
  atMs: number[];
  perSec: number[];
}

/**
 * Completions per second, one point per elapsed second: fed the running count by a bench's clock (which ticks
 * every 100 ms anyway), so it costs nothing per request.
 *
 * @example
 * const series = new RateSeries(performance.now());
 * series.tick(performance.now(), completed); // as often as you like; a point is kept once a second has passed
 */
export class RateSeries {
  readonly #data: RateSeriesData = { atMs: [], perSec: [] };
  #startedAt: number;
  #lastAt: number;
  #lastCount = 0;

  constructor(startedAt: number, intervalMs = 1000) {
    this.#startedAt = startedAt;
    this.#lastAt = startedAt;
    this.intervalMs = intervalMs;
  }

  readonly intervalMs: number;

  tick(now: number, count: number, final = false): void {
    const elapsed = now - this.#lastAt;
    if (elapsed < this.intervalMs && !(final && elapsed >= this.intervalMs / 10)) return;
    this.#data.atMs.push(Math.round(now - this.#startedAt));
    this.#data.perSec.push(Math.round(((count - this.#lastCount) * 1000) / elapsed));
    this.#lastAt = now;
    this.#lastCount = count;
  }

  toJSON(): RateSeriesData {
    return { atMs: [...this.#data.atMs], perSec: [...this.#data.perSec] };
  }
}

/**
 * Points of the HDR percentile plot: percentiles 0, 90, 99, 99.9, … (ten per decade of 1/(1-p)) as far as the
 * sample count resolves them, then the maximum as 100.
 * @example latencyDistribution(histogram) // [[0, 80], [20.6, 95], …, [99.9, 2100], [100, 5300]]
 */
export function latencyDistribution(histogram: Hdr.Histogram): [number, number][] {
  if (histogram.totalCount === 0) return [];
  const percentiles = new Set([50, 75, 90, 99, 99.9, 99.99, 99.999]);
  for (let k = 0; k <= 60; k++) percentiles.add(Math.round((1 - 10 ** (-k / 10)) * 1e6) / 1e4);
  const points: [number, number][] = [...percentiles]
    .sort((a, b) => a - b)
    // Past one sample in the tail, a percentile is just the maximum.
    .filter((percentile) => ((100 - percentile) / 100) * histogram.totalCount >= 1)
    .map((percentile) => [percentile, histogram.getValueAtPercentile(percentile)]);
  points.push([100, histogram.maxValue]);
  return points;
}

/** What a mode measured; {@link benchResult} derives the rest. */
export interface Measured {
  mode: BenchResult['mode'];
  host: string;
  port: number;
  /** A UNIX domain socket loaded instead of host and port. */
  path?: string;
  concurrency: number;
  measuredMs: number;
  completed: number;
  /** Derived from `completed` over `measuredMs` unless given (hold reports no rate). */
  perSec?: number;
  histogram: Hdr.Histogram;
  errors: number;
  resets: number;
  lost: number;
  cpu: { stop: () => number };
  extra: Record<string, number>;
  series?: RateSeries;
}

/** Assembles a mode's result: the target, the rate, the percentiles and the CPU, the same way for every mode. */
export function benchResult(measured: Measured): BenchResult {
  const { mode, concurrency, measuredMs, completed, errors, resets, lost, extra } = measured;
  return {
    mode,
    target: measured.path === undefined ? formatEndpoint({ address: measured.host, port: measured.port }) : formatSocketPath(measured.path),
    concurrency,
    measuredMs,
    completed,
    perSec: measured.perSec ?? (measuredMs > 0 ? (completed * 1000) / measuredMs : 0),
    latencyUs: summarise(measured.histogram),
    errors,
    resets,
    lost,
    cpuPercent: measured.cpu.stop(),
    extra,
    ...(measured.series ? { series: measured.series.toJSON() } : {}),
    percentiles: latencyDistribution(measured.histogram),
  };
}

let hdr: typeof Hdr | undefined;
/** hdr-histogram-js (CommonJS) loads with the first histogram: reading, comparing and formatting results never need it. */
function loadHdr(): typeof Hdr {
  return (hdr ??= createRequire(import.meta.url)('hdr-histogram-js') as typeof Hdr);
}

/** An HDR histogram of microseconds, 1 µs to 60 s at 3 significant digits (0.1% error). */
export function createLatencyHistogram(): Hdr.Histogram {
  return loadHdr().build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

export function summarise(histogram: Hdr.Histogram): LatencySummary {
  return {
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    p9999: histogram.getValueAtPercentile(99.99),
    max: histogram.maxValue,
    mean: histogram.totalCount === 0 ? 0 : Math.round(histogram.mean),
    count: histogram.totalCount,
  };
}

/** Measures this process's CPU between `start()` and `stop()`, as % of one core. */
export function cpuMeter(): { stop: () => number } {
  const startedAt = performance.now();
  const start = process.cpuUsage();
  return {
    stop: () => {
      const used = process.cpuUsage(start);
      const wallUs = (performance.now() - startedAt) * 1000;
      return wallUs > 0 ? Math.round(((used.user + used.system) / wallUs) * 1000) / 10 : 0;
    },
  };
}

function ms(us: number): string {
  return us >= 10_000 ? `${(us / 1000).toFixed(0)} ms` : `${(us / 1000).toFixed(2)} ms`;
}

function spread(summary: LatencySummary): string {
  return [summary.p50, summary.p90, summary.p99, summary.p999, summary.max].map(ms).join(' / ');
}

/** tcp's rows: corrected and uncorrected latency, every count, and the failures by kind. */
function requestRows(result: BenchResult): [string, string][] {
  const c = result.counts ?? {};
  const open = result.loop === 'open';
  const failures = ['unexpected', 'timeouts', 'abandoned', 'unanswered', 'dropped', 'closes', 'resets', 'protocolErrors', 'socketErrors', 'connectFailed']
    .filter((key) => (c[key] ?? 0) > 0)
    .map((key) => `${key} ${c[key]}`);
  return [
    [open ? 'latency from intended time' : 'latency', `p50 / p90 / p99 / p99.9 / max  ${spread(result.latencyUs)}`],
    ...(open ? ([['service time from write', `p50 / p90 / p99 / p99.9 / max  ${spread(result.serviceTimeUs!)}`], ['send lag', `p50 ${ms(result.sendLagUs!.p50)}, p99 ${ms(result.sendLagUs!.p99)}, max ${ms(result.sendLagUs!.max)}`]] as [string, string][]) : []),
    ['scheduled / sent / completed', `${c.scheduled} / ${c.sent} / ${c.completed} (warm-up ${c.warmupCompleted} of ${c.warmupScheduled}, answered in the drain ${c.drainCompleted})`],
    ['failures', failures.length === 0 ? 'none' : `${failures.join(', ')} (${((result.errorRate ?? 0) * 100).toFixed(3)}%)`],
    ...(c.reconnects ? ([['reconnects', String(c.reconnects)]] as [string, string][]) : []),
  ];
}

/** A short human summary table. */
export function formatResult(result: BenchResult): string {
  const tcp = result.counts !== undefined;
  const rows: [string, string][] = [
    ['target', `${result.target} (${result.mode}, ${result.concurrency} ${result.mode === 'udp' ? 'socket(s)' : 'connections'})`],
    ...(tcp ? ([['loop', result.loop === 'open' ? 'open (requests at intended times from a plan)' : 'closed (each reply triggers the next request)']] as [string, string][]) : []),
    ['measured', `${(result.measuredMs / 1000).toFixed(1)} s`],
    [result.mode === 'connect' ? 'cycles' : result.mode === 'hold' ? 'answered' : 'requests', `${result.completed} (${Math.round(result.perSec)}/s)`],
    ...(tcp
      ? requestRows(result)
      : ([
          [result.loop === 'open' ? 'latency from intended time' : 'latency', `p50 / p90 / p99 / max  ${ms(result.latencyUs.p50)} / ${ms(result.latencyUs.p90)} / ${ms(result.latencyUs.p99)} / ${ms(result.latencyUs.max)}`],
          ...(result.serviceTimeUs && result.sendLagUs
            ? ([
                ['service time from send', `p50 / p90 / p99 / max  ${ms(result.serviceTimeUs.p50)} / ${ms(result.serviceTimeUs.p90)} / ${ms(result.serviceTimeUs.p99)} / ${ms(result.serviceTimeUs.max)}`],
                ['send lag', `p50 ${ms(result.sendLagUs.p50)}, p99 ${ms(result.sendLagUs.p99)}, max ${ms(result.sendLagUs.max)}`],
              ] as [string, string][])
            : []),
          ['errors / resets / lost', `${result.errors} / ${result.resets} / ${result.lost}`],
        ] as [string, string][])),
    ...(result.serverCpu
      ? ([['server CPU', `${result.serverCpu.cpuPercent}% of one core${result.serverCpu.usPerOp === undefined ? '' : `, ${result.serverCpu.usPerOp} µs per request`} (pid ${result.serverCpu.pid}, ${result.serverCpu.command})`]] as [string, string][])
      : []),
    ['bench CPU', `${result.cpuPercent}% of one core${result.generatorUsPerOp === undefined ? '' : `, ${result.generatorUsPerOp} µs per request`}`],
    ...(result.warnings ?? []).map((warning): [string, string] => ['warning', warning]),
    ...Object.entries(result.extra).map(([key, value]): [string, string] => [key, String(value)]),
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join('\n') + '\n';
}
