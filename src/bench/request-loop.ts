import type { Socket } from 'node:net';
import type { Histogram } from 'hdr-histogram-js';
import { connectError, SocklabError, systemCode } from '../errors.js';
import { createTriple, IntervalMeter, recordRequest, type IntervalStats, type LatencyTriple } from './_bench-stats.js';
import { openConnection, type OpenOptions } from './_connection-driver.js';
import type { Reply, ReplyFramer } from './_reply-framing.js';
import { createRequestMaker, type ReplyCheck } from './_requests.js';
import { createLatencyHistogram } from './report.js';
import { SendSchedule, type SchedulePlan } from './schedule.js';
import { serverCpuMeter } from './server-cpu.js';
import { RunTally, type RequestRun } from './_run-tally.js';

export interface RequestBenchOptions extends OpenOptions {
  durationMs: number;
  /** Run before measuring; its requests are counted apart, not hidden. */
  warmupMs: number;
  /** Rotated request by request; templates `{seq}`, `{conn}`, `{rand:N}`. */
  payloads: readonly string[];
  /** Appended to line-framed payloads. */
  lineEnd: string;
  /** Every reply must pass all of these, or it is an unexpected reply. */
  checks: readonly ReplyCheck[];
  /** Open loop: intended send times over warm-up + duration. Without it, closed loop (send on reply). */
  plan?: SchedulePlan;
  /** Requests in flight per connection: 1 is lockstep, more is pipelining. */
  inflight: number;
  /** Open loop, when every connection is busy: queue the request (its latency keeps counting) or drop it. */
  onBehind: 'queue' | 'drop';
  /** Open a new connection when the server closes or resets one. */
  reconnect: boolean;
  /** Failures per request attempted above which the run fails (0: any failure fails it). */
  maxErrorRate: number;
  /** This worker's share of the global plan. */
  share?: { index: number; of: number };
  seed: number;
  intervalMs: number;
  onInterval?: (stats: IntervalStats) => void;
  onProgress?: (fraction: number, completed: number) => void;
  /** Corrected latencies also go here (a live view reads it). */
  histogram?: Histogram;
  /** Measured service times go here (for --hdr-log). */
  serviceHistogram?: Histogram;
  openConcurrency?: number;
  signal?: AbortSignal;
  /** Measure this server process's CPU over the run (from the first request to the end of the drain). */
  serverPid?: number;
  /**
   * Workers: called once the connections are open; resolves with the wall-clock time (ms since the epoch) at which
   * every worker starts the plan, so all of them share one clock.
   */
  waitForStart?: () => Promise<number>;
  /** Workers: each interval's histograms, before they are reset (to merge them across workers). */
  onIntervalHistograms?: (stats: IntervalStats, triple: LatencyTriple) => void;
}

interface Pending {
  intended: number;
  sent: number;
  warmup: boolean;
}

interface Conn {
  id: number;
  socket?: Socket;
  framer?: ReplyFramer;
  pending: Pending[];
  alive: boolean;
  reset: boolean;
  /** We closed it (a reply timeout, the end of the run): not the server's doing. */
  ownClose: boolean;
  /** Writes of this event-loop turn are being gathered into one (cork until the next tick). */
  corked: boolean;
}

/**
 * Request/response load over TCP, closed or open loop. Closed loop: each connection keeps `inflight` requests
 * outstanding and sends the next on each reply. Open loop: requests fall due at the plan's intended times,
 * whatever the server does; each goes to a connection with a free slot, or waits (queue) or is dropped. Latency
 * is taken from the intended time; service time from the write; the send lag is the difference.
 *
 * @example const run = await runRequestBench({ host: '127.0.0.1', port, connections: 4, inflight: 1, plan, … });
 */
