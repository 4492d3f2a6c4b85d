import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { connectTcp, listenTcp, resolveHostAll, SocklabError, startMessageServer, type ConnectClientOptions, type TcpConnection, type TcpServer } from '../../src/index.js';
import { startPeer } from '../helpers/processes.js';

async function server(t: TestContext, options: Parameters<typeof listenTcp>[0] = {}): Promise<TcpServer> {
  const s = await listenTcp({ port: 0, ...options });
  t.after(() => s.destroy());
  return s;
}

async function client(t: TestContext, port: number, options: ConnectClientOptions & { host?: string } = {}): Promise<TcpConnection> {
  const c = await connectTcp({ host: '127.0.0.1', port, ...options });
  t.after(() => c.destroy());
  return c;
}

/** A bare node:net socket, for sending exact bytes with no socklab in the way. */
async function rawSocket(t: TestContext, port: number): Promise<Socket> {
  const socket = netConnect({ host: '127.0.0.1', port });
  t.after(() => void socket.destroy());
  await once(socket, 'connect');
  return socket;
}

async function readUntilClose(socket: Socket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  await once(socket, 'close');
  return text;
}

describe('TCP connection and server', () => {
  it('delivers messages both ways as an async iterator and as events', async (t) => {
    const s = await server(t);
    s.on('connection', (conn) => {
      conn.on('message', (m) => conn.send(`echo ${m.toString()}`));
      conn.on('end', () => void conn.close());
    });
    const c = await client(t, s.address().port);
    c.send('one');
    c.send('two');
    const replies: string[] = [];
    for await (const reply of c.messages()) {
      replies.push(reply.toString());
      if (replies.length === 2) break;
    }
    assert.deepEqual(replies, ['echo one', 'echo two']);
    assert.equal(await c.closed, undefined);
  });

  it('serves connections from the server as an async iterator', async (t) => {
    const s = await server(t);
    const served = (async () => {
      for await (const conn of s) {
        conn.send('welcome');
        await conn.close();
        return conn.remote.port;
      }
      return -1;
    })();
    const c = await client(t, s.address().port);
    const localPort = c.local.port;
    const [message] = await c.messages().next().then((r) => [r.value?.toString()]);
    assert.equal(message, 'welcome');
    await c.close();
    assert.equal(await served, localPort);
    assert.equal(c.local.port, localPort, 'local endpoint kept after close once read');
  });

  it('binds ::1 and reports IPv6 endpoints', async (t) => {
    const s = await server(t, { host: '::1' });
    assert.equal(s.address().family, 'IPv6');
    s.on('connection', (conn) => conn.send('v6'));
    const c = await client(t, s.address().port, { host: '::1' });
    const { value } = await c.messages().next();
    assert.equal(value?.toString(), 'v6');
    assert.equal(c.remote.address, '::1');
  });

  it('ends messages() at the peer EOF and still lets replies go out', async (t) => {
    const s = await server(t);
    s.on('connection', async (conn) => {
      const got: string[] = [];
      for await (const m of conn.messages()) got.push(m.toString());
      conn.send(`you sent ${got.length}: ${got.join(',')}`);
      await conn.close();
    });
    const socket = await rawSocket(t, s.address().port);
    socket.end('a\nb\nunterminated');
    assert.equal(await readUntilClose(socket), 'you sent 3: a,b,unterminated\n');
  });

  it('close() and destroy() can be called any number of times', async (t) => {
    const s = await server(t);
    s.on('connection', (conn) => conn.on('message', () => {}).on('end', () => void conn.close()));
    const c = await client(t, s.address().port);
    await Promise.all([c.close(), c.close()]);
    c.destroy();
    await c.close();
    assert.equal(c.state, 'closed');
    assert.throws(() => c.send('late'), { code: 'SL_ERR_CONNECTION_CLOSED' });
    await Promise.all([s.close(), s.close()]);
  });

  it('resolves closed with SL_ERR_CONNECTION_RESET when the peer resets', async (t) => {
    const s = await server(t);
    const accepted = once(s, 'connection') as Promise<[TcpConnection]>;
    const socket = await rawSocket(t, s.address().port);
    const [conn] = await accepted;
    conn.on('message', () => {});
    socket.resetAndDestroy();
    const error = await conn.closed;
    assert.equal(error?.code, 'SL_ERR_CONNECTION_RESET');
  });

  it('tells a client with a too-long line why, and closes it', async (t) => {
    const s = await server(t, { maxMessageBytes: 16, farewell: (reason) => `error ${reason.code}` });
    const accepted = once(s, 'connection') as Promise<[TcpConnection]>;
    const socket = await rawSocket(t, s.address().port);
    const [conn] = await accepted;
    conn.on('message', () => assert.fail('no message should be delivered'));
    socket.write('x'.repeat(64));
    assert.equal(await readUntilClose(socket), 'error SL_ERR_FRAME_TOO_LARGE\n');
    assert.equal((await conn.closed)?.code, 'SL_ERR_FRAME_TOO_LARGE');
  });

  it('turns away clients past maxConnections with a message, and reuses freed slots', async (t) => {
    const s = await server(t, { maxConnections: 1, farewell: (reason) => reason.code });
    s.on('connection', (conn) => conn.on('message', () => void conn.close()));
    const firstAccepted = once(s, 'connection') as Promise<[TcpConnection]>;
    const first = await client(t, s.address().port);
    first.on('message', () => {});
    const [firstOnServer] = await firstAccepted;
    const second = await rawSocket(t, s.address().port);
    assert.equal(await readUntilClose(second), 'SL_ERR_SERVER_FULL\n');
    assert.equal(s.stats.rejected, 1);
    first.send('bye');
    await firstOnServer.closed;
    assert.equal(s.stats.active, 0);
    const third = await client(t, s.address().port);
    third.on('message', () => {});
    third.send('hello');
    assert.equal(await third.closed, undefined);
    assert.equal(s.stats.accepted, 2);
  });

  it('pauses reading when a for-await consumer falls behind, without losing messages', async (t) => {
    const s = await server(t, { maxQueuedMessages: 4 });
    const accepted = once(s, 'connection') as Promise<[TcpConnection]>;
    const c = await client(t, s.address().port);
    const [conn] = await accepted;
    for (let i = 0; i < 200; i++) c.send(`m${i}`);
    const clientClosed = c.close();
    const got: string[] = [];
    let sawPaused = false;
    for await (const m of conn.messages()) {
      got.push(m.toString());
      sawPaused ||= conn.socket.isPaused();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await conn.close();
    assert.equal(await clientClosed, undefined);
    assert.equal(got.length, 200);
    assert.equal(got[199], 'm199');
    assert.ok(sawPaused, 'reading was paused while the queue was full');
  });

  it('cuts off a peer that does not read once output passes maxBufferedBytes', async (t) => {
    const s = await server(t, { maxBufferedBytes: 64 * 1024 });
    const accepted = once(s, 'connection') as Promise<[TcpConnection]>;
    const socket = await rawSocket(t, s.address().port);
    socket.pause();
    const [conn] = await accepted;
    const chunk = 'y'.repeat(16 * 1024);
    for (let i = 0; i < 1000 && conn.state === 'open'; i++) conn.send(chunk);
    assert.equal((await conn.closed)?.code, 'SL_ERR_OUTPUT_OVERFLOW');
  });

  it('closes a silent connection after idleTimeoutMs with a reason', async (t) => {
    const s = await server(t, { idleTimeoutMs: 100, farewell: (reason) => reason.code });
    s.on('connection', (conn) => conn.on('message', () => {}));
    const socket = await rawSocket(t, s.address().port);
    const started = Date.now();
    assert.equal(await readUntilClose(socket), 'SL_ERR_IDLE_TIMEOUT\n');
    assert.ok(Date.now() - started >= 90);
  });
});

describe('connect errors', () => {
  it('fails with SL_ERR_CONNECT_REFUSED when nothing listens', async (t) => {
    const s = await server(t);
    const port = s.address().port;
    await s.close();
    await assert.rejects(connectTcp({ host: '127.0.0.1', port }), (err: SocklabError) => {
      assert.equal(err.code, 'SL_ERR_CONNECT_REFUSED');
      assert.equal((err.cause as { code: string }).code, 'ECONNREFUSED');
      return true;
    });
  });

  it('reaches a server listening only on the last address a name resolves to', async (t) => {
    // Where localhost is both ::1 and 127.0.0.1 this needs the fallback; where it is one address, a plain connect.
    const addresses = await resolveHostAll('localhost');
    const last = addresses[addresses.length - 1]!.address;
    const s = await server(t, { host: last });
    s.on('connection', (conn) => conn.send(`served on ${last}`));
    const c = await client(t, s.address().port, { host: 'localhost' });
    assert.equal((await c.messages().next()).value?.toString(), `served on ${last}`);
  });

  it('fails with SL_ERR_RESOLVE for a name that does not resolve', async () => {
    await assert.rejects(connectTcp({ host: 'no-such-host.invalid', port: 80 }), { code: 'SL_ERR_RESOLVE' });
  });

  it('fails with SL_ERR_CONNECT_TIMEOUT within connectTimeoutMs when SYNs go unanswered', async (t) => {
    const { port } = await startPeer(t, 'black_hole.py', ['60']);
    // One connection fills the backlog-0 queue; later SYNs are dropped, as by a host that is down.
    const filler = netConnect({ host: '127.0.0.1', port });
    filler.on('error', () => {});
    t.after(() => void filler.destroy());
    await once(filler, 'connect');
    const started = Date.now();
    await assert.rejects(connectTcp({ host: '127.0.0.1', port, connectTimeoutMs: 300 }), { code: 'SL_ERR_CONNECT_TIMEOUT' });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 3000, `gave up after ${elapsed} ms`);
  });

  it('rejects bad options with RangeError before opening a socket', async () => {
    await assert.rejects(connectTcp({ port: 70_000 }), RangeError);
    await assert.rejects(listenTcp({ maxConnections: 0 }), RangeError);
    await assert.rejects(listenTcp({ maxMessageBytes: -1 }), RangeError);
  });

  it('fails with SL_ERR_BIND when the port is taken', async (t) => {
    const s = await server(t);
    await assert.rejects(listenTcp({ port: s.address().port }), { code: 'SL_ERR_BIND' });
  });
});

