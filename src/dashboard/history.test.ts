import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateHistory } from './history.js';

test('RateHistory turns counter growth into per-second rates', () => {
  const history = new RateHistory([{ total: 'n', label: 'n/s' }, { total: 'b', label: 'B/s', axis: 1 }]);
  history.add(1000, { n: 0, b: 0 });
  history.add(1500, { n: 50, b: 1000 });
  history.add(2500, { n: 60, b: 1000 });
  const window = history.toJSON();
  assert.deepEqual(window.t, [1.5, 2.5]);
  assert.deepEqual(window.series[0], { label: 'n/s', axis: 0, values: [100, 10] });
  assert.deepEqual(window.series[1], { label: 'B/s', axis: 1, values: [2000, 0] });
});

test('RateHistory keeps only the window and never shows a negative rate', () => {
  const history = new RateHistory([{ total: 'n', label: 'n/s' }], 10_000);
  for (let s = 0; s <= 30; s++) history.add(s * 1000, { n: s === 20 ? 0 : s * 5 });
  const window = history.toJSON();
  assert.equal(window.t[0], 20);
  assert.equal(window.t.length, 11);
  assert.ok(window.series[0]!.values.every((v) => v >= 0));
});
