/**
 * The open-loop plan: when each request is meant to be sent, fixed before the run starts and independent of how
 * fast the server answers. Latency is measured from these intended times, so a server that stalls is charged for
 * every request the plan wanted to send during the stall (the coordinated-omission correction, as in wrk2 -R).
 */
import { seededRandom } from '../random.js';

/** A stretch of the plan: a constant rate, or a linear ramp from `fromPerSec` to `toPerSec`. */
export interface RateStage {
  fromPerSec: number;
  toPerSec: number;
  durationMs: number;
}

export type Arrival = 'uniform' | 'poisson';

export interface SchedulePlan {
  stages: readonly RateStage[];
  /** uniform: evenly spaced; poisson: exponential gaps with the same mean rate (independent arrivals). */
  arrival: Arrival;
  /** Seeds the poisson gaps, so a run can be repeated exactly. */
  seed: number;
}

/**
 * Parses `--stages`: comma-separated `RATE@MS` (constant) or `FROM-TO@MS` (linear ramp).
 * @example parseStages('0-5000@2000,5000@10000') // ramp to 5000/s over 2 s, then 10 s at 5000/s
 */
export function parseStages(text: string): RateStage[] {
  return text.split(',').map((part) => {
    const match = /^\s*(\d+)(?:-(\d+))?@(\d+)\s*$/.exec(part);
    if (!match) throw new RangeError(`A stage is RATE@MS or FROM-TO@MS (per second, milliseconds); got '${part}'`);
    const fromPerSec = Number(match[1]);
    const toPerSec = match[2] === undefined ? fromPerSec : Number(match[2]);
    const durationMs = Number(match[3]);
    if (durationMs <= 0 || (fromPerSec === 0 && toPerSec === 0)) throw new RangeError(`A stage needs a duration and a rate above 0; got '${part}'`);
    return { fromPerSec, toPerSec, durationMs };
  });
}

/** Total length of a plan in ms. */
export function planDurationMs(plan: SchedulePlan): number {
  return plan.stages.reduce((sum, stage) => sum + stage.durationMs, 0);
}

/** Requests a plan sends in all (uniform arrivals; poisson ones vary around it). */
export function plannedCount(plan: SchedulePlan): number {
  return Math.ceil(plan.stages.reduce((sum, s) => sum + ((s.fromPerSec + s.toPerSec) / 2) * (s.durationMs / 1000), 0) - 1e-9);
}


/**
 * Walks a plan's intended send times, in ms from the start. Arrivals are drawn in "expected count" space (uniform:
 * 0, 1, 2, …; poisson: running sums of Exp(1)) and mapped through the inverse of the plan's cumulative rate, so
 * ramps and poisson combine exactly. `share` takes every `of`-th request starting at `index`: workers splitting
 * one global plan between them.
 *
 * @example
 * const schedule = new SendSchedule({ stages: [{ fromPerSec: 100, toPerSec: 100, durationMs: 1000 }], arrival: 'uniform', seed: 1 });
 * schedule.next(); // 0
 * schedule.next(); // 10
 */
export class SendSchedule {
  readonly #plan: SchedulePlan;
  readonly #random: () => number;
  readonly #share: { index: number; of: number };
  #count = 0;
  #k = 0;
  #stage = 0;
  /** Expected count and time at the start of the current stage. */
  #stageCount = 0;
  #stageStartMs = 0;

  constructor(plan: SchedulePlan, share = { index: 0, of: 1 }) {
    this.#plan = plan;
    this.#random = seededRandom(plan.seed);
    this.#share = share;
  }

  /** The next intended send time (ms from the start) of this share, or undefined when the plan is over. */
  next(): number | undefined {
    for (;;) {
      const at = this.#nextGlobal();
      if (at === undefined) return undefined;
      if ((this.#k++ % this.#share.of) === this.#share.index) return at;
    }
  }

  #nextGlobal(): number | undefined {
    // Every arrival is drawn even when it belongs to another share, so all shares see the same global plan.
    const count = this.#plan.arrival === 'uniform' ? this.#k : this.#count + -Math.log(1 - this.#random());
    if (this.#plan.arrival === 'poisson') this.#count = count;
    for (;;) {
      const stage = this.#plan.stages[this.#stage];
      if (stage === undefined) return undefined;
      const seconds = stage.durationMs / 1000;
      const a = stage.fromPerSec;
      const b = (stage.toPerSec - stage.fromPerSec) / seconds; // rate slope per second
      const inStage = a * seconds + (b * seconds * seconds) / 2;
      const want = count - this.#stageCount;
      if (want < inStage - 1e-9) {
        // Solve a·t + b·t²/2 = want for t (seconds); linear when b is 0.
        const t = Math.abs(b) < 1e-12 ? want / a : (-a + Math.sqrt(a * a + 2 * b * want)) / b;
        return this.#stageStartMs + t * 1000;
      }
      this.#stage++;
      this.#stageCount += inStage;
      this.#stageStartMs += stage.durationMs;
    }
  }
}
