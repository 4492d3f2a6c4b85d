import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { formatStateFile, openStateFile, parseStateFile } from './state-file.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('state file', () => {
  it('reads back exactly the high-water mark it wrote', () => {
    for (const value of [0, 1, 999, 2 ** 40]) assert.equal(parseStateFile('f', formatStateFile(value)), value);
  });

  it('rejects a flipped digit, a truncated file and a foreign file as corrupt', () => {
    const good = formatStateFile(12_000);
    for (const bad of [good.replace('12000', '12001'), good.slice(0, -10), '', 'hello\n', good + 'x']) {
      assert.throws(() => parseStateFile('f', bad), { code: 'SL_ERR_STATE_CORRUPT' });
    }
  });

  it('hands out increasing values in call order, one fsync per block, and a reopen starts above the mark', async (t) => {
    const path = join(tempDir(t), 'counter');
    const counter = await openStateFile(path, { blockSize: 10 });
    const firsts = await Promise.all([counter.allocate(4), counter.allocate(4), counter.allocate(4), counter.allocate(25), counter.allocate(1)]);
    assert.deepEqual(firsts, [1, 5, 9, 13, 38]);
    assert.ok(counter.highWater >= 38, 'every value handed out is under the mark on disk');
    assert.equal(parseStateFile(path, readFileSync(path, 'latin1')), counter.highWater);
    const mark = counter.highWater;
    await counter.close();
    const reopened = await openStateFile(path, { blockSize: 10 });
    assert.equal(await reopened.allocate(1), mark + 1);
  });

  it('a corrupt file is an error, never a reset to 0; so is a path that cannot be written', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'bad'), 'socklab-counter 1\nhigh-water 5\nsha256 00\n');
    await assert.rejects(openStateFile(join(dir, 'bad')), { code: 'SL_ERR_STATE_CORRUPT' });
    writeFileSync(join(dir, 'plain-file'), '');
    await assert.rejects(openStateFile(join(dir, 'plain-file', 'counter')), { code: 'SL_ERR_STATE_IO' });
  });
});

describe('state file lock', () => {
  it('one server per state file: a second open fails while the first holds it, and works once it is closed', async (t) => {
    const path = join(tempDir(t), 'counter');
    const first = await openStateFile(path);
    await assert.rejects(openStateFile(path), (err: NodeJS.ErrnoException) => err.code === 'SL_ERR_STATE_IO' && /in use by process \d+/.test(err.message));
    await first.close();
    const second = await openStateFile(path);
    assert.ok((await second.allocate(1)) > first.highWater);
    await second.close();
  });

  it('a holder keeps the state file even when its .lock file is removed, as a racing takeover of a stale lock would', async (t) => {
    const path = join(tempDir(t), 'counter');
    const first = await openStateFile(path);
    // What a second server does after reading a dead PID from a stale lock a moment before the first re-created it.
    unlinkSync(`${path}.lock`);
    await assert.rejects(openStateFile(path), (err: NodeJS.ErrnoException) => err.code === 'SL_ERR_STATE_IO' && /in use by/.test(err.message));
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => openStateFile(path)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 0, 'nobody else opens it while it is held');
    await first.close();
    const second = await openStateFile(path);
    assert.ok((await second.allocate(1)) > first.highWater);
    await second.close();
  });

  it('takes over a lock left by a process that no longer runs (kill -9)', async (t) => {
    const path = join(tempDir(t), 'counter');
    // PIDs are below 2^22 on Linux: this one cannot be running.
    writeFileSync(`${path}.lock`, '4194305\n');
    const counter = await openStateFile(path);
    assert.equal(await counter.allocate(1), 1);
    await counter.close();
  });
});
