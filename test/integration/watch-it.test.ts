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
import { requirePython, step } from '../helpers/grading.js';
import { available, CLI, ROOT, start, startCliServer, startPeer } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { box, boxBlocks, capture, captured, flags, pollSs, recordedStates, ss, states } from '../helpers/watch.js';

const guide = readFileSync(`${ROOT}workshop/README.md`, 'utf8');

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

const has = (rows: string[][], state: string): boolean => rows.some(([name]) => name === state);

describe('watch it: the boxes of chapters 4, 5, 8, 9, 10 and 11', { concurrency: 3 }, () => {
  it('chapter 4: after the greeting, FIN-WAIT-2 on the server and CLOSE-WAIT on the client; the flags as recorded', async (t) => {
    const { child, port } = await step(t, '02-greeting-server');
    const dump = await capture(t, `port ${port}`);
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true }); // like ncat: our side stays open after the FIN
    t.after(() => client.destroy());
    client.resume();
    await once(client, 'end');
    const rows = await pollSs('tan', port, (found) => has(found, 'FIN-WAIT-2') && has(found, 'CLOSE-WAIT'));
    const [ssLines, dumpLines] = boxBlocks(box('an open session that does not end'));
    const names = new Map([[port, '12345'], [client.localPort!, '50001']]);
    assert.deepEqual(states(rows, names), recordedStates(ssLines!), rows.join('\n'));
    client.end(); // Ctrl-D in ncat
    assert.equal((await child.finish(5000)).code, 0, 'the server exits once the client has closed too');
    await captured(dump, /Flags \[F\.\]/, 2);
    const notAcks = (list: string[]): string[] => list.filter((flag) => flag !== '.');
    assert.deepEqual(notAcks(flags(dump.stdout)), notAcks(flags(dumpLines!.join('\n'))), dump.stdout);
  });

  it('chapter 5: step 3 stops listening once it serves its client; a second connect gets a reset', async (t) => {
    assert.ok(await available('ncat'), 'ncat is not installed: apt-get install -y ncat');
    const { port } = await step(t, '03-message-server');
    const [listening, refused, dumpLines] = boxBlocks(box('one client, then no listener'));
    const before = await pollSs('ltn', port, (found) => found.length === 1);
    assert.deepEqual(before.map(([state, recvQ, sendQ]) => [state, recvQ, sendQ]), [['LISTEN', '0', '511']]);
    assert.deepEqual(states(before, new Map([[port, '12345']])), recordedStates(listening!));
    const first = await RawClient.connect(t, port);
    await first.waitForText(/Thank you for connecting\n/);
    const after = await pollSs('ltn', port, (found) => found.length === 0);
    assert.deepEqual(after, [], 'no listener while the first client is served');
    assert.deepEqual(recordedStates(refused!), []);
    const dump = await capture(t, `port ${port}`);
    const ncat = start(t, 'ncat', ['127.0.0.1', String(port)]);
    ncat.input('', true);
    assert.equal((await ncat.finish(5000)).code, 1);
    assert.equal(ncat.stderr.trim(), refused!.find((line) => line.startsWith('Ncat:')));
    await captured(dump, /Flags \[R\.\]/, 1);
    assert.deepEqual(flags(dump.stdout), flags(dumpLines!.join('\n')), dump.stdout);
    first.socket.write('quit\n');
    await first.waitForClose();
  });

  it('chapter 8: through the slicer the server gets one segment per byte, its own replies whole', async (t) => {
    const { port } = await step(t, '05-sequential-server');
    const proxy = await startCliServer(t, ['proxy', 'localhost', String(port), '--port', '0', '--slice', '1', '--slice-delay-ms', '5']);
    const dump = await capture(t, `port ${port} and tcp[tcpflags] & tcp-push != 0`);
    const client = start(t, process.execPath, [CLI, 'client', 'localhost', String(proxy.port), '--no-hello', '--line-replies']);
    client.input('hello\n', true);
    assert.equal((await client.finish(10_000)).code, 0, client.stderr);
    const lines = await captured(dump, /length [1-9]/, 8);
    const [, dumpLines] = boxBlocks(box('segment sizes'));
    assert.equal(dumpLines!.length, 8);
    const sizes = (list: string[]): string[] => list.map((line) => `${line.includes(`.${port} >`) || line.includes('.12345 >') ? 'from' : 'to'} ${/length (\d+)/.exec(line)![1]}`);
    assert.deepEqual(sizes(lines), sizes(dumpLines!), dump.stdout);
  });

  it('chapter 9: a client that half-closes in the accept queue of the seed-like server3.py sits in CLOSE-WAIT', async (t) => {
    await requirePython();
    const { port } = await startPeer(t, 'seed_server3.py', ['0']);
    const first = await RawClient.connect(t, port);
    await first.waitForText(/Thank you for connecting\n/);
    const second = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    t.after(() => second.destroy());
    let reset = '';
    second.on('error', (err: NodeJS.ErrnoException) => (reset = err.code ?? ''));
    second.resume();
    await once(second, 'connect');
    second.end(); // Ctrl-D in the second ncat, before its turn
    const names = new Map([[port, '12345'], [first.socket.localPort!, '50001'], [second.localPort!, '50002']]);
    const [waiting, served] = boxBlocks(box('a CLOSE-WAIT that stays'));
    const rows = await pollSs('tan', port, (found) => has(found, 'CLOSE-WAIT') && has(found, 'FIN-WAIT-2'));
    assert.deepEqual(states(rows, names), recordedStates(waiting!), rows.join('\n'));
    const listener = rows.find(([state]) => state === 'LISTEN');
    assert.deepEqual(listener?.slice(1, 3), ['1', '5'], 'one connection waits in the accept queue of 5');
    await sleep(500);
    assert.ok(has(ss('tan', port), 'CLOSE-WAIT'), 'still in CLOSE-WAIT: the program has not closed it');
    const closed = new Promise((resolve) => second.once('close', resolve)); // once() would reject on the reset
    first.socket.write('quit');
    await closed;
    assert.equal(reset, 'ECONNRESET', 'the connection the server never accepted is reset when it exits');
    const after = await pollSs('tan', port, (found) => found.length === 1 && has(found, 'TIME-WAIT'));
    assert.deepEqual(states(after, names), recordedStates(served!), after.join('\n'));
  });

  it("chapter 10: step 9's refused connect and reset are resets on the wire, as recorded", async (t) => {
    const dump = await capture(t, 'tcp[tcpflags] & tcp-rst != 0');
    const run = start(t, process.execPath, ['dist/workshop/steps/09-errors.js']);
    assert.equal((await run.finish(10_000)).code, 0, run.stderr);
    const [, dumpLines] = boxBlocks(box('resets'));
    assert.equal(dumpLines!.length, 3);
    // Other programs on lo may add resets of their own; step 9 makes at least the recorded ones.
    const resets = await captured(dump, /Flags \[R/, dumpLines!.length);
    assert.ok(resets.length >= dumpLines!.length, dump.stdout);
    assert.ok(dumpLines!.every((line) => /Flags \[R\.?\]/.test(line)));
    assert.ok(resets.some((line) => /Flags \[R\.\], seq 0, ack \d+, win 0, length 0/.test(line)), `the refused connect's reset:\n${dump.stdout}`);
  });

  it('chapter 11: the UDP socket is UNCONN; a get is 3 bytes, the reply 1; no server: ICMP port unreachable', async (t) => {
    const server = await step(t, '10-udp-counter-server');
    const { port } = server;
    const [ssLines, dumpLines] = boxBlocks(box('datagrams'));
    const rows = await pollSs('uan', port, (found) => found.length === 1);
    assert.deepEqual(states(rows, new Map([[port, '12345']])), recordedStates(ssLines!));
    const dump = await capture(t, `udp port ${port} or icmp`);
    const client = start(t, process.execPath, ['dist/workshop/steps/11-udp-client.js', String(port), '1']);
    assert.equal((await client.finish(10_000)).code, 0, client.stdout);
    await server.child.stop();
    const again = start(t, process.execPath, ['dist/workshop/steps/11-udp-client.js', String(port), '1']);
    assert.equal((await again.finish(10_000)).code, 1);
    assert.match(again.stdout, /refused/);
    const lines = await captured(dump, new RegExp(`\\.${port}: UDP|\\.${port} > .*UDP|udp port ${port} unreachable`), dumpLines!.length);
    const shape = (list: string[]): string[] => list.map((line) => (/unreachable/.test(line) ? 'unreachable' : /UDP, length (\d+)/.exec(line)![0]));
    assert.deepEqual(shape(lines), shape(dumpLines!), dump.stdout);
  });
});
