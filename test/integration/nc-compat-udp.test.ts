// ncat-test.pl's UDP and UNIX-socket cases against Debian's ncat and `socklab nc`, and a datagram each way with
// OpenBSD nc -u.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { assertQuiet, eachNetcat, listenNc, requireTool, startNc } from '../helpers/netcat.js';
import { freePort } from '../helpers/processes.js';

before(async () => {
  await requireTool('ncat');
  await requireTool('nc', 'netcat-openbsd');
});

// One at a time: a datagram still in flight from one case must not land on a port another case reuses.
describe('ncat compatibility: UDP', { concurrency: 1 }, () => {
  test('Server default listen address --udp: IPv4 and IPv6 peers both heard', (t) =>
    eachNetcat(t, async (t, nc) => {
      for (const host of ['127.0.0.1', '::1']) {
        const { nc: server, port } = await listenNc(t, nc, ['--udp']);
        const c = startNc(t, nc, ['--udp', host, String(port)]);
        c.write('abc\n');
        c.endInput();
        assert.equal((await server.waitOutput('abc\n')).toString(), 'abc\n', host);
      }
    }));

  test('-4 --udp server does not hear IPv6, -6 does not hear IPv4', (t) =>
    eachNetcat(t, async (t, nc) => {
      for (const [flag, other, own] of [['-4', '::1', '127.0.0.1'], ['-6', '127.0.0.1', '::1']] as const) {
        const { nc: server, port } = await listenNc(t, nc, ['--udp', flag]);
        const stranger = startNc(t, nc, ['--udp', other, String(port)]);
        stranger.write('no\n');
        stranger.endInput();
        await assertQuiet(server, 400, `${flag} heard ${other}`);
        const friend = startNc(t, nc, ['--udp', own, String(port)]);
        friend.write('abc\n');
        friend.endInput();
        assert.equal((await server.waitOutput('abc\n')).toString(), 'abc\n');
      }
    }));

  test('--udp: the server answers the peer that spoke first', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['--udp']);
      const c = startNc(t, nc, ['--udp', '127.0.0.1', String(port)]);
      c.write('abc\n');
      await server.waitOutput('abc\n');
      server.write('def\n');
      assert.equal((await c.waitOutput('def\n')).toString(), 'def\n');
    }));

  test('--keep-open --exec (udp): one program per peer', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { port } = await listenNc(t, nc, ['--udp', '--keep-open', '--exec', '/bin/cat']);
      for (const text of ['abc\n', 'def\n']) {
        const c = startNc(t, nc, ['--udp', '127.0.0.1', String(port)]);
        // UDP may lose the first datagram while the program for this peer starts: send again until it echoes.
        for (let attempt = 0; attempt < 10 && c.stdout.length === 0; attempt++) {
          c.write(text);
          await c.waitOutput(text, 500).catch(() => undefined);
        }
        assert.equal(c.stdout.toString().slice(0, text.length), text);
      }
    }));

  test('idle timeout (listen mode, udp): no datagram for -i ends the server', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['--udp', '-i', '1000ms']);
      const c = startNc(t, nc, ['--udp', '127.0.0.1', String(port)]);
      c.write('abc\n');
      await server.waitOutput('abc\n');
      assert.notEqual(await server.exitWithin(3000), undefined, 'still running after the idle timeout');
    }));
});

