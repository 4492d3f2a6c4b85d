import type { MetricSpec } from '../metrics/registry.js';

/**
 * What the dashboard shows, independent of what is being watched. A source (a TCP server, the UDP counter
 * server, a proxy, a running bench) is sampled every `DEFAULTS.dashboardIntervalMs`; the dashboard turns its
 * cumulative `totals` into rates itself, so a source never does work per message for the charts.
 */

/** One number on the page's summary strip. */
export interface Card {
  label: string;
  value: string | number;
}

/** A row of the open-connections table. Text fields are peer-controlled: the page renders them as text. */
export interface ConnectionRow {
  peer: string;
  ageMs: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn?: number;
  messagesOut?: number;
  state: string;
  /** The peer's last message, already cut to `DEFAULTS.dashboardLastMessageBytes`. */
  last?: string;
}

/** A small table: errors by code, drops by reason, faults applied, the chat roster… */
export interface Section {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  /** Shown when there are no rows. */
  empty?: string;
}

/** One sample of a source. */
export interface SourceSample {
  /** Cumulative counters (never decreasing); the ones named in `rates` are charted per second. */
  totals: Record<string, number>;
  cards: Card[];
  connections?: ConnectionRow[];
  /** Open connections not listed (past `DEFAULTS.dashboardMaxRows`). */
  unlisted?: number;
  sections: Section[];
  /** Latency distribution as [percentile, microseconds] pairs (bench only). */
  percentiles?: [number, number][];
}

/** One charted rate: `total` names a counter in `SourceSample.totals`. */
export interface RateSpec {
  total: string;
  label: string;
  /** Which y axis: 0 (left, counts) or 1 (right, bytes). */
  axis?: 0 | 1;
}

/**
 * Anything the dashboard can watch.
 *
 * @example
 * const source = messageServerSource(server);
 * const dashboard = await startDashboard({ source, port: 0 });
 */
export interface DashboardSource {
  /** 'tcp-server', 'udp-server', 'tcp-proxy', 'udp-proxy', 'bench', or a new one's name. */
  kind: string;
  title: string;
  address(): string;
  sample(): SourceSample;
  rates: RateSpec[];
  metrics: MetricSpec[];
  /**
   * Sections added by someone else than the source (e.g. the chat room's roster); each is called at every sample.
   * Push to this array to plug one in.
   */
  extraSections: Array<() => Section>;
  /** Removes whatever listeners the source attached. */
  detach(): void;
}

/** Counts as table rows, largest first, zeros left out. */
export function countRows(counts: Record<string, number>): (string | number)[][] {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => [name, n]);
}

/** `count` for Prometheus, per label value, zeros included so that every series exists from the start. */
export function labelled(label: string, counts: Record<string, number>): Array<[Record<string, string>, number]> {
  return Object.entries(counts).map(([value, n]) => [{ [label]: value }, n]);
}
