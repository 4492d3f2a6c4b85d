/**
 * A connection's life as docs/library-guide.md tells it: who closes when, what `closed` resolves with, what
 * `messages()` does at FIN, reset, oversize message and idle timeout; `receive()` with deadlines and signals;
 * half-close with `end()`. Real loopback sockets; each test has a deadline, so a hang fails it.
 */
import assert from 'node:assert/strict';
import { getEventListeners, once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { connectTcp, listenTcp, SocklabError, type ListenOptions, type TcpConnection, type TcpServer } from '../../src/index.js';

async function server(t: TestContext, options: ListenOptions = {}): Promise<TcpServer> {
  const s = await listenTcp({ port: 0, ...options });
  t.after(() => s.destroy());
  return s;
}

/** A bare node:net server that hands each accepted socket to `onSocket`. */
async function rawServer(t: TestContext, onSocket: (socket: Socket) => void): Promise<number> {
  const s: Server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.after(() => s.close());
  return (s.address() as { port: number }).port;
}

async function client(t: TestContext, port: number, options: Omit<Parameters<typeof connectTcp>[0], 'port' | 'host' | 'path'> = {}): Promise<TcpConnection> {
  const c = await connectTcp({ host: '127.0.0.1', port, ...options });
  t.after(() => c.destroy());
  return c;
}

/** A bare half-open-capable client: sends `bytes` then FIN, and resolves with all it received once the server FINs. */
async function sendAndFin(t: TestContext, port: number, bytes: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  t.after(() => socket.destroy());
  let text = '';
  socket.on('data', (chunk) => (text += chunk));
  socket.end(bytes);
  await once(socket, 'end');
  return text;
}

const code = (expected: string) => (err: unknown) => err instanceof SocklabError && err.code === expected;

describe('a connection ends by itself after the peer finishes', () => {
  it('the TcpConnection TSDoc example: the loop ends at the server FIN and closed resolves undefined', { timeout: 5000 }, async (t) => {
    const s = await server(t);
    s.on('connection', (conn) => conn.on('message', (m) => void (conn.send(`echo ${m}`), conn.close())));
    const conn = await client(t, s.address().port);
    conn.send('hello');
    const replies: string[] = [];
    for await (const reply of conn.messages()) replies.push(reply.toString());
    assert.equal(await conn.closed, undefined);
    assert.deepEqual(replies, ['echo hello']);
    assert.equal(conn.state, 'closed');
  });

  it('a server loop answers every message of a client that sends and FINs, then closes on its own', { timeout: 5000 }, async (t) => {
    const s = await server(t);
    const closed = new Promise<SocklabError | undefined>((resolve) =>
      s.on('connection', async (conn) => {
        for await (const m of conn.messages()) conn.send(`got ${m}`);
        resolve(await conn.closed);
      }),
    );
    assert.equal(await sendAndFin(t, s.address().port, 'a\nb\nc'), 'got a\ngot b\ngot c\n');
    assert.equal(await closed, undefined);
  });

  it("with an 'end' listener the half-open connection is the listener's: replies after the FIN still go out", { timeout: 5000 }, async (t) => {
    const s = await server(t);
    s.on('connection', (conn) => {
      const got: string[] = [];
      conn.on('message', (m) => got.push(m.toString()));
      conn.on('end', () => setTimeout(() => void (conn.send(`later ${got.join(',')}`), conn.close()), 50));
    });
    assert.equal(await sendAndFin(t, s.address().port, 'x\ny\n'), 'later x,y\n');
  });

  it('receive() reports the end after the FIN with SL_ERR_CONNECTION_CLOSED, and the connection then closes', { timeout: 5000 }, async (t) => {
    const port = await rawServer(t, (socket) => socket.end('only\n'));
    const conn = await client(t, port);
    assert.equal((await conn.receive()).toString(), 'only');
    await assert.rejects(conn.receive(), code('SL_ERR_CONNECTION_CLOSED'));
    assert.equal(await conn.closed, undefined);
  });
});

describe('what ends a messages() loop, and throwOnError', () => {
  it('a reset: the loop ends and closed gives SL_ERR_CONNECTION_RESET; with throwOnError the loop throws it', { timeout: 5000 }, async (t) => {
    // The reset comes once the client has read 'before' and answered, so no unread data races the RST.
    const port = await rawServer(t, (socket) => {
      socket.write('before\n');
      socket.once('data', () => socket.resetAndDestroy());
    });
    const quiet = await client(t, port);
    const got: string[] = [];
    for await (const m of quiet.messages()) {
      got.push(m.toString());
      quiet.send('ack');
    }
    assert.deepEqual(got, ['before']);
    assert.equal((await quiet.closed)?.code, 'SL_ERR_CONNECTION_RESET');

    const loud = await client(t, port);
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const m of loud.messages({ throwOnError: true })) {
        seen.push(m.toString());
        loud.send('ack');
      }
    }, code('SL_ERR_CONNECTION_RESET'));
    assert.deepEqual(seen, ['before']);
  });

  it('an oversize message: the messages before it are delivered, then the loop throws SL_ERR_FRAME_TOO_LARGE', { timeout: 5000 }, async (t) => {
    const port = await rawServer(t, (socket) => socket.write(`ok\n${'x'.repeat(100)}\n`));
    const conn = await client(t, port, { maxMessageBytes: 10 });
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const m of conn.messages({ throwOnError: true })) seen.push(m.toString());
    }, code('SL_ERR_FRAME_TOO_LARGE'));
    assert.deepEqual(seen, ['ok']);
    assert.equal((await conn.closed)?.code, 'SL_ERR_FRAME_TOO_LARGE');
  });

  it('an idle timeout: the loop throws SL_ERR_IDLE_TIMEOUT (and without throwOnError ends, closed telling why)', { timeout: 5000 }, async (t) => {
    const port = await rawServer(t, () => {});
    const loud = await client(t, port, { idleTimeoutMs: 100 });
    await assert.rejects(async () => {
      for await (const _ of loud.messages({ throwOnError: true })) assert.fail('nothing was sent');
    }, code('SL_ERR_IDLE_TIMEOUT'));
    const quiet = await client(t, port, { idleTimeoutMs: 100 });
    for await (const _ of quiet.messages()) assert.fail('nothing was sent');
    assert.equal((await quiet.closed)?.code, 'SL_ERR_IDLE_TIMEOUT');
  });

  it('a clean end does not throw, even with throwOnError', { timeout: 5000 }, async (t) => {
    const port = await rawServer(t, (socket) => socket.end('bye\n'));
    const conn = await client(t, port);
    const got: string[] = [];
    for await (const m of conn.messages({ throwOnError: true })) got.push(m.toString());
    assert.deepEqual(got, ['bye']);
    assert.equal(await conn.closed, undefined);
  });
});