export async function runRequestBench(options: RequestBenchOptions): Promise<RequestRun> {
  const tally = new RunTally(options);
  const whole = createTriple(options.histogram, options.serviceHistogram);
  const interval = new IntervalMeter();
  const timerLag = createLatencyHistogram();
  const maker = createRequestMaker({ payloads: options.payloads, framing: options.framing, lineEnd: options.lineEnd, host: options.host, seed: options.seed });
  const counts = tally.counts;
  const totalMs = options.warmupMs + options.durationMs;
  const conns: Conn[] = Array.from({ length: options.connections }, (_, id) => ({ id, pending: [], alive: false, reset: false, ownClose: false, corked: false }));
  const tokens: number[] = [];
  const backlog: { at: number; warmup: boolean }[] = [];
  let backlogHead = 0;
  let seq = 0;
  let t0 = 0;
  let started = false;
  let stopping = false;
  let alive = 0;
  let reconnecting = 0;
  const rel = (): number => performance.now() - t0;
  const share = options.share ?? { index: 0, of: 1 };
  const schedule = options.plan ? new SendSchedule(options.plan, share) : undefined;

  const send = (conn: Conn, intended: number, warmup: boolean): void => {
    // Request numbers and connection ids stay unique over all workers: worker i of n takes i, i + n, …
    const { bytes, noBody } = maker.make({ seq: seq++ * share.of + share.index, conn: conn.id * share.of + share.index });
    if (noBody) conn.framer!.expectNoBody?.();
    conn.pending.push({ intended, sent: rel(), warmup });
    const socket = conn.socket!;
    if (!conn.corked) {
      // Requests sent in one turn (a pipelined batch, the replies of one read) leave in one write: one syscall.
      conn.corked = true;
      socket.cork();
      process.nextTick(() => {
        conn.corked = false;
        socket.uncork();
      });
    }
    socket.write(bytes);
    counts.sent++;
    interval.sent++;
  };
  const takeToken = (): Conn | undefined => {
    while (tokens.length > 0) {
      const conn = conns[tokens.shift()!]!;
      if (conn.alive && conn.pending.length < options.inflight) return conn;
    }
    return undefined;
  };
  const pump = (): void => {
    while (backlogHead < backlog.length) {
      const conn = takeToken();
      if (!conn) break;
      const due = backlog[backlogHead++]!;
      send(conn, due.at, due.warmup);
    }
    if (backlogHead > 4096 && backlogHead * 2 > backlog.length) backlog.splice(0, backlogHead), (backlogHead = 0);
  };
  /** A slot on `conn` is free again. */
  const free = (conn: Conn): void => {
    if (!conn.alive || !started) return;
    if (!schedule) {
      const now = rel();
      if (!stopping && now < totalMs) {
        if (now < options.warmupMs) counts.warmupScheduled++;
        else counts.scheduled++;
        interval.scheduled++;
        send(conn, now, now < options.warmupMs);
      }
      return;
    }
    tokens.push(conn.id);
    pump();
  };

  const onReply = (conn: Conn, reply: Reply): void => {
    const pending = conn.pending.shift();
    if (!pending) {
      tally.unexpected(`(a reply to no request) ${reply.text}`);
      return;
    }
    const now = rel();
    const ok = options.checks.every((check) => check.test(reply.text));
    if (!ok) {
      tally.unexpected(reply.text);
      interval.failed++;
    }
    recordRequest(interval.triple, pending.intended, pending.sent, now);
    interval.completed++;
    if (pending.warmup) counts.warmupCompleted++;
    else {
      recordRequest(whole, pending.intended, pending.sent, now);
      counts.completed++;
      if (now >= totalMs) counts.drainCompleted++;
    }
    if (!reply.closes) free(conn);
  };

  const attach = (conn: Conn, opened: Awaited<ReturnType<typeof openConnection>>): void => {
    conn.socket = opened.socket;
    conn.framer = opened.framer;
    conn.alive = true;
    conn.reset = false;
    conn.ownClose = false;
    alive++;
    const socket = opened.socket;
    const fail = (err: unknown): void => {
      tally.protocolError(err);
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const reply of conn.framer!.push(chunk)) onReply(conn, reply);
      } catch (err) {
        fail(err);
      }
    });
    socket.on('end', () => {
      try {
        for (const reply of conn.framer!.end()) onReply(conn, reply);
      } catch (err) {
        fail(err);
      }
    });
    socket.on('error', (err) => {
      const code = systemCode(err);
      if (code === 'ECONNRESET' || code === 'EPIPE') conn.reset = true;
      else if (!stopping) counts.socketErrors++;
    });
    socket.on('close', () => {
      if (conn.socket !== socket || !conn.alive) return;
      conn.alive = false;
      alive--;
      const planned = conn.ownClose || (stopping && conn.pending.length === 0);
      if (!planned) {
        if (conn.reset) counts.resets++;
        else counts.closes++;
        counts.abandoned += conn.pending.length;
        interval.failed += conn.pending.length;
      }
      conn.pending = [];
      if (options.reconnect && !stopping) reopen(conn);
    });
    for (const early of opened.early) onReply(conn, early);
    if (started) for (let i = 0; i < options.inflight; i++) free(conn);
  };

  const reopen = (conn: Conn, delayMs = 0): void => {
    reconnecting++;
    setTimeout(() => {
      openConnection(options, conn.id).then(
        (opened) => {
          reconnecting--;
          if (stopping) return void opened.socket.destroy();
          counts.reconnects++;
          attach(conn, opened);
        },
        (err: unknown) => {
          reconnecting--;
          tally.connectFailed(err);
          if (!stopping) reopen(conn, Math.min(1000, delayMs * 2 + 50));
        },
      );
    }, delayMs);
  };

  // Open every connection before the clock starts: connecting is not part of the measured load.
  let next = 0;
  let firstError: unknown;
  await Promise.all(
    Array.from({ length: Math.min(options.connections, options.openConcurrency ?? 256) }, async () => {
      while (next < conns.length && !options.signal?.aborted) {
        const conn = conns[next++]!;
        try {
          attach(conn, await openConnection(options, conn.id));
        } catch (err) {
          firstError ??= err;
          tally.connectFailed(err);
        }
      }
    }),
  );
  if (alive === 0) {
    if (firstError instanceof SocklabError) throw firstError;
    throw connectError(options.path ?? `${options.host}:${options.port}`, firstError);
  }

  if (options.waitForStart) {
    const startAtEpochMs = await options.waitForStart();
    t0 = startAtEpochMs - performance.timeOrigin;
    const waitMs = t0 - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  } else t0 = performance.now();
  started = true;
  tally.startCpu();
  const serverMeter = options.serverPid === undefined ? undefined : serverCpuMeter(options.serverPid);
  let nextAt = schedule?.next();
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    timer = undefined;
    const now = rel();
    while (nextAt !== undefined && nextAt <= now) {
      const warmup = nextAt < options.warmupMs;
      if (warmup) counts.warmupScheduled++;
      else counts.scheduled++;
      interval.scheduled++;
      if (!warmup) timerLag.recordValue(Math.max(1, Math.round((now - nextAt) * 1000)));
      if (options.onBehind === 'queue') backlog.push({ at: nextAt, warmup });
      else {
        const conn = takeToken();
        if (conn) send(conn, nextAt, warmup);
        else {
          counts.dropped++;
          interval.failed++;
        }
      }
      nextAt = schedule!.next();
    }
    pump();
    if (nextAt !== undefined && !stopping) timer = setTimeout(tick, Math.max(0, nextAt - rel()));
  };
  for (const conn of conns) for (let i = 0; i < options.inflight; i++) if (conn.alive) free(conn);
  if (schedule) tick();

  const intervals: IntervalStats[] = [];
  const tickMs = Math.min(100, options.intervalMs);
  let lastCut = 0;
  const outstanding = (): number => conns.reduce((sum, conn) => sum + conn.pending.length, 0) + backlog.length - backlogHead;
  const cut = (now: number, final = false): void => {
    // The last cut comes after the drain: a sliver of an interval with nothing in it would plot as a drop to 0.
    if (final && now - lastCut < options.intervalMs / 10 && interval.completed === 0 && interval.sent === 0) return;
    const stats = interval.cut(now, now > options.warmupMs, options.onIntervalHistograms);
    intervals.push(stats);
    options.onInterval?.(stats);
    lastCut = now;
  };
  let endedEarly: string | undefined;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, tickMs));
    const now = rel();
    for (const conn of conns) {
      const oldest = conn.pending[0];
      if (conn.alive && oldest !== undefined && now - oldest.sent > options.timeoutMs) {
        // Replies match requests in order, so past a lost reply the connection cannot be trusted: replace it.
        counts.timeouts += conn.pending.length;
        interval.failed += conn.pending.length;
        conn.pending = [];
        conn.ownClose = true;
        conn.socket!.destroy();
      }
    }
    if (now - lastCut >= options.intervalMs) cut(now);
    options.onProgress?.(Math.min(1, now / totalMs), counts.completed);
    if (now >= totalMs) stopping = true;
    if (alive === 0 && reconnecting === 0 && !options.reconnect) endedEarly = 'every connection was closed by the server';
    if (options.signal?.aborted) endedEarly = 'aborted';
    if (endedEarly !== undefined || (stopping && outstanding() === 0) || now >= totalMs + options.timeoutMs) break;
  }
  stopping = true;
  if (timer) clearTimeout(timer);
  const serverCpu = serverMeter?.stop();
  const unanswered = outstanding();
  counts.unanswered = unanswered;
  cut(rel(), true);
  for (const conn of conns) {
    conn.ownClose = true;
    conn.socket?.destroy();
  }
  return tally.finish({ whole, timerLag, intervals, measuredMs: options.durationMs, aliveAtEnd: alive, ...(endedEarly === undefined ? {} : { endedEarly }), unscheduled: schedule ? countRest(nextAt, schedule) : 0, ...(serverCpu ? { serverCpu } : {}) });
}

/** Requests the plan still held when the run ended early. */
function countRest(nextAt: number | undefined, schedule: SendSchedule): number {
  let rest = 0;
  for (let at = nextAt; at !== undefined && rest < 10_000_000; at = schedule.next()) rest++;
  return rest;
}
