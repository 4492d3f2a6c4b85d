import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LogWriter } from './log-writer.js';

/** A destination that records each write and acknowledges it only when `release()` is called. */
function slowSink(highWaterMark: number): { sink: Writable; writes: string[]; release: () => void } {
  const writes: string[] = [];
  const pending: (() => void)[] = [];
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString());
      pending.push(() => callback());
    },
  });
  return { sink, writes, release: () => pending.splice(0).forEach((done) => done()) };
}

describe('LogWriter', () => {
  it('writes the lines of one event-loop turn in one write (flushDelayMs 0)', async () => {
    const { sink, writes, release } = slowSink(1 << 20);
    const log = new LogWriter(sink, { flushDelayMs: 0 });
    for (let i = 0; i < 500; i++) log.line(`line ${i}`);
    assert.equal(writes.length, 0, 'nothing is written before the turn ends');
    await nextTurn();
    release();
    assert.equal(writes.length, 1);
    assert.equal(writes[0]!.split('\n').length, 501);
    assert.ok(writes[0]!.startsWith('line 0\nline 1\n') && writes[0]!.endsWith('line 499\n'));
    log.line('next turn');
    await log.close();
    release();
    assert.deepEqual(writes.slice(1), ['next turn\n']);
  });

  it('holds at most maxBufferedLines while the output has not drained, then says how many it dropped', async () => {
    const { sink, writes, release } = slowSink(1);
    const log = new LogWriter(sink, { maxBufferedLines: 100, flushDelayMs: 0 });
    log.line('first');
    await nextTurn(); // written; the sink is now above its high-water mark and has not drained
    for (let i = 0; i < 1_000; i++) log.line(`flood ${i}`);
    await nextTurn();
    assert.equal(writes.length, 1, 'nothing more is written before drain');
    assert.equal(log.dropped, 900);
    release(); // drain: the 100 kept lines and the note go out together
    await nextTurn();
    assert.equal(writes.length, 2);
    const lines = writes[1]!.trimEnd().split('\n');
    assert.equal(lines.length, 101);
    assert.equal(lines[0], 'flood 0');
    assert.equal(lines[99], 'flood 99');
    assert.match(lines[100]!, /^… 900 log lines dropped/);
    release();
    await log.close();
  });

  it('gathers the lines of several turns for flushDelayMs into one write', async () => {
    const { sink, writes, release } = slowSink(1 << 20);
    const log = new LogWriter(sink, { flushDelayMs: 200 });
    const started = performance.now();
    for (let turn = 0; turn < 5; turn++) {
      log.line(`turn ${turn}`);
      await nextTurn();
    }
    assert.equal(writes.length, 0, 'nothing is written before the delay');
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    assert.equal(writes.length, 1);
    assert.equal(writes[0], 'turn 0\nturn 1\nturn 2\nturn 3\nturn 4\n');
    assert.ok(performance.now() - started >= 200);
    log.line('at close');
    await log.close();
    release();
    assert.deepEqual(writes.slice(1), ['at close\n'], 'close() writes at once, without waiting for the delay');
  });

  it('drops by bytes too, and rejects a limit below 1', () => {
    const { sink } = slowSink(1);
    const log = new LogWriter(sink, { maxBufferedBytes: 10 });
    log.line('12345');
    log.line('123456789');
    assert.equal(log.dropped, 1);
    assert.throws(() => new LogWriter(sink, { maxBufferedLines: 0 }), RangeError);
  });
});
