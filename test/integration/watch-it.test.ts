/**
 * The guide's "watch it" boxes: what ss and tcpdump show is re-produced here and compared with the recorded
 * lines (the states are also in the transcript of step 19, checked by workshop.test.ts).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { requirePython } from '../helpers/grading.js';
import { available, ROOT, start, startPeer } from '../helpers/processes.js';

const guide = readFileSync(`${ROOT}workshop/README.md`, 'utf8');
const flags = (text: string): string[] => [...text.matchAll(/Flags \[([^\]]+)\]/g)].map((match) => match[1]!);

describe('watch it: ss and tcpdump', () => {
  it('tcpdump shows the handshake, data, FIN both ways and a reset, as the box in chapter 19 records', async (t) => {
    assert.ok(await available('tcpdump'), 'tcpdump is not installed: apt-get install -y tcpdump');
    const box = guide.slice(guide.indexOf('> **Watch it: `ss` and `tcpdump`.**'));
    const recorded = flags(box.slice(0, box.indexOf('> ```\n>\n')));
    assert.deepEqual(recorded, ['S', 'S.', '.', 'P.', '.', 'F.', 'P.', '.', 'F.', '.', 'S', 'R.']);
    const server = createServer({ allowHalfOpen: true }, (conn) => {
      conn.resume();
      conn.on('end', () => conn.end('bye\n'));
    });
    t.after(() => server.close());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    closed.close(); // a port where nothing listens: the SYN gets a reset
    const dump = start(t, 'tcpdump', ['-i', 'lo', '-n', '-l', `tcp port ${port} or tcp port ${closedPort}`]);
    await dump.waitFor(/listening on lo/, 5000, 'stderr');
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(client, 'connect');
    client.resume();
    client.end('hello\n');
    await once(client, 'close');
    const refused = connect({ port: closedPort, host: '127.0.0.1' });
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
    await dump.waitFor(/Flags \[R\.\]/, 5000);
    await sleep(100);
    // The server may ACK the FIN with its reply instead of on its own; the sequence is otherwise the same.
    const seen = flags(dump.stdout);
    assert.deepEqual(seen.filter((flag) => flag !== '.'), recorded.filter((flag) => flag !== '.'), dump.stdout);
  });

  it('ss -ltn shows clients waiting in the accept queue of the seed-like blocking server (chapter 7)', async (t) => {
    await requirePython();
    const { port } = await startPeer(t, 'seed_server3.py', ['0']);
    const sockets = [0, 1, 2].map(() => connect({ port, host: '127.0.0.1' }).on('error', () => {}));
    t.after(() => sockets.forEach((socket) => socket.destroy()));
    await Promise.all(sockets.map((socket) => once(socket, 'connect')));
    await sleep(200); // the first is accepted; the kernel completed the other two, which wait to be accepted
    const ss = start(t, 'ss', ['-Hltn', `sport = :${port}`]);
    await ss.finish(5000);
    const [state, recvQ, sendQ] = ss.stdout.trim().split(/\s+/);
    assert.deepEqual([state, recvQ, sendQ], ['LISTEN', '2', '5'], ss.stdout);
    assert.match(guide, /LISTEN 2 +5 +127\.0\.0\.1:12345/);
  });
});
