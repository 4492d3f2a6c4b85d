import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { encodeRespCommand, RespDecoder, type RespValue } from '../../src/codec/resp.js';
import { benchSummary, parseEvents } from '../helpers/json-lines.js';
import { runCli, start, startPeer, CLI } from '../helpers/processes.js';
import { RedisServer } from '../helpers/redis.js';

/** Sends one command to redis on a connection of its own and returns the decoded reply. */
async function redis(port: number, ...args: string[]): Promise<RespValue> {
  const socket = connect({ host: '127.0.0.1', port });
  try {
    await once(socket, 'connect');
    socket.write(encodeRespCommand(args));
    const decoder = new RespDecoder();
    for await (const chunk of socket) {
      const [frame] = decoder.push(chunk as Buffer);
      if (frame) return frame.value;
    }
    throw new Error('redis closed without replying');
  } finally {
    socket.destroy();
  }
}

/** `cmdstat_<name>:calls=N` from INFO commandstats. */
async function calls(port: number, command: string): Promise<number> {
  const info = String(await redis(port, 'INFO', 'commandstats'));
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

async function bench(t: TestContext, args: string[]): Promise<{ code: number | null; stderr: string; result: ReturnType<typeof benchSummary> }> {
  const { code, stdout, stderr } = await runCli(t, ['bench', 'tcp', ...args, '--json'], '', 20_000);
  parseEvents(stdout); // every line matches the schema
  return { code, stderr, result: benchSummary(stdout) };
}

describe('bench tcp against redis-server (RESP)', () => {
  it('frames RESP replies, rotates payloads with templates, and its counts match redis INFO commandstats', async (t) => {
    const server = await RedisServer.start(t);
    await redis(server.port, 'CONFIG', 'RESETSTAT');
    const { code, stderr, result } = await bench(t, ['127.0.0.1', String(server.port), '--reply-framing', 'resp', '--payload', 'PING', '--payload', 'SET bench:{rand:50} v{seq}', '-c', '4', '--inflight', '4', '-d', '500', '--warmup-ms', '100']);
    assert.equal(code, 0, stderr);
    const c = result.counts!;
    assert.equal(result.failed, false);
    assert.ok(c.completed > 100, JSON.stringify(c));
    // Every request sent was answered (the drain waits), and redis counted exactly those.
    assert.equal(c.completed + c.warmupCompleted, c.sent);
    const [ping, set] = [await calls(server.port, 'ping'), await calls(server.port, 'set')];
    assert.equal(ping + set, c.sent);
    assert.ok(Math.abs(ping - set) <= 1, `payloads alternate: ${ping} PING, ${set} SET`);
    // The server's CPU, found by its listening socket in /proc, beside the generator's.
    assert.equal(result.serverCpu?.pid, server.child.proc.pid);
    assert.equal(result.serverCpu?.command, 'redis-server');
    // /proc counts CPU in 10 ms ticks: a short run on a busy machine may see 0 of them, never less.
    assert.ok(result.serverCpu!.usPerOp! >= 0 && result.serverCpu!.cpuUs % 10_000 === 0 && result.generatorUsPerOp! > 0, JSON.stringify(result.serverCpu));
    const keys = (await redis(server.port, 'KEYS', 'bench:*')) as Buffer[];
    assert.ok(keys.length > 1 && keys.length <= 50 && keys.every((key) => /^bench:\d+$/.test(key.toString())), `keys ${keys.join(' ')}`);
  });

  it('counts -ERR replies as unexpected and fails the run, naming the reply', async (t) => {
    const server = await RedisServer.start(t);
    const { code, stderr, result } = await bench(t, ['127.0.0.1', String(server.port), '--reply-framing', 'resp', '--payload', 'PING', '--payload', 'NOSUCHCOMMAND', '-c', '2', '-d', '300', '--warmup-ms', '0']);
    assert.equal(code, 1);
    const c = result.counts!;
    assert.ok(Math.abs(c.unexpected - c.completed / 2) <= 2, `half the replies are errors: ${c.unexpected} of ${c.completed}`);
    assert.match(stderr, /SL_ERR_BENCH_FAILED.*unexpected replies.*-ERR unknown command/);
    // An explicit --expect replaces the default: errors allowed, only the prefix is checked.
    const lenient = await bench(t, ['127.0.0.1', String(server.port), '--reply-framing', 'resp', '--payload', 'NOSUCHCOMMAND', '--expect=-ERR', '-c', '1', '-d', '200', '--warmup-ms', '0']);
    assert.equal(lenient.code, 0, lenient.stderr);
    assert.equal(lenient.result.counts!.unexpected, 0);
  });

  it('reports CLIENT KILL mid-run: closed connections fail the run; --reconnect reopens them', async (t) => {
    const server = await RedisServer.start(t);
    const args = ['bench', 'tcp', '127.0.0.1', String(server.port), '--reply-framing', 'resp', '--payload', 'PING', '-c', '3', '-d', '1500', '--warmup-ms', '0', '--interval-ms', '100', '--json'];
    for (const reconnect of [false, true]) {
      const child = start(t, process.execPath, [CLI, ...args, ...(reconnect ? ['--reconnect', '--max-error-rate', '1%'] : [])]);
      await child.waitFor(/"event":"interval".*"completed":[1-9]/, 5000);
      const killed = await redis(server.port, 'CLIENT', 'KILL', 'TYPE', 'normal');
      assert.equal(killed, 3);
      const { code } = await child.finish(10_000);
      const result = benchSummary(child.stdout);
      const c = result.counts!;
      assert.equal(c.closes + c.resets, 3, JSON.stringify(c));
      if (!reconnect) {
        assert.equal(code, 1);
        // A killed client with a request unread by redis gets RST rather than FIN: either is the server's doing.
        assert.match(child.stderr, /(?:closed|reset) by the server \(--reconnect to reopen them\)/);
        assert.ok(result.warnings!.some((w) => /every connection was closed/.test(w)));
      } else {
        assert.equal(code, 0, child.stderr);
        assert.ok(c.reconnects >= 3, `reconnects ${c.reconnects}`);
        assert.ok(c.abandoned <= 3, 'at most the one request in flight on each killed connection is lost');
      }
    }
  });
});

describe('bench tcp against python http.server (HTTP/1.1 keep-alive)', () => {
  it('measures the whole response, not its first segment, over kept-alive connections', async (t) => {
    const { port } = await startPeer(t, 'http_keepalive.py');
    const { code, stderr, result } = await bench(t, ['127.0.0.1', String(port), '--reply-framing', 'http', '--payload', 'GET /', '--payload', 'GET /chunked', '--expect', '/^HTTP\\/1\\.1 200/', '-c', '2', '-d', '600', '--warmup-ms', '100']);
    assert.equal(code, 0, stderr);
    const c = result.counts!;
    assert.ok(c.completed >= 10, JSON.stringify(c));
    assert.deepEqual([c.closes, c.reconnects, c.protocolErrors, c.unexpected], [0, 0, 0, 0], 'keep-alive held, every reply well formed');
    // GET / sends its body 20 ms after its headers: half the requests take ≥ 20 ms, the chunked half do not.
    assert.ok(result.latencyUs.p90 >= 20_000, `p90 ${result.latencyUs.p90} µs includes the 20 ms body`);
  });

  it('fails 404s by default, the way a real client would notice them', async (t) => {
    const { port } = await startPeer(t, 'http_keepalive.py');
    const { code, stderr, result } = await bench(t, ['127.0.0.1', String(port), '--reply-framing', 'http', '--payload', 'GET /missing', '-c', '1', '-d', '300', '--warmup-ms', '0', '--reconnect']);
    assert.equal(code, 1);
    assert.ok(result.counts!.unexpected > 0);
    assert.match(stderr, /unexpected repl.*HTTP\/1\.1 404/);
  });
});
