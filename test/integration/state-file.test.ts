// udp-serve --state: the counter survives restarts, kill -9 included, and never goes back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { CounterLoad, decreases, duplicates } from '../helpers/counter-load.js';
import { runCli, startCliServer, stopChecked } from '../helpers/processes.js';
import { tally } from '../helpers/tally.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function startWithState(t: TestContext, path: string, extra: string[] = []): ReturnType<typeof startCliServer> {
  return startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '0', '--rate-limit', 'inf', '--state', path, '--state-block-size', '100', ...extra]);
}

describe('udp-serve --state', () => {
  it('after kill -9 mid-run and after SIGTERM, a restarted server never hands out a value at or below one it gave before', async (t) => {
    const path = join(tempDir(t), 'counter.state');
    const runs: number[][] = [];
    for (const stop of ['SIGKILL', 'SIGTERM', 'SIGKILL'] as const) {
      const { child, port } = await startWithState(t, path);
      const load = await CounterLoad.start(t, port, { window: 100 });
      await load.until(2000, 15_000);
      // Killed while gets are still pouring in, not between two of them.
      if (stop === 'SIGKILL') {
        child.proc.kill('SIGKILL');
        await child.exited;
      } else {
        await stopChecked(child);
      }
      load.stop();
      assert.ok(load.values.length >= 2000, `${load.values.length} values`);
      assert.equal(decreases(load.values), 0);
      runs.push(load.values);
    }
    for (let i = 1; i < runs.length; i++) {
      const before = Math.max(...runs.slice(0, i).flat());
      assert.ok(Math.min(...runs[i]!) > before, `run ${i} starts at ${Math.min(...runs[i]!)}, at or below ${before}`);
    }
    const all = runs.flat();
    assert.equal(duplicates(all), 0);
    tally({ fault: 'kill -9 of a --state counter', valuesChecked: all.length, duplicatedValues: duplicates(all) });
  });

  it('with --workers 2, the primary keeps the file: values stay unique and above the last run', async (t) => {
    const path = join(tempDir(t), 'counter.state');
    const first = await startWithState(t, path, ['--workers', '2']);
    const a = await CounterLoad.start(t, first.port, { window: 50, limit: 1000 });
    await a.until(1000, 15_000);
    a.stop();
    await stopChecked(first.child);
    const second = await startWithState(t, path, ['--workers', '2']);
    const loads = await Promise.all([0, 1].map(() => CounterLoad.start(t, second.port, { window: 50, limit: 1000 })));
    await Promise.all(loads.map((load) => load.until(1000, 15_000)));
    for (const load of loads) load.stop();
    const { stdout } = await stopChecked(second.child);
    assert.match(stdout, /stopped: \d+ gets answered/);
    const later = loads.flatMap((load) => load.values);
    assert.ok(Math.min(...later) > Math.max(...a.values));
    assert.equal(duplicates([...a.values, ...later]), 0);
  });

  it('a corrupt, unwritable or already used state file is a clear error at start (exit 1), never a silent reset', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'corrupt'), 'socklab-counter 1\nhigh-water 500\nsha256 ' + '0'.repeat(64) + '\n');
    const corrupt = await runCli(t, ['udp-serve', '--port', '0', '--state', join(dir, 'corrupt')]);
    assert.equal(corrupt.code, 1);
    assert.match(corrupt.stderr, /corrupt \(checksum mismatch\).*\[SL_ERR_STATE_CORRUPT\]/);
    const unwritable = await runCli(t, ['udp-serve', '--port', '0', '--state', join(dir, 'no-such-dir', 'counter')]);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /Cannot write state file .*ENOENT \[SL_ERR_STATE_IO\]/);
    const { child } = await startWithState(t, join(dir, 'shared'));
    const second = await runCli(t, ['udp-serve', '--port', '0', '--state', join(dir, 'shared')]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`in use by process ${child.proc.pid}.*\\[SL_ERR_STATE_IO\\]`));
    await stopChecked(child);
    const workers = await runCli(t, ['udp-serve', '--port', '0', '--workers', '2', '--state', join(dir, 'corrupt')]);
    assert.equal(workers.code, 1);
    assert.match(workers.stderr, /SL_ERR_STATE_CORRUPT/);
  });
});
