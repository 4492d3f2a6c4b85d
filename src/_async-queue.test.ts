import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AsyncQueue } from './_async-queue.js';

describe('AsyncQueue', () => {
  it('hands pushed items to a for-await loop in order and ends after end()', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    setImmediate(() => {
      queue.push(2);
      queue.end();
      queue.push(3);
    });
    const got: number[] = [];
    for await (const item of queue) got.push(item);
    assert.deepEqual(got, [1, 2]);
  });

  it('reports how many items remain after each take', async () => {
    const remaining: number[] = [];
    const queue = new AsyncQueue<string>({ onTake: (left) => remaining.push(left) });
    ['a', 'b', 'c'].forEach((item) => queue.push(item));
    queue.end();
    for await (const _ of queue);
    assert.deepEqual(remaining, [2, 1, 0]);
  });

  it('calls onDone once, early when the consumer breaks and not when the queue ended', async () => {
    const calls: boolean[] = [];
    const early = new AsyncQueue<number>({ onDone: (wasEarly) => calls.push(wasEarly) });
    early.push(1);
    for await (const _ of early) break;
    await early.return();
    const ended = new AsyncQueue<number>({ onDone: (wasEarly) => calls.push(wasEarly) });
    ended.end();
    for await (const _ of ended);
    assert.deepEqual(calls, [true, false]);
  });
});