describe('receive() and signals', () => {
  it('receive({ timeoutMs }) rejects with SL_ERR_REPLY_TIMEOUT, and a later message waits for the next call', { timeout: 5000 }, async (t) => {
    let peer: Socket | undefined;
    const port = await rawServer(t, (socket) => (peer = socket));
    const conn = await client(t, port);
    await assert.rejects(conn.receive({ timeoutMs: 50 }), code('SL_ERR_REPLY_TIMEOUT'));
    peer!.write('one\ntwo\n');
    assert.equal((await conn.receive({ timeoutMs: 2000 })).toString(), 'one');
    assert.equal((await conn.receive({ timeoutMs: 2000 })).toString(), 'two');
  });

  it('abort before and during: receive() and messages() reject with SL_ERR_ABORTED, never a DOMException', { timeout: 5000 }, async (t) => {
    const port = await rawServer(t, () => {});
    const conn = await client(t, port);
    await assert.rejects(conn.receive({ signal: AbortSignal.abort() }), code('SL_ERR_ABORTED'));
    const during = new AbortController();
    setTimeout(() => during.abort(), 50);
    await assert.rejects(conn.receive({ signal: during.signal }), code('SL_ERR_ABORTED'));
    const loop = new AbortController();
    setTimeout(() => loop.abort(), 50);
    await assert.rejects(async () => {
      for await (const _ of conn.messages({ signal: loop.signal })) assert.fail('nothing was sent');
    }, code('SL_ERR_ABORTED'));
    assert.equal(conn.state, 'open', 'an aborted read leaves the connection open');
    await assert.rejects(connectTcp({ port, signal: AbortSignal.abort() }), code('SL_ERR_ABORTED'));
    await assert.rejects(listenTcp({ port: 0, signal: AbortSignal.abort() }), code('SL_ERR_ABORTED'));
  });

  it('10,000 sequential receive() calls with a deadline and a signal add no listener', { timeout: 20_000 }, async (t) => {
    const s = await server(t);
    s.on('connection', (conn) => conn.on('message', (m) => conn.send(m)));
    const conn = await client(t, s.address().port);
    const warnings: Error[] = [];
    const onWarning = (w: Error): number => warnings.push(w);
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const controller = new AbortController();
    conn.send('0');
    await conn.receive({ timeoutMs: 2000, signal: controller.signal });
    const before = { conn: conn.eventNames().map((e) => conn.listenerCount(e)), socket: conn.socket.eventNames().map((e) => conn.socket.listenerCount(e)) };
    for (let i = 1; i <= 10_000; i++) {
      conn.send(String(i));
      const reply = await conn.receive({ timeoutMs: 2000, signal: controller.signal });
      if (reply.toString() !== String(i)) assert.fail(`reply ${i} was ${reply}`);
    }
    assert.deepEqual({ conn: conn.eventNames().map((e) => conn.listenerCount(e)), socket: conn.socket.eventNames().map((e) => conn.socket.listenerCount(e)) }, before);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    assert.deepEqual(warnings.map((w) => w.name), []);
  });
});

