import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
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

  it('udp mode matches replies by id: a server that drops the first 50 requests costs exactly those, nothing later', async (t) => {
    const server = createSocket('udp4');
    let dropped = 0;
    server.on('message', (message, rinfo) => {
      const id = /^get (\w+)$/.exec(message.toString())?.[1];
      if (id === undefined) return;
      if (parseInt(id, 36) < 50) return void dropped++;
      server.send(`${id} 1`, rinfo.port, rinfo.address);
    });
    server.bind(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const { code, stdout } = await runCli(t, ['bench', 'udp', '127.0.0.1', String(server.address().port), '--rate', '500', '-d', '600', '--warmup-ms', '0', '--timeout-ms', '300', '--json']);
    assert.equal(code, 1);
    const result = benchSummary(stdout);
    assert.equal(dropped, 50);
    assert.equal(result.lost, 50);
    assert.equal(result.completed + result.lost, result.extra.sent);
    assert.equal(result.extra.late, 0);
    // Matched by order, every reply after the 50 drops would be charged to a request 50 slots (100 ms at 500/s)
    // older: the median would be ≥ 100 ms. Matched by id it is a round trip.
    assert.ok(result.latencyUs.p50 < 60_000, `p50 ${result.latencyUs.p50} µs`);
  });

  it('refuses a target that is not loopback unless --allow-remote', async (t) => {
    const { code, stderr } = await runCli(t, ['bench', 'tcp', '192.0.2.1', '9']);
    assert.equal(code, 2);
    assert.match(stderr, /not a loopback address.*--allow-remote/);
  });

  it('refuses, with the reason, options that do not apply to the mode', async (t) => {
    const cases: [string[], RegExp][] = [
      [['tcp', '--outstanding', '5'], /'--outstanding' is for bench udp.*--inflight/],
      [['tcp', '--on-behind', 'drop'], /'--on-behind' applies to an open-loop run: add --rate/],
      [['tcp', '--rate', '10', '--stages', '10@100'], /'--rate' and '--stages' both set the plan/],
      [['hold', '--rate', '10'], /'--rate' does not apply to bench hold/],
      [['udp', '--inflight', '2'], /'--inflight' applies to bench tcp only/],
      [['connect', '--payload', 'a', '--payload', 'b'], /Several --payload values rotate in bench tcp only/],
      [['tcp', '--reply-framing', 'fixed'], /'--reply-framing fixed' and '--reply-bytes N' go together/],
      [['tcp', '--reply-framing', 'read', '--inflight', '4'], /'--reply-framing read' cannot/],
      [['tcp', '--max-error-rate', '2'], /'--max-error-rate' must be a fraction/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli(t, ['bench', ...args]);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message, args.join(' '));
    }
  });

  it('says "this server sent no greeting: use --no-greeting" for a server that accepts and waits', async (t) => {
    const port = await listen(t, () => {});
    const { code, stderr } = await runCli(t, ['bench', 'tcp', '127.0.0.1', String(port), '-c', '2', '--timeout-ms', '300', '-d', '200']);
    assert.equal(code, 1);
    assert.match(stderr, /this server sent no greeting within 300 ms: use --no-greeting \[SL_ERR_NO_GREETING\]/);
  });

  it('rotates payloads and fills in {seq} and {conn}; counts a server close and fails the run for it', async (t) => {
    const seen: string[] = [];
    // Answers each line, and closes the connection after its 5th request.
    const port = await listen(t, (socket) => {
      let count = 0;
      socket.setEncoding('utf8').on('data', (text: string) => {
        for (const line of text.split('\n').filter(Boolean)) {
          seen.push(line);
          socket.write(`ok ${line}\n`);
          if (++count === 5) socket.end();
        }
      });
    });
    const { code, stdout, stderr } = await runCli(t, ['bench', 'tcp', '127.0.0.1', String(port), '--no-greeting', '-c', '1', '-d', '1000', '--warmup-ms', '0', '--payload', 'a {seq} {conn}', '--payload', 'b', '--json']);
    assert.equal(code, 1);
    assert.deepEqual(seen.slice(0, 4), ['a 0 0', 'b', 'a 2 0', 'b']);
    const result = benchSummary(stdout);
    assert.equal(result.counts!.closes, 1);
    assert.equal(result.counts!.completed, 5);
    assert.match(stderr, /1 connection\(s\) closed by the server/);
  });

  it('warns "not enough connections" when Little\'s law needs more slots than --connections × --inflight', async (t) => {
    // Each reply takes 20 ms: at 200/s that is 200 × 0.02 = 4 requests in flight on average, and 1 connection
    // in lockstep carries 1. The requests queue (and are counted), and the warning says why.
    const port = await listen(t, (socket) => {
      socket.setEncoding('utf8').on('data', (text: string) => {
        for (const line of text.split('\n').filter(Boolean)) setTimeout(() => socket.write(`${line}\n`), 20);
      });
    });
    const { code, stdout, stderr } = await runCli(t, ['bench', 'tcp', '127.0.0.1', String(port), '--no-greeting', '-c', '1', '--rate', '200', '-d', '500', '--warmup-ms', '0', '--json']);
    assert.equal(code, 0, stderr);
    const result = benchSummary(stdout);
    assert.ok(result.warnings!.some((w) => /^not enough connections: .*Little's law puts [\d.]+ requests in flight.*allow 1/.test(w)), JSON.stringify(result.warnings));
    assert.ok(result.latencyUs.p99 > 5 * result.serviceTimeUs!.p99, 'the queue shows in the corrected latency, not in the service time');
    assert.match(stderr, /warning: not enough connections/);
  });

  it('--stages ramps: 0 → 400/s over 0.5 s, then 0.5 s at 400/s, is 100 + 200 intended requests', async (t) => {
    const port = await listen(t, (socket) => socket.pipe(socket));
    const { code, stdout, stderr } = await runCli(t, ['bench', 'tcp', '127.0.0.1', String(port), '--no-greeting', '-c', '2', '--stages', '0-400@500,400@500', '--warmup-ms', '0', '--json']);
    assert.equal(code, 0, stderr);
    const result = benchSummary(stdout);
    assert.deepEqual([result.counts!.scheduled, result.counts!.completed], [300, 300]);
    assert.equal(result.measuredMs, 1000);
  });

  it('--hdr-log writes the latency and the service-time histograms, tagged', async (t) => {
    const port = await listen(t, (socket) => socket.pipe(socket));
    const dir = mkdtempSync(join(tmpdir(), 'socklab-hdr-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'run.hlog');
    const { code, stderr } = await runCli(t, ['bench', 'tcp', '127.0.0.1', String(port), '--no-greeting', '-c', '1', '--rate', '100', '-d', '300', '--warmup-ms', '0', '--hdr-log', file]);
    assert.equal(code, 0, stderr);
    const log = readFileSync(file, 'utf8');
    assert.match(log, /^Tag=latency,/m);
    assert.match(log, /^Tag=service,/m);
  });

  it('asks for a mode', async (t) => {
    const { code, stderr } = await runCli(t, ['bench']);
    assert.equal(code, 2);
    assert.match(stderr, /tcp, hold, connect, udp/);
  });
});

/** A plain TCP server for one test, on an ephemeral loopback port. */
async function listen(t: TestContext, onConnection: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as { port: number }).port;
}
