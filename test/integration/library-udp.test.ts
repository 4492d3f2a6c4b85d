/**
 * UDP as a library user meets it: receive() with deadlines and signals, request() with retries against a lossy
 * server and a closed port, ICMP refusals reaching the caller, abort before the socket exists. Real loopback.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { bindUdp, connectUdp, runCounterClient, SocklabError, startCounterServer, type UdpEndpoint } from '../../src/index.js';

const code = (expected: string) => (err: unknown) => err instanceof SocklabError && err.code === expected;

/** A port nobody listens on: bound, read back and closed. */
async function closedPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A server that answers `ok <request>`, but drops every third datagram it receives. */
async function lossyServer(t: TestContext): Promise<UdpEndpoint<'bound'> & { seen: () => number }> {
  const server = await bindUdp({ port: 0 });
  t.after(() => server.close());
  let seen = 0;
  server.on('message', ({ data, from }) => {
    seen++;
    if (seen % 3 === 0) return;
    void server.send(`ok ${data}`, from);
  });
  return Object.assign(server, { seen: () => seen });
}

describe('UdpEndpoint.receive()', () => {
  it('gets one datagram, rejects with SL_ERR_REPLY_TIMEOUT after timeoutMs and with SL_ERR_ABORTED before and during', { timeout: 5000 }, async (t) => {
    const server = await bindUdp({ port: 0 });
    t.after(() => server.close());
    const client = await connectUdp({ host: '127.0.0.1', port: server.address().port });
    t.after(() => client.close());
    await client.send('hi');
    const got = await server.receive({ timeoutMs: 2000 });
    assert.equal(got.data.toString(), 'hi');
    assert.equal(got.from.port, client.address().port);
    await assert.rejects(server.receive({ timeoutMs: 50 }), code('SL_ERR_REPLY_TIMEOUT'));
    await assert.rejects(server.receive({ signal: AbortSignal.abort() }), code('SL_ERR_ABORTED'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await assert.rejects(server.receive({ signal: controller.signal }), code('SL_ERR_ABORTED'));
  });

  it('bindUdp and connectUdp honour an already aborted signal with SL_ERR_ABORTED', { timeout: 5000 }, async () => {
    await assert.rejects(bindUdp({ port: 0, signal: AbortSignal.abort() }), code('SL_ERR_ABORTED'));
    await assert.rejects(connectUdp({ port: 9, signal: AbortSignal.abort() }), code('SL_ERR_ABORTED'));
  });

  it('runCounterClient aborted before or during its run rejects with SL_ERR_ABORTED, not a DOMException', { timeout: 5000 }, async (t) => {
    const server = await startCounterServer({ port: 0, delayMs: 0, logMessages: false });
    t.after(() => server.close());
    const options = { host: '127.0.0.1', port: server.address().port, count: 5, intervalMs: 1000 };
    await assert.rejects(runCounterClient({ ...options, signal: AbortSignal.abort() }), code('SL_ERR_ABORTED'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(runCounterClient({ ...options, signal: controller.signal }), code('SL_ERR_ABORTED'));
  });
});

describe('UdpEndpoint.request()', () => {
  it('gets every reply from a server that drops every third datagram, resending after each timeout', { timeout: 10_000 }, async (t) => {
    const server = await lossyServer(t);
    const client = await connectUdp({ host: '127.0.0.1', port: server.address().port });
    t.after(() => client.close());
    for (let i = 0; i < 30; i++) {
      // The id in the reply tells a late answer to an earlier attempt from this request's own.
      const reply = await client.request(`r${i}`, { timeoutMs: 100, retries: 3, match: ({ data }) => data.toString() === `ok r${i}` });
      assert.equal(reply.data.toString(), `ok r${i}`);
    }
    assert.ok(server.seen() > 30, `the server saw ${server.seen()} datagrams: some requests were resent`);
  });

  it('a bound endpoint names the peer in to, and gets its replies', { timeout: 5000 }, async (t) => {
    const server = await lossyServer(t);
    const asker = await bindUdp({ port: 0 });
    t.after(() => asker.close());
    const reply = await asker.request('x', { to: server.address(), timeoutMs: 100, retries: 3 });
    assert.equal(reply.data.toString(), 'ok x');
  });

  it('a closed port: connected, SL_ERR_CONNECT_REFUSED at once; bound (no ICMP reaches it), SL_ERR_REPLY_TIMEOUT after the retries', { timeout: 5000 }, async (t) => {
    const port = await closedPort();
    const client = await connectUdp({ host: '127.0.0.1', port });
    t.after(() => client.close());
    const started = performance.now();
    await assert.rejects(client.request('get', { timeoutMs: 2000, retries: 2 }), code('SL_ERR_CONNECT_REFUSED'));
    assert.ok(performance.now() - started < 1500, 'refused well before the first timeout');
    const bound = await bindUdp({ port: 0 });
    t.after(() => bound.close());
    await assert.rejects(bound.request('get', { to: { address: '127.0.0.1', port }, timeoutMs: 50, retries: 2 }), code('SL_ERR_REPLY_TIMEOUT'));
  });

  it('an ICMP refusal reaches the next receive() or send() of a connected endpoint', { timeout: 5000 }, async (t) => {
    const port = await closedPort();
    const client = await connectUdp({ host: '127.0.0.1', port });
    t.after(() => client.close());
    await client.send('one');
    await assert.rejects(client.receive({ timeoutMs: 2000 }), code('SL_ERR_CONNECT_REFUSED'));
    await client.send('two');
    // Let the refusal of 'two' arrive with nobody waiting: the next send() reports it.
    await assert.rejects(client.receive({ timeoutMs: 2000 }), code('SL_ERR_CONNECT_REFUSED'));
    await client.send('three');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(client.send('four'), code('SL_ERR_CONNECT_REFUSED'));
  });

  it('checks its options before sending anything', { timeout: 5000 }, async (t) => {
    const server = await bindUdp({ port: 0 });
    t.after(() => server.close());
    const client = await connectUdp({ host: '127.0.0.1', port: server.address().port });
    t.after(() => client.close());
    await assert.rejects(client.request('x', { timeoutMs: 0 }), RangeError);
    await assert.rejects(client.request('x', { retries: -1 }), RangeError);
    await assert.rejects(client.request('x', { match: 'yes' as never }), TypeError);
    await assert.rejects(server.request('x', {} as never), TypeError);
    await assert.rejects(server.send('x' as never, undefined as never), TypeError);
    assert.equal(server.stats.received, 0);
  });
});
