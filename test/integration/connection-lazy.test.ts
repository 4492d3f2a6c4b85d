import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { listenTcp, startMessageServer, type TcpConnection } from '../../src/index.js';
import { eventually } from '../helpers/changes.js';
import { RawClient } from '../helpers/raw-client.js';

// A connection makes its listener table, decoder, timers and stats only when needed (BENCHMARKS.md, "Where the
// bytes go"). These check that nothing a user can do with the public API notices.
describe('connection state made on first use', () => {
  for (const method of ['once', 'prependListener', 'addListener'] as const) {
    it(`starts reading when the first 'message' listener is added with ${method}()`, { timeout: 5000 }, async (t) => {
      const server = await listenTcp({ port: 0 });
      t.after(() => server.destroy());
      const got = new Promise<string>((resolve) =>
        server.on('connection', (conn) => {
          assert.deepEqual(conn.eventNames(), [], 'no listener table before anyone listens');
          conn[method]('message', (message: Buffer) => resolve(message.toString()));
        }),
      );
      const client = await RawClient.connect(t, server.address().port);
      client.socket.write('hello\n');
      assert.equal(await got, 'hello');
    });
  }

  it('a message server connection serves its protocol and still tells user listeners about every event', async (t) => {
    const server = await startMessageServer({ port: 0, logMessages: false });
    t.after(() => server.close());
    const seen: string[] = [];
    const conns: TcpConnection[] = [];
    server.tcp.on('connection', (conn) => {
      conns.push(conn);
      conn.on('message', (message) => seen.push(`message ${message.toString()}`));
      conn.on('state', (state) => seen.push(`state ${state}`));
      conn.on('close', (error) => seen.push(`close ${error?.code ?? 'ok'}`));
    });
    const client = await RawClient.connect(t, server.address().port);
    client.socket.write('one\nquit\n');
    await client.until(() => client.closed, 'the server closes after quit');
    assert.equal(client.text, 'connected to server\ngot message\ngot message\n');
    await conns[0]!.closed;
    // The server's hooks run before user listeners, as its own listeners did: it has begun closing by the time a
    // user listener sees "quit".
    assert.deepEqual(seen, ['message one', 'state closing', 'message quit', 'state closed', 'close ok']);
    assert.deepEqual(conns[0]!.stats, { messagesIn: 2, messagesOut: 3, bytesDiscarded: 0 });
    assert.equal(server.stats.active, 0, 'the server counted the close without a listener of its own');
    assert.equal(server.tcp.connections.size, 0);
  });

  it('idle clients of a message server carry no listener table, and each close is counted', async (t) => {
    const server = await startMessageServer({ port: 0, logMessages: false });
    t.after(() => server.close());
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(t, server.address().port)));
    await Promise.all(clients.map((client) => client.until(() => client.text === 'connected to server\n', 'greeting')));
    const active = (): number => server.stats.active;
    assert.equal(active(), 20);
    for (const conn of server.tcp.connections) assert.deepEqual(conn.eventNames(), []);
    for (const client of clients.slice(0, 10)) client.socket.end();
    await Promise.all(clients.slice(0, 10).map((client) => (client.closed ? undefined : once(client.socket, 'close'))));
    await eventually(() => active() === 10, () => `10 connections left (${active()} open)`, 5000, 10);
    assert.equal(active(), 10);
    assert.equal(server.tcp.connections.size, 10);
  });
});
