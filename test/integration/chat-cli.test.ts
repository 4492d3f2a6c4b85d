import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { connectTcp } from '../../src/tcp/client.js';
import { stopJson, waitForEvent } from '../helpers/json-lines.js';
import { CLI, start } from '../helpers/processes.js';

interface ChatState {
  sections: { title: string; rows: (string | number)[][] }[];
  connections: { peer: string; lastMessage?: string }[];
}

/** Reads lines from a socket until one matches. */
async function readUntil(socket: Socket, pattern: RegExp, seen: string[]): Promise<void> {
  while (!seen.some((line) => pattern.test(line))) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    seen.push(...chunk.toString('utf8').split('\n'));
  }
}

test('serve --mode chat --dashboard lists who is in the room, names chosen with /nick shown as text', async (t) => {
  const child = start(t, process.execPath, [CLI, 'serve', '--mode', 'chat', '--port', '0', '--dashboard', '0']);
  const [, port] = await child.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 10_000);
  const [, url] = await child.waitFor(/dashboard on (http:\/\/\S+\/)/, 10_000);
  const sockets = await Promise.all(
    [0, 1].map(async () => {
      const socket = connect({ host: '127.0.0.1', port: Number(port) });
      t.after(() => socket.destroy());
      await once(socket, 'connect');
      return socket;
    }),
  );
  const seen: string[] = [];
  await readUntil(sockets[0]!, /^\* you are /, seen);
  sockets[0]!.write('/nick <b>alice</b>\n');
  await readUntil(sockets[0]!, /^\* you are now /, seen);

  const roomOf = async (): Promise<(string | number)[][]> => {
    const state = (await (await fetch(`${url}api/state`)).json()) as ChatState;
    const room = state.sections.find((section) => section.title.startsWith('In the room'));
    assert.ok(room, `a room section in ${JSON.stringify(state.sections.map((s) => s.title))}`);
    return room.rows;
  };
  let rows = await roomOf();
  const deadline = Date.now() + 3000;
  while (rows.length !== 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    rows = await roomOf();
  }
  assert.equal(rows.length, 2);
  const names = rows.map((row) => row[0]).sort();
  assert.ok(names.includes('<b>alice</b>'), `alice in ${JSON.stringify(names)}`);
  assert.ok(names.some((name) => /^127\.0\.0\.1:\d+$/.test(String(name))), 'the other member named by its address');

  sockets[1]!.destroy();
  while ((await roomOf()).length !== 1 && Date.now() < deadline + 3000) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual((await roomOf()).map((row) => row[0]), ['<b>alice</b>']);
});

test('serve --dashboard with --workers is refused with a reason (exit 2)', async (t) => {
  const child = start(t, process.execPath, [CLI, 'serve', '--mode', 'chat', '--port', '0', '--workers', '2', '--dashboard', '0']);
  const { code } = await child.finish(10_000);
  assert.equal(code, 2);
  assert.match(child.stderr, /--dashboard.*--workers/);
});

test('serve --mode chat --json: joins, renames, messages and leaves are events that validate against the schema', async (t) => {
  const child = start(t, process.execPath, [CLI, 'serve', '--mode', 'chat', '--port', '0', '--json']);
  const listening = await waitForEvent(child, (e) => e.event === 'listening', 10_000);
  assert.equal(listening.mode, 'chat');
  const port = (listening.address as { port: number }).port;
  const [alice, bob] = await Promise.all(
    [0, 1].map(async () => {
      const socket = connect({ host: '127.0.0.1', port });
      t.after(() => socket.destroy());
      await once(socket, 'connect');
      return socket;
    }),
  );
  const seen: string[] = [];
  await readUntil(alice!, /^\* you are /, seen);
  await waitForEvent(child, (e) => e.event === 'joined' && e.peer !== undefined && (e.peer as { port: number }).port === bob!.localPort);
  alice!.write('/nick alice\nhello \x1b[2J room\n');
  const bobSaw: string[] = [];
  await readUntil(bob!, /^alice: hello/, bobSaw);
  assert.ok(bobSaw.includes('alice: hello ^[[2J room'), `escaped on the wire: ${JSON.stringify(bobSaw)}`);
  alice!.write('quit\n');
  await waitForEvent(child, (e) => e.event === 'left' && e.name === 'alice');
  const events = await stopJson(child);
  const names = events.map((e) => e.event);
  for (const name of ['listening', 'joined', 'nick', 'message', 'left', 'stopped']) assert.ok(names.includes(name), `a ${name} event in ${names.join(', ')}`);
  const message = events.find((e) => e.event === 'message')!;
  assert.equal(message.name, 'alice');
  assert.equal(message.text, 'hello ^[[2J room');
  assert.equal(child.stdout.includes('\x1b'), false, 'no raw escape byte on stdout');
});

test('serve --mode chat --tls: the room over TLS, the certificate as a --json event, clients pinning its fingerprint', async (t) => {
  const child = start(t, process.execPath, [CLI, 'serve', '--mode', 'chat', '--port', '0', '--tls', '--json']);
  const certificate = await waitForEvent(child, (e) => e.event === 'certificate', 15_000);
  const listening = await waitForEvent(child, (e) => e.event === 'listening', 5000);
  const port = (listening.address as { port: number }).port;
  const fingerprint = certificate.fingerprint as string;
  assert.match(fingerprint, /^sha256:[0-9A-F:]{95}$/);
  const [alice, bob] = await Promise.all(
    [0, 1].map(async () => {
      const conn = await connectTcp({ host: '127.0.0.1', port, tls: { fingerprint } });
      t.after(() => conn.destroy());
      return conn;
    }),
  );
  const heard: string[] = [];
  bob!.on('message', (line) => heard.push(line.toString()));
  await waitForEvent(child, (e) => e.event === 'joined' && (e.peer as { port: number }).port === bob!.local.port);
  alice!.send('over tls');
  const deadline = Date.now() + 5000;
  while (!heard.some((line) => line.endsWith(': over tls')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(heard.some((line) => line.endsWith(': over tls')), `bob heard ${JSON.stringify(heard)}`);
  const plain = connect({ host: '127.0.0.1', port });
  t.after(() => plain.destroy());
  plain.write('hello in plaintext\n');
  const failed = await waitForEvent(child, (e) => e.event === 'tls-failed');
  assert.equal(failed.code, 'SL_ERR_TLS_NOT_TLS');
  await stopJson(child);
});