describe('ncat compatibility: UNIX sockets', { concurrency: 2 }, () => {
  test('Server UNIX socket listen (STREAM): -U both sides', (t) =>
    eachNetcat(t, async (t, nc) => {
      const dir = await mkdtemp(join(tmpdir(), 'socklab-nc-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const path = join(dir, 'nc.sock');
      const server = startNc(t, nc, ['--test', '-l', '-U', path]);
      await server.waitStderr(/NCAT TEST: LISTEN/);
      const c = startNc(t, nc, ['-U', path]);
      c.write('abc\n');
      c.endInput();
      assert.equal((await server.waitOutput('abc\n')).toString(), 'abc\n');
    }));

  test('-U --udp (UNIX datagram): ncat serves it; socklab nc refuses with the reason (Node has no UNIX datagram sockets)', async (t) => {
    const c = startNc(t, 'socklab', ['-U', '--udp', '/tmp/nowhere.sock']);
    assert.equal(await c.exitWithin(5000), 2);
    assert.match(c.stderr, /Node has no UNIX datagram sockets/);
  });
});

describe('socklab nc interop: UDP with OpenBSD nc -u', () => {
  test('a datagram each way', async (t) => {
    const port = await freePort();
    const peer = spawn('nc', ['-u', '-l', '127.0.0.1', String(port)], { stdio: 'pipe' });
    t.after(() => void (peer.exitCode === null && peer.kill('SIGKILL')));
    let heard = '';
    peer.stdout.setEncoding('utf8').on('data', (text: string) => (heard += text));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ours = startNc(t, 'socklab', ['-u', '127.0.0.1', String(port)]);
    ours.write('to nc\n');
    for (let i = 0; i < 100 && !heard.includes('to nc\n'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(heard, 'to nc\n');
    peer.stdin.write('to socklab\n');
    assert.equal((await ours.waitOutput('to socklab\n')).toString(), 'to socklab\n');
    ours.endInput();
    assert.equal(await ours.exitWithin(3000), 0);

    const { nc: listener, port: ourPort } = await listenNc(t, 'socklab', ['-u'], { host: '127.0.0.1' });
    const sender = spawn('nc', ['-u', '-q', '1', '127.0.0.1', String(ourPort)], { stdio: 'pipe' });
    t.after(() => void (sender.exitCode === null && sender.kill('SIGKILL')));
    sender.stdin.end('from nc\n');
    assert.equal((await listener.waitOutput('from nc\n')).toString(), 'from nc\n');
    await once(sender, 'exit');
  });
});

describe('socklab nc -z and everyday use', () => {
  test('-z with a port list and ranges: open ports on stderr, exit 0 when any is open, 1 when none', async (t) => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const open = (server.address() as { port: number }).port;
    const closed = await freePort();
    const started = Date.now();
    const scan = startNc(t, 'socklab', ['-z', '127.0.0.1', `${closed},${open}-${open}`]);
    assert.equal(await scan.exitWithin(5000), 0);
    assert.ok(Date.now() - started < 2000, 'the scan waited for more than the connects');
    assert.match(scan.stderr, new RegExp(`127\\.0\\.0\\.1:${open} open`));
    assert.doesNotMatch(scan.stderr, new RegExp(`:${closed} open`));
    assert.equal(scan.stdout.length, 0);
    const none = startNc(t, 'socklab', ['-z', '127.0.0.1', String(closed)]);
    assert.equal(await none.exitWithin(5000), 1);
  });

  test('-l 0 prints the port the kernel chose, and a client there is heard', async (t) => {
    const server = startNc(t, 'socklab', ['-l', '127.0.0.1', '0']);
    const [, port] = (await server.waitStderr(/Listening on 127\.0\.0\.1:(\d+)/))!;
    const c = startNc(t, 'socklab', ['127.0.0.1', port!]);
    c.write(Buffer.from([0, 1, 2, 255, 254]));
    c.endInput();
    assert.deepEqual([...(await server.waitOutput(Buffer.alloc(5)))], [0, 1, 2, 255, 254]);
    assert.equal(await server.exitWithin(3000), 0);
  });
});

describe('socklab nc: -q, -d, -s', () => {
  test('-q 300ms: after the end of stdin, exit that much later though the peer never closes; -d spaces the sends; -s sets the source address', async (t) => {
    const { createServer } = await import('node:net');
    const arrivals: number[] = [];
    const peers: string[] = [];
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      peers.push(socket.remoteAddress ?? '');
      socket.on('data', () => arrivals.push(performance.now()));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const port = String((server.address() as { port: number }).port);
    const quitter = startNc(t, 'socklab', ['-q', '300ms', '-s', '127.0.0.1', '127.0.0.1', port]);
    quitter.write('x');
    quitter.endInput();
    assert.equal(await quitter.exitWithin(3000), 0, 'the -q client did not exit by itself');
    assert.deepEqual(peers, ['127.0.0.1']);
    const delayed = startNc(t, 'socklab', ['-d', '400ms', '127.0.0.1', port]);
    delayed.write('a');
    for (let i = 0; i < 250 && arrivals.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    delayed.write('b');
    for (let i = 0; i < 100 && arrivals.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(arrivals.length, 3, 'the delayed client sent both chunks');
    assert.ok(arrivals[2]! - arrivals[1]! >= 300, `-d 400ms: the second chunk came ${Math.round(arrivals[2]! - arrivals[1]!)} ms after the first`);
  });
});
