import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { BenchResult } from '../../src/bench/report.js';
import { runUdpBench } from '../../src/bench/udp.js';
import { startCliServer } from '../helpers/processes.js';
import { assertStallCharged, near, Stall } from '../helpers/stall.js';

/**
 * The coordinated-omission experiment for `bench udp`, as bench-open-loop.test.ts runs it for `bench tcp`. A
 * fixed-rate plan of R = 50 requests/s for D = 4 s (N = R·D = 200 intended send times, one every 20 ms) against
 * `socklab udp-serve` (a child process), with at most one request awaiting its reply (`maxOutstanding: 1`, the
 * lockstep of one TCP connection). At about t = 1 s the server is stopped with SIGSTOP for S ≈ 1 s, then SIGCONT;
 * S is measured between the two signals. The timeout (5 s) is longer than the stall, so nothing is lost.
 *
 * What the schedule predicts:
 * - The plan does not wait: the ≈ R·S = 50 requests that fall due in the stall wait for the window and go out
 *   when it ends, so request k of the stall waits S − k/R: corrected latencies spread evenly over 0 … S, and the
 *   corrected p-th percentile is x_p = S − (1 − p)·D: p99 = S − 40 ms, p90 = S − 400 ms; p50 is outside the stall.
 *   The held-back requests then go out one round trip r apart (the window is 1), so request k also waits k·r
 *   more: the p90 one (k = 0.1·N = 20) about 20·r, 30 ms at r = 1.5 ms, 100 ms on a loaded machine at 5 ms; R is
 *   low enough (one per 20 ms) for the queue to drain fast even then, so p50 stays a round trip.
 * - Uncorrected (service time from the actual send): only the one request sent into the stopped server waits ≈ S
 *   (its datagram waits in the server's socket buffer); the held-back ones are sent after SIGCONT and answered at
 *   once. So service max ≈ S, p90 and p99 a round trip.
 * - Their wait for the window is send lag: its p90 ≈ S − 400 ms too.
 * - Counts: 200 scheduled, sent and answered, none lost, late or unsent.
 * Tolerances as for TCP: −80 ms (timer jitter) to +300 ms (a loaded 2-core machine after SIGCONT, and the
 * k·r above). Without the correction p90 and p99 would be a round trip (< 50 ms),
 * hundreds of ms below S − 300 ms and S − 30 ms, so the test fails without it.
 */
const RATE = 50;
const DURATION_MS = 4000;
const STALL_AT_MS = 1000;
const STALL_MS = 1000;

async function stalledRun(t: TestContext, maxOutstanding: number): Promise<{ result: BenchResult; stallMs: number }> {
  const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '0']);
  const stall = new Stall(t, child.proc.pid!, STALL_MS);
  const result = await runUdpBench({
    host: '127.0.0.1',
    port,
    sockets: 1,
    ratePerSec: RATE,
    maxOutstanding,
    timeoutMs: 5000,
    durationMs: DURATION_MS,
    warmupMs: 0,
    payload: 'get',
    onProgress: (fraction) => stall.maybeStop(fraction * DURATION_MS >= STALL_AT_MS),
  });
  return { result, stallMs: await stall.measured() };
}

describe('bench udp: coordinated omission', () => {
  it('charges a 1 s server stall to every request the plan meant to send in it; service time shows it only at the max', async (t) => {
    const { result, stallMs } = await stalledRun(t, 1);
    t.diagnostic(`S ${stallMs.toFixed(0)} ms; corrected p50/p90/p99/max ${[result.latencyUs.p50, result.latencyUs.p90, result.latencyUs.p99, result.latencyUs.max].map((us) => (us / 1000).toFixed(1)).join('/')} ms; service p90/p99/max ${[result.serviceTimeUs!.p90, result.serviceTimeUs!.p99, result.serviceTimeUs!.max].map((us) => (us / 1000).toFixed(1)).join('/')} ms`);
    const D = DURATION_MS;
    assert.equal(result.loop, 'open');
    assert.deepEqual(
      { scheduled: result.extra.scheduled, sent: result.extra.sent, completed: result.completed, lost: result.lost, late: result.extra.late, unsent: result.extra.unsent },
      { scheduled: RATE * (D / 1000), sent: RATE * (D / 1000), completed: RATE * (D / 1000), lost: 0, late: 0, unsent: 0 },
    );
    assert.equal(result.latencyUs.count, result.completed);
    assertStallCharged(result, stallMs, D);
  });

  it('with a wide window the datagrams of the stall are sent on time and wait in the server: service time shows the stall too', async (t) => {
    // 10,000 outstanding allowed: the 50 requests of the stall go out at their intended times (send lag ≈ 0) and
    // queue in the stopped server's socket buffer, so corrected and uncorrected agree: p90 ≈ S − 0.1·D both.
    const { result, stallMs } = await stalledRun(t, 10_000);
    assert.equal(result.completed, RATE * (DURATION_MS / 1000));
    assert.equal(result.lost, 0);
    near(result.latencyUs.p90, stallMs - 0.1 * DURATION_MS, 'corrected p90');
    near(result.serviceTimeUs!.p90, stallMs - 0.1 * DURATION_MS, 'uncorrected p90');
    // Held back, the p90 send lag would be ≈ S − 400 ms as in the test above; only the generator's own lateness
    // remains (a loaded machine descheduling this process shows in the top percent, so p90 is the check).
    assert.ok(result.sendLagUs!.p90 < 50_000, `send lag p90 ${result.sendLagUs!.p90} µs: nothing held back`);
  });
});
