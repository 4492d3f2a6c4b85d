/**
 * The coordinated-omission experiments' server stall: SIGSTOP a child server once the run passes a point, SIGCONT
 * it a known time later, and measure that time between the two signals.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { BenchResult } from '../../src/bench/report.js';

export class Stall {
  #stoppedAt = 0;
  #stallMs = 0;
  #resumed: Promise<void> | undefined;

  constructor(
    t: TestContext,
    readonly pid: number,
    readonly stallMs: number,
  ) {
    t.after(() => {
      if (this.#stoppedAt !== 0 && this.#stallMs === 0) process.kill(pid, 'SIGCONT');
    });
  }

  /** Stops the server the first time it is called with `due` true; resumes it `stallMs` later. */
  maybeStop(due: boolean): void {
    if (this.#stoppedAt !== 0 || !due) return;
    process.kill(this.pid, 'SIGSTOP');
    this.#stoppedAt = performance.now();
    this.#resumed = new Promise((resolve) =>
      setTimeout(() => {
        process.kill(this.pid, 'SIGCONT');
        this.#stallMs = performance.now() - this.#stoppedAt;
        resolve();
      }, this.stallMs),
    );
  }

  /** Waits for the SIGCONT and returns S, the stall as measured (timers may fire a hair early against performance.now()). */
  async measured(): Promise<number> {
    await this.#resumed;
    assert.ok(this.#stoppedAt > 0 && this.#stallMs >= this.stallMs - 5, `the server was stopped for ${this.#stallMs} ms`);
    return this.#stallMs;
  }
}

/** `actualUs` within −80 ms (timer jitter) / +300 ms (a loaded machine after SIGCONT) of `expectedMs`. */
export function near(actualUs: number, expectedMs: number, what: string): void {
  const ms = actualUs / 1000;
  assert.ok(ms >= expectedMs - 80 && ms <= expectedMs + 300, `${what}: ${ms.toFixed(1)} ms, expected ${expectedMs.toFixed(0)} ms (−80/+300)`);
}

/**
 * The figures the schedule predicts for a stall of S ms in a D ms plan with one request in flight (the derivation
 * is in bench-open-loop.test.ts): corrected p99 = S − 0.01·D, p90 = S − 0.1·D, max = S, p50 outside the stall;
 * the uncorrected service time shows it only at its max; the held-back requests' wait is send lag.
 */
export function assertStallCharged(result: BenchResult, stallMs: number, D: number): void {
  near(result.latencyUs.p99, stallMs - 0.01 * D, 'corrected p99 (S − 0.01·D)');
  near(result.latencyUs.p90, stallMs - 0.1 * D, 'corrected p90 (S − 0.1·D)');
  near(result.latencyUs.max, stallMs, 'corrected max (S)');
  assert.ok(result.latencyUs.p50 < 50_000, `corrected p50 ${result.latencyUs.p50} µs: outside the stall`);
  const service = result.serviceTimeUs!;
  assert.ok(service.p90 < 50_000 && service.p99 < 50_000, `uncorrected p90 ${service.p90} µs, p99 ${service.p99} µs hide the stall`);
  near(service.max, stallMs, 'uncorrected max (the one request in the stopped server)');
  // The held-back requests waited for the connection or window, not for the server: their wait is send lag.
  near(result.sendLagUs!.p90, stallMs - 0.1 * D, 'send lag p90');
}
