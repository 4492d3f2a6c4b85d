import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryState } from './shared-state.js';

describe('MemoryState', () => {
  it('allocates consecutive ranges in call order, never the same value twice', async () => {
    const state = new MemoryState();
    const firsts = await Promise.all([state.allocate(3), state.allocate(1), state.allocate(5)]);
    assert.deepEqual(firsts, [1, 4, 5]);
    assert.equal(await state.allocate(1), 10);
  });

  it('delivers each publish once to every subscriber of the room, in order, on a later turn', async () => {
    const state = new MemoryState();
    const got: string[] = [];
    const other: string[] = [];
    const unsubscribe = state.subscribe('lobby', (payload) => got.push(payload));
    state.subscribe('elsewhere', (payload) => other.push(payload));
    assert.equal(state.publish('lobby', 'a'), true);
    state.publish('lobby', 'b');
    assert.deepEqual(got, [], 'not re-entrant: delivered after the publisher returns');
    await Promise.resolve();
    assert.deepEqual(got, ['a', 'b']);
    assert.deepEqual(other, []);
    unsubscribe();
    state.publish('lobby', 'c');
    await Promise.resolve();
    assert.deepEqual(got, ['a', 'b']);
  });

  it('after close, allocate rejects with SL_ERR_BACKEND_UNAVAILABLE and publish is refused', async () => {
    const state = new MemoryState();
    const seen: string[] = [];
    state.on('status', (status) => seen.push(status));
    await state.close();
    await state.close();
    await assert.rejects(state.allocate(1), { code: 'SL_ERR_BACKEND_UNAVAILABLE' });
    assert.equal(state.publish('lobby', 'x'), false);
    assert.deepEqual(seen, ['closed']);
  });
});
