import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStages, plannedCount, SendSchedule, type SchedulePlan } from './schedule.js';

function all(schedule: SendSchedule): number[] {
  const times: number[] = [];
  for (let at = schedule.next(); at !== undefined; at = schedule.next()) times.push(at);
  return times;
}

const steady = (ratePerSec: number, durationMs: number, arrival: SchedulePlan['arrival'] = 'uniform', seed = 1): SchedulePlan => ({
  stages: [{ fromPerSec: ratePerSec, toPerSec: ratePerSec, durationMs }],
  arrival,
  seed,
});

describe('SendSchedule', () => {
  it('spaces uniform arrivals 1/R apart, from 0, R·D of them', () => {
    const times = all(new SendSchedule(steady(200, 3000)));
    assert.equal(times.length, 600);
    assert.equal(times[0], 0);
    assert.ok(Math.abs(times[1]! - 5) < 1e-9 && Math.abs(times[599]! - 2995) < 1e-9);
    assert.equal(plannedCount(steady(200, 3000)), 600);
  });

  it('draws poisson arrivals with the mean rate, the same for the same seed and different for another', () => {
    const times = all(new SendSchedule(steady(10_000, 2000, 'poisson', 7)));
    // 20,000 expected; a poisson count's standard deviation is √20000 ≈ 141, so ±5σ is 700.
    assert.ok(Math.abs(times.length - 20_000) < 700, `${times.length} arrivals`);
    assert.ok(times.every((at, i) => i === 0 || at >= times[i - 1]!), 'in order');
    const gaps = times.slice(1).map((at, i) => at - times[i]!);
    const cv = Math.sqrt(gaps.reduce((s, g) => s + (g - 0.1) ** 2, 0) / gaps.length) / 0.1;
    assert.ok(cv > 0.9 && cv < 1.1, `exponential gaps have a coefficient of variation of 1; got ${cv.toFixed(3)}`);
    assert.deepEqual(all(new SendSchedule(steady(10_000, 200, 'poisson', 7))), times.filter((at) => at < 200));
    assert.notDeepEqual(all(new SendSchedule(steady(10_000, 200, 'poisson', 8))).slice(0, 5), times.slice(0, 5));
  });

  it('ramps linearly: a 0 → 1000/s ramp over 2 s sends 1000, a quarter of them in the first second', () => {
    const plan: SchedulePlan = { stages: parseStages('0-1000@2000,1000@1000'), arrival: 'uniform', seed: 1 };
    const times = all(new SendSchedule(plan));
    assert.equal(times.length, 1000 + 1000);
    assert.equal(times.filter((at) => at < 1000).length, 250);
    assert.equal(times.filter((at) => at >= 2000).length, 1000);
  });

  it('splits one global plan between shares with nothing lost or repeated', () => {
    const plan = steady(1000, 1000, 'poisson', 3);
    const whole = all(new SendSchedule(plan));
    const shares = [0, 1, 2].map((index) => all(new SendSchedule(plan, { index, of: 3 })));
    assert.deepEqual(shares.flat().sort((a, b) => a - b), whole);
  });

  it('rejects a stage that is not RATE@MS or FROM-TO@MS', () => {
    assert.throws(() => parseStages('1000'), RangeError);
    assert.throws(() => parseStages('0@1000'), RangeError);
    assert.deepEqual(parseStages('5-10@100'), [{ fromPerSec: 5, toPerSec: 10, durationMs: 100 }]);
  });
});
