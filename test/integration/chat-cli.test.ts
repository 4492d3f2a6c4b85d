import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectTcp } from '../../src/tcp/client.js';
import { eventually } from '../helpers/changes.js';
import { stopJson, waitForEvent } from '../helpers/json-lines.js';
import { CLI, start, startCliServer } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';

interface ChatState {
  sections: { title: string; rows: (string | number)[][] }[];
  connections: { peer: string; lastMessage?: string }[];
}

test('serve --mode chat --dashboard lists who is in the room, names chosen with /nick shown as text', async (t) => {
  const { child, port } = await startCliServer(t, ['serve', '--mode', 'chat', '--port', '0', '--dashboard', '0'], 10_000);
  const [, url] = await child.waitFor(/dashboard on (http:\/\/\S+\/) /, 10_000);
  const clients = await Promise.all([0, 1].map(() => RawClient.connect(t, port)));
  const alice = clients[0]!;
  await alice.until(() => alice.lines.some((line) => /^\* you are /.test(line)), 'the welcome line');
  alice.socket.write('/nick <b>alice</b>\n');
  await alice.until(() => alice.lines.some((line) => /^\* you are now /.test(line)), 'the rename');

  const roomOf = async (): Promise<(string | number)[][]> => {
    const state = (await (await fetch(`${url}api/state`)).json()) as ChatState;
    const room = state.sections.find((section) => section.title.startsWith('In the room'));
    assert.ok(room, `a room section in ${JSON.stringify(state.sections.map((s) => s.title))}`);
    return room.rows;
  };
  let rows: (string | number)[][] = [];
  await eventually(async () => (rows = await roomOf()).length === 2, () => `2 in the room, not ${JSON.stringify(rows)}`, 3000, 100);
  assert.equal(rows.length, 2);
  const names = rows.map((row) => row[0]).sort();
  assert.ok(names.includes('<b>alice</b>'), `alice in ${JSON.stringify(names)}`);
  assert.ok(names.some((name) => /^127\.0\.0\.1:\d+$/.test(String(name))), 'the other member named by its address');

  clients[1]!.socket.destroy();
  await eventually(async () => (rows = await roomOf()).length === 1, () => `1 in the room, not ${JSON.stringify(rows)}`, 5000, 100);
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
  const [alice, bob] = await Promise.all([0, 1].map(() => RawClient.connect(t, port)));
  await alice!.until(() => alice!.lines.some((line) => /^\* you are /.test(line)), 'the welcome line');
  await waitForEvent(child, (e) => e.event === 'joined' && e.peer !== undefined && (e.peer as { port: number }).port === bob!.socket.localPort);
  alice!.socket.write('/nick alice\nhello \x1b[2J room\n');
  await bob!.until(() => bob!.lines.some((line) => /^alice: hello/.test(line)), "alice's message");
  assert.ok(bob!.lines.includes('alice: hello ^[[2J room'), `escaped on the wire: ${JSON.stringify(bob!.lines)}`);
  alice!.socket.write('quit\n');
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
  await eventually(() => heard.some((line) => line.endsWith(': over tls')), () => `bob to hear alice, heard ${JSON.stringify(heard)}`);
  assert.ok(heard.some((line) => line.endsWith(': over tls')), `bob heard ${JSON.stringify(heard)}`);
  const plain = await RawClient.connect(t, port);
  plain.socket.write('hello in plaintext\n');
  const failed = await waitForEvent(child, (e) => e.event === 'tls-failed');
  assert.equal(failed.code, 'SL_ERR_TLS_NOT_TLS');
  await stopJson(child);
});
