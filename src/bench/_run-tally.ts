import type { Histogram } from 'hdr-histogram-js';
import { SocklabError, systemCode } from '../errors.js';
import { latencyDistribution } from './report.js';
import type { ServerCpu } from './server-cpu.js';
import { percentiles, type IntervalStats, type LatencyTriple, type Percentiles } from './_bench-stats.js';

/** Every count of a request run. Warm-up and drain are counted, not hidden. */
export interface RunCounts {
  /** Requests that fell due during warm-up, and how many of them were answered. */
  warmupScheduled: number;
  warmupCompleted: number;
  /** Requests that fell due in the measured period (open loop: by the plan; closed loop: as sent). */
  scheduled: number;
  /** Writes, warm-up included. */
  sent: number;
  /** Measured requests answered (any reply, expected or not). */
  completed: number;
  /** Of those, answered after the measured period ended (the drain). */
  drainCompleted: number;
  /** --on-behind drop: requests that fell due with every connection busy. */
  dropped: number;
  /** Replies that failed an --expect check (or protocol default: RESP errors, HTTP 4xx/5xx). */
  unexpected: number;
  /** Requests whose reply did not come within --timeout-ms. */
  timeouts: number;
  /** Requests in flight on a connection the server closed or reset. */
  abandoned: number;
  /** Requests still owed a reply when the run ended. */
  unanswered: number;
  /** Server closes and resets of established connections while the run needed them. */
  closes: number;
  resets: number;
  socketErrors: number;
  /** Replies the framing could not decode (the connection is then dropped). */
  protocolErrors: number;
  connectFailed: number;
  reconnects: number;
}

/** What a request run found, beside the latencies. */
export interface RequestRun {
  counts: RunCounts;
  latency: Histogram;
  /** The raw histograms (merged across workers). */
  service: Histogram;
  sendLag: Histogram;
  timerLag: Histogram;
  /** Unexpected replies by text (first 80 characters), all of them kept (up to 20 texts). */
  samples: [string, number][];
  serviceTimeUs: Percentiles;
  /** The service-time distribution for the percentile plot. */
  servicePercentiles: [number, number][];
  sendLagUs: Percentiles;
  /** How late the generator itself saw each intended time (its timer and event loop, not the server). */
  generatorLagUs: Percentiles;
  intervals: IntervalStats[];
  /** Failed requests over the whole run per request attempted (at most 1); connection failures are judged apart. */
  errorRate: number;
  failed: boolean;
  /** Why the run failed, one line per kind of failure. */
  failedBecause: string[];
  /** The most frequent unexpected replies (first 80 characters). */
  unexpectedSamples: { text: string; count: number }[];
  /** Generator CPU over the measured run, % of one core, and in µs in all. */
  cpuPercent: number;
  cpuUs: number;
  wallMs: number;
  measuredMs: number;
  connectionsAtEnd: number;
  endedEarly?: string;
  /** Open loop, a run ended early: requests the plan never got to. */
  unscheduled: number;
  /** The first connect failure's message (a wrong port, a server that does not greet). */
  connectFailure?: string;
  /** The server's CPU over the same window, and per answered request (warm-up included, as the window is). */
  serverCpu?: ServerCpu & { usPerOp: number };
  /** The generator's CPU per answered request over that window. */
  generatorUsPerOp: number;
}

/** Counts a run's failures and judges it against `maxErrorRate` and `reconnect`. */
export class RunTally {
  readonly counts: RunCounts = {
    warmupScheduled: 0, warmupCompleted: 0, scheduled: 0, sent: 0, completed: 0, drainCompleted: 0, dropped: 0, unexpected: 0,
    timeouts: 0, abandoned: 0, unanswered: 0, closes: 0, resets: 0, socketErrors: 0, protocolErrors: 0, connectFailed: 0, reconnects: 0,
  };
  readonly #samples = new Map<string, number>();
  readonly #options: { maxErrorRate: number; reconnect: boolean };
  #connectFailure: string | undefined;
  #cpu = process.cpuUsage();
  #startedAt = performance.now();

  constructor(options: { maxErrorRate: number; reconnect: boolean }) {
    this.#options = options;
  }

  startCpu(): void {
    this.#cpu = process.cpuUsage();
    this.#startedAt = performance.now();
  }

