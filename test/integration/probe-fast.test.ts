import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { start } from '../helpers/processes.js';
import { CLI } from '../helpers/processes.js';

test('probe returns as soon as the connect succeeds: FIN (not a reset) to a greeting server that never closes', async (t) => {
  const sockets: Socket[] = [];
  let finAt = 0;
  let reset = false;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.write('hello\n');
    socket.on('end', () => (finAt = performance.now()));
    socket.on('error', () => (reset = true));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const probe = start(t, process.execPath, [CLI, 'probe', '127.0.0.1', String((server.address() as AddressInfo).port)]);
  await once(probe.proc, 'exit');
  const exitedAt = performance.now();
  assert.equal(probe.proc.exitCode, 0, probe.stderr);
  assert.ok(finAt > 0, 'the server never saw FIN');
  assert.equal(reset, false, 'the probe reset the connection');
  // The graceful close it replaced waited up to 1 s for the server's FIN, which never comes here.
  assert.ok(exitedAt - finAt < 500, `the probe exited ${Math.round(exitedAt - finAt)} ms after its FIN`);
});
