// probe with port lists and ranges (the parser nc -z uses), and a `failed` event for each port that is not open.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { parseEvents } from '../helpers/json-lines.js';
import { freePort, runCli } from '../helpers/processes.js';

async function listen(t: TestContext): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

test('probe --json on a closed port prints a failed event with its code, then exits 1', async (t) => {
  const closed = await freePort();
  const { code, stdout, stderr } = await runCli(t, ['probe', '127.0.0.1', String(closed), '--json']);
  assert.equal(code, 1, stderr);
  const events = parseEvents(stdout);
  const failed = events.find((event) => event.event === 'failed');
  assert.ok(failed, stdout);
  assert.equal(failed.code, 'SL_ERR_CONNECT_REFUSED');
  assert.equal(failed.port, closed);
  assert.match(stderr, /SL_ERR_CONNECT_REFUSED/);
});

test('probe --json on a name that does not resolve prints a failed event', async (t) => {
  const { code, stdout } = await runCli(t, ['probe', 'no-such-host.invalid', '80', '--json']);
  assert.equal(code, 1);
  const failed = parseEvents(stdout).find((event) => event.event === 'failed');
  assert.equal(failed?.code, 'SL_ERR_RESOLVE', stdout);
});

test('probe takes a list of ports and ranges: one event per port, exit 0 when any is open', async (t) => {
  const open = await listen(t);
  const closed = await freePort();
  const { code, stdout, stderr } = await runCli(t, ['probe', '127.0.0.1', `${closed},${open}-${open + 1}`, '--json']);
  assert.equal(code, 0, stderr);
  const perPort = parseEvents(stdout).filter((event) => event.event === 'connected' || event.event === 'failed');
  assert.equal(perPort.length, 3, stdout);
  assert.deepEqual(
    perPort.slice(0, 2).map((event) => [event.event, event.event === 'failed' ? event.port : (event.peer as { port: number }).port]),
    [['failed', closed], ['connected', open]],
  );
  assert.match(stderr, new RegExp(`port ${closed}: .*SL_ERR_CONNECT_REFUSED`));
});

test('probe --port with a list: exit 1 when no port is open; a bad list is a usage error (exit 2)', async (t) => {
  const [a, b] = [await freePort(), await freePort()];
  const none = await runCli(t, ['probe', '127.0.0.1', '--port', `${a},${b}`]);
  assert.equal(none.code, 1, none.stderr);
  assert.match(none.stderr, new RegExp(`port ${a}: `));
  const bad = await runCli(t, ['probe', '127.0.0.1', '30-20']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /Invalid port list/);
});
