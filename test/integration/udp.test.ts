import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { bindUdp, connectUdp, runCounterClient, startCounterServer, type CounterServer } from '../../src/index.js';
import { parseGet } from '../../src/apps/counter-server.js';
import { eventually } from '../helpers/changes.js';

async function counterServer(t: TestContext, delayMs: number, extra: Parameters<typeof startCounterServer>[0] = {}): Promise<CounterServer> {
  const server = await startCounterServer({ port: 0, delayMs, logMessages: false, ...extra });
  t.after(() => server.close());
  return server;
}

describe('UDP endpoint', () => {
  it('sends and receives datagrams with the sender address, bound and connected', async (t) => {
    const server = await bindUdp({ port: 0 });
    t.after(() => server.close());
    server.on('message', ({ data, from }) => void server.send(`echo ${data.toString()}`, from));
    await using client = await connectUdp({ host: '127.0.0.1', port: server.address().port });
    await client.send('ping');
    const { value } = await client.messages().next();
    assert.equal(value?.data.toString(), 'echo ping');
    assert.equal(value?.from.port, server.address().port);
    assert.equal(client.stats.sent, 1);
  });

  it('holds datagrams that arrive before a consumer, and drops and counts beyond maxQueuedMessages', async (t) => {
    const server = await bindUdp({ port: 0, maxQueuedMessages: 5 });
    t.after(() => server.close());
    await using client = await connectUdp({ host: '127.0.0.1', port: server.address().port });
    for (let i = 0; i < 8; i++) await client.send(`d${i}`);
    await eventually(() => server.stats.received >= 8, () => `8 datagrams received (${server.stats.received} so far)`, 5000, 5);
    const got: string[] = [];
    for await (const { data } of server.messages()) {
      got.push(data.toString());
      if (got.length === 5) break;
    }
    assert.deepEqual(got, ['d0', 'd1', 'd2', 'd3', 'd4']);
    assert.equal(server.stats.dropped, 3);
  });

  it('refuses a datagram over the UDP payload limit with SL_ERR_DATAGRAM_TOO_LARGE', async (t) => {
    const server = await bindUdp({ port: 0 });
    t.after(() => server.close());
    await assert.rejects(server.send(Buffer.alloc(70_000), server.address()), { code: 'SL_ERR_DATAGRAM_TOO_LARGE' });
  });

  it('binds ::1', async (t) => {
    const server = await bindUdp({ host: '::1', port: 0 });
    t.after(() => server.close());
    assert.equal(server.address().family, 'IPv6');
  });
});

describe('counter server (library)', () => {
  it('recognises get with no, LF or CRLF ending and nothing else', () => {
    assert.deepEqual(parseGet(Buffer.from('get')), { ending: 0, id: undefined });
    assert.deepEqual(parseGet(Buffer.from('get\n')), { ending: 1, id: undefined });
    assert.deepEqual(parseGet(Buffer.from('get\r\n')), { ending: 2, id: undefined });
    assert.deepEqual(parseGet(Buffer.from('get a1.b-2_c')), { ending: 0, id: 'a1.b-2_c' });
    assert.deepEqual(parseGet(Buffer.from('get 7\r\n')), { ending: 2, id: '7' });
    const badIds = ['get ', 'get  7', 'get 7 8', `get ${'x'.repeat(33)}`, 'get é', 'get 7\n\n'];
    for (const other of ['', 'GET', 'gets', 'get\n\n', 'ge', '\0get', 'get\r', ...badIds]) assert.equal(parseGet(Buffer.from(other)), undefined, other);
  });

  it('answers get with the next value after the delay and echoes its line ending', async (t) => {
    const server = await counterServer(t, 100);
    const socket = createSocket('udp4');
    t.after(() => socket.close());
    const replies: string[] = [];
    socket.on('message', (data) => replies.push(data.toString()));
    const started = performance.now();
    socket.send('get', server.address().port, '127.0.0.1');
    await once(socket, 'message');
    const elapsed = performance.now() - started;
    socket.send('get\n', server.address().port, '127.0.0.1');
    socket.send('nonsense', server.address().port, '127.0.0.1');
    await once(socket, 'message');
    assert.deepEqual(replies, ['1', '2\n']);
    assert.ok(elapsed >= 95, `first reply after ${elapsed} ms`);
    assert.equal(server.stats.ignored, 1);
  });

  it('gives 5 clients x 20 gets distinct values, each about the delay after its request', async (t) => {
    const delayMs = 50;
    const server = await counterServer(t, delayMs);
    const runs = await Promise.all(
      Array.from({ length: 5 }, () =>
        (async () => {
          const rtts: number[] = [];
          const result = await runCounterClient({
            host: '127.0.0.1',
            port: server.address().port,
            count: 20,
            intervalMs: 0,
            timeoutMs: 2000,
            onEvent: (event) => event.type === 'reply' && rtts.push(event.rttMs),
          });
          return { ...result, rtts };
        })(),
      ),
    );
    const values = runs.flatMap((run) => run.replies.map(Number));
    assert.equal(values.length, 100);
    assert.equal(new Set(values).size, 100, 'every value handed out once');
    assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1));
    assert.equal(runs.reduce((lost, run) => lost + run.lost, 0), 0);
    const rtts = runs.flatMap((run) => run.rtts);
    assert.ok(Math.min(...rtts) >= delayMs - 2, `fastest reply ${Math.min(...rtts)} ms`);
    // Generous upper bound: a check for "about the delay", not a benchmark.
    assert.ok(Math.max(...rtts) < delayMs + 500, `slowest reply ${Math.max(...rtts)} ms`);
  });

  it('keeps 3,000 pending replies in order across ring growth, each value once', async (t) => {
    const server = await counterServer(t, 30);
    const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    t.after(() => socket.close());
    const values: number[] = [];
    socket.on('message', (data) => values.push(Number(data.toString())));
    // Three waves: the ring grows while it already wraps around.
    for (const wave of [500, 1000, 1500]) {
      for (let i = 0; i < wave; i++) socket.send('get', server.address().port, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await eventually(() => values.length >= 3000, () => `3000 replies (${values.length} so far)`, 5000, 10);
    assert.equal(values.length, 3000);
    assert.deepEqual(values, Array.from({ length: 3000 }, (_, i) => i + 1), 'replies come back in counter order');
  });

  it('drops and counts gets beyond maxPendingReplies', async (t) => {
    const server = await counterServer(t, 200, { maxPendingReplies: 3 });
    const socket = createSocket('udp4');
    t.after(() => socket.close());
    for (let i = 0; i < 5; i++) socket.send('get', server.address().port, '127.0.0.1');
    await eventually(() => server.stats.received >= 5, () => `5 datagrams received (${server.stats.received} so far)`, 5000, 5);
    assert.equal(server.stats.gets, 3);
    assert.equal(server.stats.overloaded, 2);
  });

  it('stops with SL_ERR_CONNECT_REFUSED when the server is gone, instead of hanging or calling it lost (issue 22)', async (t) => {
    const server = await counterServer(t, 0);
    const port = server.address().port;
    await server.close();
    const lostEvents: number[] = [];
    const started = performance.now();
    await assert.rejects(
      runCounterClient({ host: '127.0.0.1', port, count: 2, intervalMs: 0, timeoutMs: 1000, onEvent: (event) => event.type === 'lost' && lostEvents.push(event.index) }),
      { code: 'SL_ERR_CONNECT_REFUSED' },
    );
    assert.deepEqual(lostEvents, [], 'a refusal is not a loss');
    assert.ok(performance.now() - started < 1000, 'no wait for the timeout');
  });
});
