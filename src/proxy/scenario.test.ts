import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseScenario } from './scenario.js';

describe('parseScenario', () => {
  it('reads the timeline of the issue, steps split by ; and newlines, sorted by time', () => {
    const steps = parseScenario('at 10s add reset_peer toxicity 0.5\nat 5s add latency 200ms downstream # slow replies\n; at 15s heal');
    assert.deepEqual(
      steps.map((step) => [step.atMs, step.action]),
      [
        [5000, 'add'],
        [10_000, 'add'],
        [15_000, 'heal'],
      ],
    );
    assert.deepEqual(steps[0], { atMs: 5000, text: 'add latency 200ms downstream', action: 'add', toxic: { type: 'latency', attributes: { latency: 200 }, stream: 'downstream' } });
    assert.deepEqual(steps[1], { atMs: 10_000, text: 'add reset_peer toxicity 0.5', action: 'add', toxic: { type: 'reset_peer', attributes: {}, toxicity: 0.5 } });
  });

  it('reads key=value attributes, names, updates and removals', () => {
    const steps = parseScenario('at 1.5s add bandwidth rate=0 upstream name=cut\nat 2s update cut rate=100\nat 2500ms remove cut\nat 3s disable; at 4s enable');
    assert.deepEqual(steps[0], { atMs: 1500, text: 'add bandwidth rate=0 upstream name=cut', action: 'add', toxic: { type: 'bandwidth', attributes: { rate: 0 }, stream: 'upstream', name: 'cut' } });
    assert.deepEqual(steps[1], { atMs: 2000, text: 'update cut rate=100', action: 'update', name: 'cut', change: { attributes: { rate: 100 } } });
    assert.deepEqual(
      steps.slice(2).map((step) => step.action),
      ['remove', 'disable', 'enable'],
    );
  });

  it('reads `on NAME`: the step is for a named proxy', () => {
    const [step] = parseScenario('at 2s on redis add timeout downstream');
    assert.deepEqual(step, { atMs: 2000, text: 'on redis add timeout downstream', action: 'add', toxic: { type: 'timeout', attributes: {}, stream: 'downstream' }, proxy: 'redis' });
    assert.throws(() => parseScenario('at 2s on redis'), (err: { code?: string }) => err.code === 'SL_ERR_TOXIC_INVALID');
  });

  it('rejects a bad step with SL_ERR_TOXIC_INVALID naming the line', () => {
    for (const bad of ['at 5s add latncy 200ms', 'at soon heal', 'add latency 1ms', 'at 1s explode', 'at 1s add slicer', 'at 1s add latency toxicity 3', 'at 1s heal now']) {
      assert.throws(() => parseScenario(`# first\n${bad}`), (err: { code?: string; message: string }) => err.code === 'SL_ERR_TOXIC_INVALID' && err.message.startsWith('Scenario line 2:'), bad);
    }
  });
});