  unexpected(text: string, count = 1): void {
    this.counts.unexpected += count;
    const key = text.slice(0, 80);
    if (this.#samples.has(key) || this.#samples.size < 20) this.#samples.set(key, (this.#samples.get(key) ?? 0) + count);
  }

  /** Adds a worker's counts and unexpected replies to this (the main thread's) tally. */
  absorb(counts: RunCounts, samples: [string, number][], connectFailure: string | undefined): void {
    for (const key of Object.keys(this.counts) as (keyof RunCounts)[]) if (key !== 'unexpected') this.counts[key] += counts[key];
    for (const [text, count] of samples) this.unexpected(text, count);
    this.counts.unexpected += counts.unexpected - samples.reduce((sum, [, count]) => sum + count, 0);
    this.#connectFailure ??= connectFailure;
  }

  protocolError(err: unknown): void {
    this.counts.protocolErrors++;
    this.#connectFailure ??= err instanceof Error ? err.message : String(err);
  }

  connectFailed(err: unknown): void {
    this.counts.connectFailed++;
    this.#connectFailure ??= err instanceof SocklabError ? err.message : `${systemCode(err) ?? String(err)}`;
  }

  finish(run: { whole: LatencyTriple; timerLag: Histogram; intervals: IntervalStats[]; measuredMs: number; aliveAtEnd: number; endedEarly?: string; unscheduled: number; serverCpu?: ServerCpu }): RequestRun {
    const used = process.cpuUsage(this.#cpu);
    const wallMs = performance.now() - this.#startedAt;
    const c = this.counts;
    // Requests that failed count against --max-error-rate; a connection the server closed or reset (without
    // --reconnect), a socket error or a failed connect fails the run whatever the rate.
    const requestFailures = c.unexpected + c.timeouts + c.abandoned + c.unanswered + c.dropped + c.protocolErrors + run.unscheduled;
    const connectionFailures = c.socketErrors + c.connectFailed + (this.#options.reconnect ? 0 : c.closes + c.resets);
    const attempted = Math.max(1, c.scheduled + c.warmupScheduled);
    const errorRate = Math.min(1, requestFailures / attempted);
    const because: string[] = [];
    const say = (count: number, what: string): void => {
      if (count > 0) because.push(`${count} ${what}`);
    };
    const answered = Math.max(1, c.completed + c.warmupCompleted);
    const perOp = (us: number): number => Math.round((us / answered) * 100) / 100;
    const top = [...this.#samples].sort((a, b) => b[1] - a[1]).slice(0, 3);
    say(c.unexpected, `unexpected repl${c.unexpected === 1 ? 'y' : 'ies'}${top.length > 0 ? ` (most often ${JSON.stringify(top[0]![0])})` : ''}`);
    say(c.timeouts, `request(s) unanswered within --timeout-ms`);
    say(c.abandoned, 'request(s) in flight on a connection the server closed or reset');
    say(c.unanswered, 'request(s) still unanswered at the end of the drain');
    say(c.dropped, 'request(s) dropped (--on-behind drop: every connection was busy)');
    say(c.protocolErrors, `repl${c.protocolErrors === 1 ? 'y' : 'ies'} the framing could not decode (${this.#connectFailure ?? ''})`);
    say(c.socketErrors, 'socket error(s)');
    say(c.connectFailed, `failed connect(s)${this.#connectFailure ? ` (${this.#connectFailure})` : ''}`);
    if (!this.#options.reconnect) {
      say(c.closes, 'connection(s) closed by the server (--reconnect to reopen them)');
      say(c.resets, 'connection(s) reset by the server (--reconnect to reopen them)');
    }
    say(run.unscheduled, `planned request(s) never sent: the run ended early (${run.endedEarly ?? ''})`);
    return {
      counts: { ...c },
      latency: run.whole.latency,
      service: run.whole.service,
      sendLag: run.whole.sendLag,
      timerLag: run.timerLag,
      samples: [...this.#samples],
      serviceTimeUs: percentiles(run.whole.service),
      servicePercentiles: latencyDistribution(run.whole.service),
      sendLagUs: percentiles(run.whole.sendLag),
      generatorLagUs: percentiles(run.timerLag),
      intervals: run.intervals,
      errorRate,
      failed: errorRate > this.#options.maxErrorRate || (this.#options.maxErrorRate === 0 && requestFailures > 0) || connectionFailures > 0,
      failedBecause: because,
      unexpectedSamples: top.map(([text, count]) => ({ text, count })),
      cpuPercent: wallMs > 0 ? Math.round(((used.user + used.system) / (wallMs * 1000)) * 1000) / 10 : 0,
      cpuUs: used.user + used.system,
      wallMs,
      measuredMs: run.measuredMs,
      connectionsAtEnd: run.aliveAtEnd,
      ...(run.endedEarly === undefined ? {} : { endedEarly: run.endedEarly }),
      unscheduled: run.unscheduled,
      ...(this.#connectFailure === undefined ? {} : { connectFailure: this.#connectFailure }),
      ...(run.serverCpu ? { serverCpu: { ...run.serverCpu, usPerOp: perOp(run.serverCpu.cpuUs) } } : {}),
      generatorUsPerOp: perOp(used.user + used.system),
    };
  }
}
