import type { Histogram } from 'hdr-histogram-js';
import { createLatencyHistogram, summarise, type LatencySummary } from './report.js';

/** Percentiles of one latency measure, in µs. */
export type Percentiles = LatencySummary;

/** The three measures of a request: from its intended time, from its actual write, and the gap between the two. */
export interface LatencyTriple {
  /** Reply time minus intended send time: what a user arriving on schedule waits (coordinated-omission corrected). */
  latency: Histogram;
  /** Reply time minus the actual write: the server's time, and what a closed-loop tool reports. */
  service: Histogram;
  /** Actual write minus intended send time: waiting for a free connection, or a late generator. */
  sendLag: Histogram;
}

export function createTriple(latency?: Histogram, service?: Histogram): LatencyTriple {
  return { latency: latency ?? createLatencyHistogram(), service: service ?? createLatencyHistogram(), sendLag: createLatencyHistogram() };
}

function us(ms: number): number {
  return Math.max(1, Math.round(ms * 1000));
}

/** Records one answered request (times in ms on one clock). */
export function recordRequest(triple: LatencyTriple, intendedMs: number, sentMs: number, doneMs: number): void {
  triple.latency.recordValue(us(doneMs - intendedMs));
  triple.service.recordValue(us(doneMs - sentMs));
  triple.sendLag.recordValue(us(sentMs - intendedMs));
}

export const percentiles: (histogram: Histogram) => Percentiles = summarise;

/** One interval of a run, as `--json` prints it and the report plots it. */
export interface IntervalStats {
  startMs: number;
  endMs: number;
  measuring: boolean;
  scheduled: number;
  sent: number;
  completed: number;
  perSec: number;
  failed: number;
  latencyUs: Percentiles;
  serviceTimeUs: Percentiles;
  sendLagUs: Percentiles;
}

/** The per-interval view of a run: counters and histograms reset at each `cut()`. */
export class IntervalMeter {
  readonly triple = createTriple();
  scheduled = 0;
  sent = 0;
  completed = 0;
  failed = 0;
  #startMs = 0;

  cut(nowMs: number, measuring: boolean, beforeReset?: (stats: IntervalStats, triple: LatencyTriple) => void): IntervalStats {
    const spanMs = Math.max(1e-3, nowMs - this.#startMs);
    const stats: IntervalStats = {
      startMs: Math.round(this.#startMs),
      endMs: Math.round(nowMs),
      measuring,
      scheduled: this.scheduled,
      sent: this.sent,
      completed: this.completed,
      perSec: Math.round((this.completed * 1000) / spanMs),
      failed: this.failed,
      latencyUs: percentiles(this.triple.latency),
      serviceTimeUs: percentiles(this.triple.service),
      sendLagUs: percentiles(this.triple.sendLag),
    };
    beforeReset?.(stats, this.triple);
    for (const histogram of Object.values(this.triple)) histogram.reset();
    this.scheduled = this.sent = this.completed = this.failed = 0;
    this.#startMs = nowMs;
    return stats;
  }
}