describe('message server (library)', () => {
  it('greets, replies to each line and ends the session on quit, discarding what follows it', async (t) => {
    const server = await startMessageServer({ port: 0, mode: 'concurrent', greeting: 'hi', reply: 'ok {message}' });
    t.after(() => server.close());
    const socket = await rawSocket(t, server.address().port);
    socket.write('one\ntwo\r\nquit\nthree\n');
    assert.equal(await readUntilClose(socket), 'hi\nok one\nok two\nok quit\n');
    assert.equal(server.stats.messages, 3);
  });

  it('treats a half-close as quit, flushing the replies owed', async (t) => {
    const server = await startMessageServer({ port: 0, greeting: null });
    t.after(() => server.close());
    const socket = await rawSocket(t, server.address().port);
    socket.end('a\nb\n');
    assert.equal(await readUntilClose(socket), 'got message\ngot message\n');
  });

  it('tells connected clients it is shutting down on close()', async (t) => {
    const server = await startMessageServer({ port: 0, greeting: null });
    const socket = await rawSocket(t, server.address().port);
    const text = readUntilClose(socket);
    socket.write('x\n');
    await once(socket, 'data');
    await server.close();
    assert.match(await text, /error SL_ERR_SHUTDOWN: Server is shutting down\n$/);
  });
});
