import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BenchResult } from '../../src/bench/report.js';
import { benchSummary } from '../helpers/json-lines.js';
import { runCli, startCliServer } from '../helpers/processes.js';

async function benchJson(t: Parameters<typeof runCli>[0], args: string[]): Promise<BenchResult> {
  const { code, stdout, stderr } = await runCli(t, ['bench', ...args, '--json']);
  assert.equal(code, 0, stderr);
  return benchSummary(stdout);
}

describe('socklab bench', () => {
  it('tcp mode measures request/response against socklab serve, with latency percentiles', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    const result = await benchJson(t, ['tcp', '127.0.0.1', String(port), '-c', '4', '-d', '300', '--warmup-ms', '100']);
    assert.equal(result.mode, 'tcp');
    assert.equal(result.concurrency, 4);
    assert.ok(result.completed > 0 && result.perSec > 0);
    assert.equal(result.errors + result.resets, 0);
    assert.ok(result.latencyUs.p50 > 0 && result.latencyUs.p50 <= result.latencyUs.p99 && result.latencyUs.p99 <= result.latencyUs.max);
    assert.equal(result.latencyUs.count, result.completed);
  });

  it('hold mode opens, holds and then finds every connection answered', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    const result = await benchJson(t, ['hold', '127.0.0.1', String(port), '-c', '50', '-d', '200']);
    assert.deepEqual([result.extra.opened, result.extra.answered, result.lost], [50, 50, 0]);
  });

  it('connect mode counts whole cycles', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    const result = await benchJson(t, ['connect', '127.0.0.1', String(port), '-c', '2', '-d', '300', '--warmup-ms', '100']);
    assert.ok(result.completed > 0);
    assert.equal(result.errors, 0);
  });

  it('udp mode loses nothing against socklab udp-serve and measures the delay', async (t) => {
    const { port } = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '50']);
    const result = await benchJson(t, ['udp', '127.0.0.1', String(port), '--rate', '500', '-d', '400', '--warmup-ms', '100', '--timeout-ms', '1000']);
    assert.ok(result.completed > 100);
    assert.equal(result.lost, 0);
    assert.ok(result.latencyUs.p50 >= 49_000, `p50 ${result.latencyUs.p50} µs`);
  });

  it('udp mode counts replies that never come as lost', async (t) => {
    const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet']);
    await child.stop();
    const { code, stdout } = await runCli(t, ['bench', 'udp', '127.0.0.1', String(port), '--rate', '200', '-d', '200', '--warmup-ms', '0', '--timeout-ms', '100', '--json']);
    assert.equal(code, 1);
    const result = benchSummary(stdout);
    assert.ok(result.lost > 0 && result.completed === 0, JSON.stringify(result));
  });

  it('refuses a target that is not loopback unless --allow-remote', async (t) => {
    const { code, stderr } = await runCli(t, ['bench', 'tcp', '192.0.2.1', '9']);
    assert.equal(code, 2);
    assert.match(stderr, /not a loopback address.*--allow-remote/);
  });

  it('asks for a mode', async (t) => {
    const { code, stderr } = await runCli(t, ['bench']);
    assert.equal(code, 2);
    assert.match(stderr, /tcp, hold, connect, udp/);
  });
});
