import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryState } from '../../state/shared-state.js';
import { RoomRelay } from './relay.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('RoomRelay', () => {
  it("delivers other instances' messages once each, in order, and drops its own echo", async () => {
    const state = new MemoryState();
    const got: Record<string, string[]> = { a: [], b: [] };
    const a = new RoomRelay(state, 'chat:lobby', (data) => got['a']!.push(data.toString()));
    const b = new RoomRelay(state, 'chat:lobby', (data) => got['b']!.push(data.toString()));
    for (const text of ['1', '2', '3']) a.publish(Buffer.from(text));
    b.publish(Buffer.from([0x00, 0xff]));
    await tick();
    assert.deepEqual(got['b'], ['1', '2', '3']);
    assert.deepEqual(got['a'], [Buffer.from([0x00, 0xff]).toString()]);
    assert.equal(a.stats.published, 3);
  });

  it('drops a replayed or out-of-date copy and anything that is not an envelope', async () => {
    const state = new MemoryState();
    const got: string[] = [];
    const relay = new RoomRelay(state, 'room', (data) => got.push(data.toString()));
    const envelope = (s: number, text: string): string => JSON.stringify({ i: 'other', s, d: Buffer.from(text).toString('base64') });
    for (const payload of [envelope(1, 'one'), envelope(2, 'two'), envelope(2, 'two again'), envelope(1, 'old'), 'garbage', '{"i":1}', envelope(3, 'three')]) {
      state.publish('room', payload);
    }
    await tick();
    assert.deepEqual(got, ['one', 'two', 'three']);
    assert.equal(relay.stats.duplicates, 2);
    assert.equal(relay.stats.malformed, 2);
  });

  it('publish returns false and counts it when the backend is down', async () => {
    const state = new MemoryState();
    const relay = new RoomRelay(state, 'room', () => {});
    await state.close();
    assert.equal(relay.publish(Buffer.from('lost')), false);
    assert.equal(relay.stats.unpublished, 1);
  });
});
