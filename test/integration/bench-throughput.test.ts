import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { benchSummary, parseEvents } from '../helpers/json-lines.js';
import { CLI, runCli, start, startCliServer } from '../helpers/processes.js';

interface ThroughputTotals {
  mode: string;
  sentBytes: number;
  receivedBytes: number;
  sentMBps: number;
  receivedMBps: number;
  streams: number;
  closedEarly: number;
}

/** Connects, sends `input`, half-closes, and collects what comes back for `forMs` (or until the server's FIN). */
async function exchange(port: number, input: string | Buffer, forMs: number): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.end(input);
  await Promise.race([once(socket, 'end'), new Promise((resolve) => setTimeout(resolve, forMs))]);
  socket.destroy();
  return Buffer.concat(chunks);
}

describe('serve --mode echo|discard|chargen (RFC 862, 863, 864)', () => {
  it('echo sends back every byte; discard sends nothing and closes after our FIN', async (t) => {
    const echo = await startCliServer(t, ['serve', '--mode', 'echo', '--port', '0']);
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.deepEqual(await exchange(echo.port, bytes, 2000), bytes);
    const discard = await startCliServer(t, ['serve', '--mode', 'discard', '--port', '0']);
    assert.equal((await exchange(discard.port, 'anything\n', 2000)).length, 0);
  });

  it('chargen sends 72-character lines of the 95 printable characters, each starting one later', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--mode', 'chargen', '--port', '0']);
    const lines = (await exchange(port, '', 200)).toString('latin1').split('\r\n').slice(0, 96);
    assert.equal(lines[0], Array.from({ length: 72 }, (_, i) => String.fromCharCode(32 + i)).join(''));
    assert.equal(lines[1], Array.from({ length: 72 }, (_, i) => String.fromCharCode(32 + ((1 + i) % 95))).join(''));
    assert.equal(lines[95], lines[0], 'the pattern repeats after 95 lines');
  });

  it('refuses message-protocol flags that mean nothing to a byte service', async (t) => {
    const { code, stderr } = await runCli(t, ['serve', '--mode', 'echo', '--greeting', 'hi']);
    assert.equal(code, 2);
    assert.match(stderr, /'--greeting' does not apply to --mode echo.*RFC 862/);
  });
});

describe('bench throughput', () => {
  it('sends over -P 2 streams to discard, receives from chargen, and both ways through echo', async (t) => {
    const runs: [string, string, (r: ThroughputTotals) => void][] = [
      ['discard', 'send', (r) => assert.ok(r.sentBytes > 1e6 && r.receivedBytes === 0 && r.streams === 2, JSON.stringify(r))],
      ['chargen', 'receive', (r) => assert.ok(r.receivedBytes > 1e6 && r.sentBytes === 0, JSON.stringify(r))],
      // Echo returns what it got: what came back trails what went out by at most the buffers in between.
      ['echo', 'both', (r) => assert.ok(r.receivedBytes > 1e6 && Math.abs(r.sentBytes - r.receivedBytes) < 0.5 * r.sentBytes, JSON.stringify(r))],
    ];
    for (const [service, direction, check] of runs) {
      const { port } = await startCliServer(t, ['serve', '--mode', service, '--port', '0']);
      const { code, stdout, stderr } = await runCli(t, ['bench', 'throughput', '127.0.0.1', String(port), '-P', '2', '--direction', direction, '-d', '500', '--warmup-ms', '100', '--interval-ms', '200', '--json']);
      assert.equal(code, 0, stderr);
      const totals = benchSummary(stdout) as unknown as ThroughputTotals;
      assert.equal(totals.mode, 'throughput');
      assert.equal(totals.closedEarly, 0);
      check(totals);
      const intervals = parseEvents(stdout).filter((event) => event.event === 'interval');
      assert.ok(intervals.length >= 2, `${intervals.length} intervals`);
    }
  });

  it('fails when the sink goes away mid-run', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--mode', 'discard', '--port', '0']);
    const bench = start(t, process.execPath, [CLI, 'bench', 'throughput', '127.0.0.1', String(port), '-d', '3000', '--warmup-ms', '0', '--interval-ms', '100', '--json']);
    await bench.waitFor(/"event":"interval"/);
    await child.stop('SIGKILL');
    const { code } = await bench.finish();
    assert.equal(code, 1);
    assert.match(bench.stderr, /SL_ERR_BENCH_FAILED: 1 stream\(s\) closed early/);
    assert.ok(benchSummary(bench.stdout).measuredMs < 2500, 'it stops once every stream is gone');
  });
});