describe('half-close with end()', () => {
  it('end() sends FIN, replies that come after it are still delivered, and the peer FIN closes the connection', { timeout: 5000 }, async (t) => {
    const port = await rawServer(t, (socket) => {
      let got = '';
      socket.on('data', (chunk) => (got += chunk));
      // Answers only once our FIN arrived: a close() instead of end() would have discarded these.
      socket.on('end', () => setTimeout(() => socket.end(got.split('\n').filter(Boolean).map((line) => `re ${line}\n`).join('')), 50));
    });
    const conn = await client(t, port);
    conn.send('a');
    conn.send('b');
    conn.end();
    assert.throws(() => conn.send('c'), code('SL_ERR_CONNECTION_CLOSED'));
    const replies: string[] = [];
    for await (const m of conn.messages()) replies.push(m.toString());
    assert.deepEqual(replies, ['re a', 're b']);
    assert.equal(await conn.closed, undefined);
  });
});

describe('options are checked at the call that takes them', () => {
  it("framing: 'lines' throws RangeError before any socket is bound", { timeout: 5000 }, async (t) => {
    const busy = await server(t);
    // Bound first, the port in use would give SL_ERR_BIND: a RangeError shows validation came first.
    await assert.rejects(listenTcp({ port: busy.address().port, framing: 'lines' as never }), RangeError);
    await assert.rejects(listenTcp({ port: 0, lineEnding: 'cr' as never }), RangeError);
    await assert.rejects(connectTcp({ port: busy.address().port, framing: 'lines' as never }), RangeError);
    await assert.rejects(connectTcp({ port: Number.NaN }), RangeError);
    await assert.rejects(connectTcp({} as never), TypeError);
    await assert.rejects(connectTcp({ port: 1, family: 5 as never }), RangeError);
    await assert.rejects(connectTcp({ port: 1, signal: 'soon' as never }), TypeError);
    const conn = await client(t, busy.address().port);
    await assert.rejects(conn.receive({ timeoutMs: -1 }), RangeError);
    assert.throws(() => conn.messages({ throwOnError: 'yes' as never }), TypeError);
    assert.throws(() => conn.messages({ signal: {} as never }), TypeError);
  });
});

describe('conn.tls', () => {
  it('tells protocol, cipher, the server certificate and how it was verified; undefined for plaintext', { timeout: 10_000 }, async (t) => {
    const s = await listenTcp({ port: 0, tls: true });
    t.after(() => s.destroy());
    s.on('connection', (conn) => conn.on('message', () => {}));
    const conn = await client(t, s.address().port, { tls: { fingerprint: s.certificate.fingerprint256 } });
    const info = conn.tls;
    assert.match(info?.protocol ?? '', /^TLSv1\.[23]$/);
    assert.equal(info?.verified, 'fingerprint');
    assert.equal(info?.peerCertificate?.fingerprint256, s.certificate.fingerprint256);
    const plain = await server(t);
    const c2 = await client(t, plain.address().port);
    assert.equal(c2.tls, undefined);
  });
});
