// socklab proxy: each fault does what it says, and socklab's client and server cope with it.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectTcp, listenTcp, runMessageClient, startMessageServer, startTcpProxy, startUdpProxy, type TcpProxyOptions } from '../../src/index.js';
import { eventually } from '../helpers/changes.js';
import { startCliServer, stopChecked, runCli } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { tally } from '../helpers/tally.js';

/** An echo-style message server (line framing) behind a proxy with `faults`. */
async function proxied(t: TestContext, faults: Omit<TcpProxyOptions, 'targetPort'>, serverOptions: Parameters<typeof startMessageServer>[0] = {}) {
  const server = await startMessageServer({ port: 0, framing: 'line', greeting: null, reply: 'ack {message}', logMessages: false, ...serverOptions });
  t.after(() => server.tcp.destroy());
  const proxy = await startTcpProxy({ targetPort: server.address().port, seed: 1, ...faults });
  t.after(() => proxy.close());
  return { server, proxy, port: proxy.address().port };
}

describe('socklab proxy (TCP)', () => {
  it('with no faults relays both ways, FIN included', async (t) => {
    const { port, proxy } = await proxied(t, {});
    const client = await RawClient.connect(t, port);
    client.socket.end('a\nb\n');
    await client.waitForClose();
    assert.deepEqual(client.lines, ['ack a', 'ack b']);
    assert.equal(proxy.stats.bytesUp, 4);
  });

  it('adds latency each way and keeps order under jitter', async (t) => {
    const { port } = await proxied(t, { latencyMs: 40, jitterMs: 30 });
    const client = await RawClient.connect(t, port);
    const started = performance.now();
    client.socket.write('ping\n');
    await client.waitForText(/ack ping\n/);
    const rtt = performance.now() - started;
    assert.ok(rtt >= 2 * (40 - 30) - 1, `round trip ${rtt.toFixed(1)} ms`);
    const lines = Array.from({ length: 200 }, (_, i) => `n${i}`);
    for (const line of lines) client.socket.write(line + '\n');
    await client.until(() => client.lines.length === 201, '200 more replies');
    assert.deepEqual(client.lines.slice(1), lines.map((line) => `ack ${line}`), 'jitter never reorders a TCP stream');
    tally({ fault: 'latency and jitter (proxy)', acksChecked: 201 });
  });

  it('limits bandwidth', async (t) => {
    const { port, server } = await proxied(t, { bandwidthBytesPerSec: 50_000, direction: 'up' }, { maxMessageBytes: 100_000 });
    const client = await RawClient.connect(t, port);
    const started = performance.now();
    client.socket.write('x'.repeat(25_000) + '\n');
    await client.waitForText(/ack x+\n/, 5000);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 450, `25 kB at 50 kB/s took ${elapsed.toFixed(0)} ms`);
    assert.equal(server.stats.messages, 1);
    tally({ fault: 'bandwidth limit (proxy)' });
  });

  it('slices the stream into 1-byte segments the server reads one by one', async (t) => {
    const reads: number[] = [];
    const raw = await listenTcp({ port: 0, framing: 'raw' });
    t.after(() => raw.destroy());
    raw.on('connection', (conn) => conn.on('message', (m) => reads.push(m.length)));
    const proxy = await startTcpProxy({ targetPort: raw.address().port, sliceBytes: 1, sliceDelayMs: 10 });
    t.after(() => proxy.close());
    const client = await RawClient.connect(t, proxy.address().port);
    client.socket.write('hello world\n');
    const readBytes = (): number => reads.reduce((a, b) => a + b, 0);
    await eventually(() => readBytes() >= 12, () => `12 bytes read (${readBytes()} so far)`, 3000, 5);
    assert.equal(readBytes(), 12);
    // Not exactly 12: on a loaded machine a late timer sends two due slices together.
    assert.ok(reads.length >= 6, `${reads.length} reads for 12 bytes`);

    // And socklab's line framing reassembles them.
    const { port } = await proxied(t, { sliceBytes: 1 });
    const replies: string[] = [];
    const result = await runMessageClient({ host: '127.0.0.1', port, lineEnding: 'lf', greetingWaitMs: 0, lingerMs: 50, lineReplies: true }, ['one', 'two'], (event) => {
      if (event.type === 'reply') replies.push(event.text);
    });
    assert.equal(result.missingReplies, 0);
    assert.deepEqual(replies, ['ack ack', 'ack one', 'ack two']);
    tally({ fault: 'slicer (proxy)' });
  });

  it('resets both sides after N bytes; the server survives and serves the next client', async (t) => {
    const { port, server, proxy } = await proxied(t, { resetAfterBytes: 10 });
    const conn = await connectTcp({ host: '127.0.0.1', port });
    t.after(() => conn.destroy());
    conn.on('message', () => {});
    conn.send('0123456789abcdef');
    const error = await conn.closed;
    assert.equal(error?.code, 'SL_ERR_CONNECTION_RESET');
    assert.equal(proxy.stats.resets, 1);
    await sleep(50);
    assert.equal(server.tcp.stats.active, 0, 'the server dropped the reset connection');
    const direct = await runMessageClient({ host: '127.0.0.1', port: server.address().port, greetingWaitMs: 0, lingerMs: 20 }, ['hi']);
    assert.equal(direct.replies, 2);
    tally({ fault: 'reset peer (proxy)' });
  });

  it('holds a FIN for --slow-close-ms', async (t) => {
    const { port } = await proxied(t, { slowCloseMs: 300, direction: 'up' });
    const client = await RawClient.connect(t, port);
    const started = performance.now();
    client.socket.end('bye\n');
    await client.waitForClose();
    const elapsed = performance.now() - started;
    assert.deepEqual(client.lines, ['ack bye']);
    assert.ok(elapsed >= 290, `closed after ${elapsed.toFixed(0)} ms`);
    tally({ fault: 'slow close (proxy)' });
  });

  it('black hole: the client times out waiting for its reply, with a clear error', async (t) => {
    const { port } = await proxied(t, { blackHole: true });
    // The client gives up on the reply and does not wait for a FIN that a black hole never sends.
    const started = performance.now();
    await assert.rejects(
      runMessageClient({ host: '127.0.0.1', port, greetingWaitMs: 0, replyTimeoutMs: 300, lockstep: false }, ['anyone?']),
      (err: Error & { code?: string }) => err.code === 'SL_ERR_REPLY_TIMEOUT' && /2 of 2 replies missing .*300 ms/.test(err.message),
    );
    assert.ok(performance.now() - started < 2000);
    tally({ fault: 'black hole (proxy)' });
  });

  it('socklab proxy as a command: relays socklab client to socklab serve, and stops cleanly', async (t) => {
    // Line framing: `auto` would take the first sliced-up bytes, before any newline, as messages of their own.
    const { child: server, port: serverPort } = await startCliServer(t, ['serve', '--port', '0', '--quiet', '--framing', 'line']);
    const { child: proxy } = await startCliServer(t, ['proxy', '127.0.0.1', String(serverPort), '--latency-ms', '10', '--slice', '3']);
    const [, proxyPort] = await proxy.waitFor(/listening on \S+:(\d+), proxying to 127\.0\.0\.1:\d+ \(seed \d+\)/);
    const session = await runCli(t, ['client', '127.0.0.1', proxyPort!, '--line-replies'], 'hello\nquit\n');
    assert.equal(session.code, 0, session.stderr);
    assert.deepEqual(session.stdout.trim().split('\n'), ['connected to server', 'got message', 'got message', 'got message']);
    await proxy.waitFor(/#1 closed: \d+ bytes up, \d+ bytes down/);
    await stopChecked(proxy);
    await stopChecked(server);
    const usage = await runCli(t, ['proxy', '--drop', '150%']);
    assert.equal(usage.code, 2);
  });
});

