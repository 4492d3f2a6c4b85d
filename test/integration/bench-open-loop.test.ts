import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { BenchResult } from '../../src/bench/report.js';
import { runTcpBench } from '../../src/bench/tcp.js';
import { startCliServer } from '../helpers/processes.js';
import { assertStallCharged, Stall } from '../helpers/stall.js';

/**
 * The coordinated-omission experiment. One connection, lockstep, a fixed-rate plan of R = 200 requests/s for
 * D = 3 s (N = R·D = 600 intended send times, one every 5 ms). At about t = 1 s the server (a child process) is
 * stopped with SIGSTOP for S ≈ 1 s, then SIGCONT. S is measured between the two signals.
 *
 * What the schedule predicts:
 * - The plan does not wait: the ≈ R·S = 200 requests that fall due in the stall queue up and are answered when it
 *   ends, so request k of the stall (k = 0 … R·S) waits S − k/R: corrected latencies spread evenly over 0 … S.
 *   The number above x is R·(S − x), so the corrected p-th percentile is x_p = S − (1 − p)·D:
 *   p99 = S − 30 ms, p90 = S − 300 ms, p75 = S − 750 ms; p50 is outside the stall (400 of 600 never saw it).
 * - Uncorrected (service time from the actual write): only the one request written into the stopped server waits
 *   ≈ S; the queued ones are written after SIGCONT and answered at once. So service max ≈ S, but p90 and p99
 *   stay at a normal round trip: a closed-loop tool shows the stall only at its maximum.
 * - Counts: 600 scheduled, all sent and all answered (queue), no failures.
 * Tolerances: −80 ms (timer jitter) to +300 ms: on a loaded 2-core machine the stopped server and this process
 * may wait for a CPU after SIGCONT, and the catch-up sends the 200 queued requests one round trip apart, which
 * adds to every queued request's wait. Without the correction the p90 and p99 would be a round trip (< 50 ms),
 * hundreds of ms below S − 300 ms and S − 30 ms, so the test fails without it.
 */
const RATE = 200;
const DURATION_MS = 3000;
const STALL_AT_MS = 1000;
const STALL_MS = 1000;

async function stalledRun(t: TestContext, onBehind: 'queue' | 'drop'): Promise<{ result: BenchResult; stallMs: number }> {
  const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
  const stall = new Stall(t, child.proc.pid!, STALL_MS);
  const result = await runTcpBench({
    host: '127.0.0.1',
    port,
    connections: 1,
    greeting: true,
    timeoutMs: 5000,
    framing: 'line',
    maxReplyBytes: 65_536,
    durationMs: DURATION_MS,
    warmupMs: 0,
    payloads: ['hello'],
    lineEnd: '\n',
    checks: [],
    plan: { stages: [{ fromPerSec: RATE, toPerSec: RATE, durationMs: DURATION_MS }], arrival: 'uniform', seed: 1 },
    inflight: 1,
    onBehind,
    reconnect: false,
    maxErrorRate: 0,
    seed: 1,
    intervalMs: 50,
    onInterval: (stats) => stall.maybeStop(stats.endMs >= STALL_AT_MS),
  });
  return { result, stallMs: await stall.measured() };
}

describe('bench tcp --rate: coordinated omission', () => {
  it('charges a 1 s server stall to every request the plan meant to send in it; service time shows it only at the max', async (t) => {
    const { result, stallMs } = await stalledRun(t, 'queue');
    const c = result.counts!;
    assert.equal(c.scheduled, RATE * (DURATION_MS / 1000));
    assert.equal(c.sent, c.scheduled);
    assert.equal(c.completed, c.scheduled);
    assert.equal(result.latencyUs.count, c.completed);
    assert.deepEqual([c.dropped, c.timeouts, c.closes, c.unexpected], [0, 0, 0, 0]);
    assert.equal(result.failed, false, result.failedBecause?.join('; '));
    const D = DURATION_MS;
    assertStallCharged(result, stallMs, D);
  });

  it('--on-behind drop drops what fell due while the connection was busy, counts it and fails the run', async (t) => {
    const { result, stallMs } = await stalledRun(t, 'drop');
    const c = result.counts!;
    // The one request written into the stopped server holds the only slot until its reply: every request due
    // meanwhile is dropped. That request's service time is how long the slot was busy (≥ S; more on a loaded
    // machine, where the server waits for a CPU after SIGCONT), so dropped ≈ R × busy − 1.
    const busyMs = result.serviceTimeUs!.max / 1000;
    assert.ok(busyMs >= stallMs - 60, `the slot was busy ${busyMs} ms, the stall ${stallMs} ms`);
    // On a loaded machine a round trip outside the stall may also outlast the 5 ms between intended times and
    // drop a few more: so at least that many, and every scheduled request is either sent or dropped.
    const expectedDropped = (RATE * busyMs) / 1000 - 1;
    assert.ok(c.dropped >= expectedDropped - 15, `dropped ${c.dropped}, expected at least ≈ ${expectedDropped.toFixed(0)} (${busyMs.toFixed(0)} ms busy)`);
    assert.equal(c.sent + c.dropped, c.scheduled, 'every scheduled request was sent or dropped');
    assert.equal(c.completed, c.sent);
    assert.equal(result.failed, true);
    assert.ok(result.failedBecause!.some((line) => /dropped/.test(line)), result.failedBecause!.join('; '));
    // What was sent saw no queue: its corrected p99 stays far below the ≈ 970 ms the queue gave (only the one
    // stalled request waited S; loose, for a loaded machine).
    assert.ok(result.latencyUs.p99 < 300_000, `p99 ${result.latencyUs.p99} µs`);
  });
});
