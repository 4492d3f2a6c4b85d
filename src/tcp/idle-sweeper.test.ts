import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdleSweeper, type IdleMember } from './idle-sweeper.js';

describe('IdleSweeper', () => {
  it('reports a silent member after the timeout, never before, and spares one that keeps talking', async () => {
    const reported = new Map<IdleMember, number>();
    const started = performance.now();
    const sweeper = IdleSweeper.for<IdleMember>(200, (member) => reported.set(member, performance.now() - started), 'test-a');
    const silent: IdleMember = { idleTick: 0, idlePrev: undefined, idleNext: undefined };
    const chatty: IdleMember = { idleTick: 0, idlePrev: undefined, idleNext: undefined };
    sweeper.add(silent);
    sweeper.add(chatty);
    while (performance.now() - started < 400) {
      chatty.idleTick = sweeper.tick;
      await sleep(20);
    }
    const after = reported.get(silent);
    assert.ok(after !== undefined && after >= 200, `silent reported after ${after} ms`);
    assert.ok(after < 200 * 1.25 + 60, `silent reported after ${after} ms (at most a quarter late, plus timer slack)`);
    assert.equal(reported.has(chatty), false);
    assert.equal(sweeper.size, 1, 'the silent member left the list when it was reported');
    sweeper.remove(silent);
    assert.equal(sweeper.size, 1, 'removing a member already reported changes nothing');
    sweeper.remove(chatty);
    assert.equal(sweeper.size, 0);
    assert.notEqual(IdleSweeper.for<IdleMember>(200, () => {}, 'test-a'), sweeper, 'an empty sweeper is retired with its timer');
  });
});