describe('socklab proxy (UDP)', () => {
  it('drops, duplicates and reorders as seeded, the same way for the same seed', async (t) => {
    const echo = createSocket('udp4');
    t.after(() => echo.close());
    let reachedEcho: string[] = [];
    echo.on('message', (data, rinfo) => {
      reachedEcho.push(data.toString());
      echo.send(data, rinfo.port, rinfo.address);
    });
    echo.bind(0, '127.0.0.1');
    await once(echo, 'listening');
    const run = async (seed: number): Promise<{ received: string[]; reached: string[] }> => {
      reachedEcho = [];
      const proxy = await startUdpProxy({ targetPort: echo.address().port, drop: 0.2, duplicate: 0.2, reorder: 0.2, reorderMaxMs: 50, seed });
      const client = createSocket('udp4');
      const received: string[] = [];
      client.on('message', (data) => received.push(data.toString()));
      client.bind(0, '127.0.0.1');
      await once(client, 'listening');
      for (let i = 0; i < 100; i++) {
        client.send(String(i), proxy.address().port, '127.0.0.1');
        await sleep(1);
      }
      await sleep(150);
      client.close();
      await proxy.close();
      assert.ok(proxy.stats.dropped > 0 && proxy.stats.duplicated > 0 && proxy.stats.reordered > 0, JSON.stringify(proxy.stats));
      return { received, reached: reachedEcho };
    };
    const first = await run(7);
    const second = await run(7);
    const other = await run(8);
    const sorted = (values: string[]): string[] => [...values].sort();
    // Client to server: the datagrams are sent in a fixed order, so a seed fixes exactly which are lost and
    // which are doubled. (Replies come back in an order timing decides, so only this direction replays exactly.)
    assert.deepEqual(sorted(first.reached), sorted(second.reached), 'the same seed drops and doubles the same datagrams');
    assert.notDeepEqual(sorted(first.reached), sorted(other.reached));
    assert.ok(first.reached.length < 100 * 1.2 && first.reached.length > 100 * 0.6, `${first.reached.length} reached the server`);
    assert.ok(first.reached.length !== new Set(first.reached).size, 'some arrived twice');
    assert.ok(first.reached.some((value, i) => i > 0 && Number(value) < Number(first.reached[i - 1])), 'some arrived out of order');
    assert.ok(first.received.length < first.reached.length * 1.3, 'the way back is faulted too');
    tally({ fault: 'UDP drop/duplicate/reorder (proxy)', inputs: 300 });

    // --direction down: the replies are faulted, the requests pass untouched.
    const oneWay = await startUdpProxy({ targetPort: echo.address().port, drop: 1, direction: 'down', seed: 3 });
    t.after(() => oneWay.close());
    const client = createSocket('udp4');
    t.after(() => client.close());
    let replies = 0;
    client.on('message', () => replies++);
    reachedEcho = [];
    for (let i = 0; i < 10; i++) client.send(`d${i}`, oneWay.address().port, '127.0.0.1');
    await eventually(() => reachedEcho.length === 10, 'every request reached the server');
    await sleep(50);
    assert.equal(replies, 0, 'every reply dropped: drop applied downstream only');
  });
});
