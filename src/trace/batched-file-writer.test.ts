import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BatchedFileWriter } from './batched-file-writer.js';

function tempFile(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'session.log');
}

describe('BatchedFileWriter', () => {
  it('writes every entry in order, whatever turn it came in', async (t) => {
    const path = tempFile(t);
    const log = new BatchedFileWriter(path);
    const expected: string[] = [];
    for (let turn = 0; turn < 5; turn++) {
      for (let i = 0; i < 100; i++) {
        const line = `turn ${turn} entry ${i}\n`;
        expected.push(line);
        assert.equal(log.write(line), true);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await log.close();
    assert.equal(readFileSync(path, 'utf8'), expected.join(''));
    assert.equal(log.dropped, 0);
  });

  it('drops and counts entries past maxBufferedBytes instead of growing', async (t) => {
    const path = tempFile(t);
    const log = new BatchedFileWriter(path, { maxBufferedBytes: 100 });
    let accepted = '';
    for (let i = 0; i < 50; i++) {
      const line = `line ${String(i).padStart(3, '0')}\n`; // 9 bytes
      if (log.write(line)) accepted += line;
    }
    assert.equal(accepted.length, 99);
    assert.equal(log.dropped, 39);
    await log.close();
    assert.equal(readFileSync(path, 'utf8'), accepted);
    assert.equal(log.write('late\n'), false, 'nothing is accepted after close');
  });

  it('fails at construction for a path it cannot open', () => {
    assert.throws(() => new BatchedFileWriter('/nonexistent-dir/x.log'), /ENOENT/);
  });
});
