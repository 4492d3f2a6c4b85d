// ncat's own external-behaviour cases (nmap's ncat/test/ncat-test.pl) for listen modes, --exec, -C, timeouts,
// --send-only/--recv-only, the broker, logs and source ports. Each runs against Debian's ncat and `socklab nc`.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { assertQuiet, eachNetcat, listenNc, requireTool, serverClient, startNc, waitConnections, type NcProcess } from '../helpers/netcat.js';

before(() => requireTool('ncat'));

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A client of `port` that has sent `text` and whose stdin stays open. */
function client(t: Parameters<typeof startNc>[0], which: Parameters<typeof startNc>[1], port: number, args: string[] = []): NcProcess {
  return startNc(t, which, ['127.0.0.1', String(port), ...args]);
}

describe('ncat compatibility: listen modes', { concurrency: 4 }, () => {
  test('Server default listen address: IPv4 and IPv6 clients both reach `-l PORT`', (t) =>
    eachNetcat(t, async (t, nc) => {
      for (const [host, flag] of [['127.0.0.1', '-4'], ['::1', '-6']] as const) {
        const { nc: server, port } = await listenNc(t, nc, []);
        const c = startNc(t, nc, [flag, host, String(port)]);
        c.write('abc\n');
        c.endInput();
        assert.equal((await server.waitOutput('abc\n')).toString(), 'abc\n', host);
      }
    }));

  test('Server quits without --keep-open once its client is gone', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client: c } = await serverClient(t, nc, [], []);
      c.write('abc\n');
      await server.waitOutput('abc\n');
      await c.stop();
      assert.notEqual(await server.exitWithin(1500), undefined);
    }));

  test('Server does not accept multiple connections without --keep-open', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { port } = await serverClient(t, nc, [], []);
      const second = client(t, nc, port);
      assert.equal(await second.exitWithin(3000), 1, 'the second client could connect');
    }));

  test('--keep-open: two clients one after the other, both heard', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['--keep-open']);
      client(t, nc, port).write('abc\n');
      await server.waitOutput('abc\n');
      client(t, nc, port).write('def\n');
      assert.equal((await server.waitOutput('abc\ndef\n')).toString(), 'abc\ndef\n');
    }));

  test('--keep-open: stdin goes to every client (fan-out)', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['-k', '-v']);
      const one = client(t, nc, port);
      await waitConnections(server, 1);
      const two = client(t, nc, port);
      await waitConnections(server, 2);
      server.write('all\n');
      assert.equal((await one.waitOutput('all\n')).toString(), 'all\n');
      assert.equal((await two.waitOutput('all\n')).toString(), 'all\n');
    }));

  test('--keep-open --exec: one program per client', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['--keep-open', '--exec', '/bin/cat']);
      void server;
      for (const text of ['abc\n', 'def\n']) {
        const c = client(t, nc, port);
        c.write(text);
        assert.equal((await c.waitOutput(text)).toString(), text);
      }
    }));

  test('--max-conns 1: a second client at once is turned away', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['-k', '-m', '1', '-v']);
      const one = client(t, nc, port);
      one.write('one\n');
      await server.waitOutput('one\n');
      const two = client(t, nc, port);
      two.write('two\n');
      await assertQuiet(server, 800, 'the second client was served');
    }));

  test('--broker: what one client sends reaches the other; --send-only / --recv-only brokers', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['--broker', '-v']);
      const one = client(t, nc, port);
      await waitConnections(server, 1);
      // ncat's "IPv4 and IPv6 clients can talk to each other in broker mode": the second comes over IPv6.
      const two = startNc(t, nc, ['-6', '::1', String(port)]);
      await waitConnections(server, 2);
      two.write('abc\n');
      assert.equal((await one.waitOutput('abc\n')).toString(), 'abc\n');
      one.write('def\n');
      assert.equal((await two.waitOutput('def\n')).toString(), 'def\n');
      assert.equal(server.stdout.length, 0, 'the broker printed what it relayed');
    }));

  test('--chat: a line from one client reaches the other (each netcat in its own line format)', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['--chat', '-v']);
      const one = client(t, nc, port);
      await waitConnections(server, 1);
      const two = client(t, nc, port);
      await waitConnections(server, 2);
      await pause(200);
      two.write('hi there\n');
      await one.waitStderr(/$/);
      for (let i = 0; i < 100 && !one.stdout.toString().includes('hi there'); i++) await pause(20);
      assert.match(one.stdout.toString(), /hi there\n/);
    }));

  test('--allow / --deny with CIDR: a denied client gets nothing through', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['-k', '--deny', '127.0.0.0/8']);
      const c = client(t, nc, port);
      c.write('abc\n');
      await c.exitWithin(2000);
      await assertQuiet(server, 300, 'a denied client was heard');
      const { nc: open, port: openPort } = await listenNc(t, nc, ['--allow', '127.0.0.0/8']);
      client(t, nc, openPort).write('abc\n');
      assert.equal((await open.waitOutput('abc\n')).toString(), 'abc\n');
    }));
});

describe('ncat compatibility: --exec and --sh-exec', { concurrency: 4 }, () => {
  // Unbuffered, as ncat-test.pl's: a line in, the line upper-cased out, stdin still open.
  const upper = ['--exec', '/usr/bin/perl -pe $|=1;$_=uc'];
  test('--exec: the client talks to the program', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { client: c } = await serverClient(t, nc, upper, []);
      c.write('abc\n');
      assert.equal((await c.waitOutput('ABC\n')).toString(), 'ABC\n');
    }));

  test('--sh-exec: through /bin/sh -c', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { client: c } = await serverClient(t, nc, ['--sh-exec', "perl -pe '$|=1;$_=uc'"], []);
      c.write('abc\n');
      assert.equal((await c.waitOutput('ABC\n')).toString(), 'ABC\n');
    }));

  test('--exec, quits instantly: its output still arrives', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { client: c } = await serverClient(t, nc, ['--exec', '/bin/echo abc'], []);
      c.write('test\n');
      assert.equal((await c.waitOutput('abc\n')).toString(), 'abc\n');
    }));

  test('--sh-exec with -C: the program\'s LF goes out as CRLF', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { client: c } = await serverClient(t, nc, ['--sh-exec', "perl -pe '$|=1;$_=uc'", '-C'], []);
      c.write('abc\n');
      assert.equal((await c.waitOutput('ABC\r\n')).toString(), 'ABC\r\n');
    }));

  test('--exec, environment variables: NCAT_REMOTE_ADDR/PORT, NCAT_LOCAL_ADDR/PORT, NCAT_PROTO', (t) =>
    eachNetcat(t, async (t, nc) => {
      const script = 'echo "$NCAT_REMOTE_ADDR $NCAT_REMOTE_PORT $NCAT_LOCAL_ADDR $NCAT_LOCAL_PORT $NCAT_PROTO"';
      const { client: c, port } = await serverClient(t, nc, ['--sh-exec', script], []);
      const line = (await c.waitOutput('127.0.0.1 1 127.0.0.1 1 TCP\n')).toString();
      const [remote, remotePort, local, localPort, proto] = line.trim().split(' ');
      assert.deepEqual([remote, local, localPort, proto], ['127.0.0.1', '127.0.0.1', String(port), 'TCP'], line);
      assert.match(remotePort!, /^\d+$/);
    }));

  test('--exec in connect mode: the server talks to the program', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server } = await serverClient(t, nc, [], ['--exec', '/bin/echo abc']);
      assert.equal((await server.waitOutput('abc\n')).toString(), 'abc\n');
    }));
});

describe('ncat compatibility: -C, timeouts, one-way modes, logs', { concurrency: 4 }, () => {
  const chunks = ['\na\nb\n', '---', '\r\nc\r\nd\r\n', '---', 'e\n\nf\n', '---\r', '\n'];
  const translated = '\r\na\r\nb\r\n---\r\nc\r\nd\r\n---e\r\n\r\nf\r\n---\r\n';
  const feed = async (nc: NcProcess): Promise<void> => {
    for (const chunk of chunks) {
      nc.write(chunk);
      await pause(60);
    }
  };

  test('-C translation on input, both sides', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client: c } = await serverClient(t, nc, ['-C'], ['-C']);
      await feed(c);
      assert.equal((await server.waitOutput(translated)).toString(), translated);
      await feed(server);
      assert.equal((await c.waitOutput(translated)).toString(), translated);
    }));

  test('-C: no translation on output (server and client)', (t) =>
    eachNetcat(t, async (t, nc) => {
      const raw = '\na\nb\n---\r\nc\r\nd\r\n';
      const { server, client: c } = await serverClient(t, nc, ['-C'], []);
      c.write(raw);
      assert.equal((await server.waitOutput(raw)).toString(), raw);
      const { server: s2, client: c2 } = await serverClient(t, nc, [], ['-C']);
      s2.write(raw);
      assert.equal((await c2.waitOutput(raw)).toString(), raw);
    }));

  test('idle timeout (connect mode): reads and writes both reset it, then the client exits', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client: c } = await serverClient(t, nc, [], ['-i', '1000ms']);
      c.write('a\n');
      await server.waitOutput('a\n');
      await pause(600);
      server.write('b\n');
      await c.waitOutput('b\n');
      await pause(600);
      c.write('c\n');
      await server.waitOutput('a\nc\n');
      assert.equal(await c.exitWithin(2500), 1, 'the idle timeout did not end the client with exit 1');
    }));

  test('idle timeout (listen mode)', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client: c } = await serverClient(t, nc, ['-i', '1000ms'], []);
      server.write('a\n');
      await c.waitOutput('a\n');
      await pause(600);
      c.write('b\n');
      await server.waitOutput('b\n');
      // Debian's ncat 7.93 exits 2 here, socklab nc 1 (a network condition, as in connect mode).
      assert.notEqual(await server.exitWithin(2500) ?? 0, 0, 'the idle timeout did not end the server with an error');
    }));

  test('--send-only client and server: the other direction is dropped', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client: c } = await serverClient(t, nc, [], ['--send-only']);
      c.write('abc\n');
      await server.waitOutput('abc\n');
      server.write('abc\n');
      await assertQuiet(c, 400, 'a --send-only client printed');
      const { server: s2, client: c2 } = await serverClient(t, nc, ['--send-only'], []);
      c2.write('abc\n');
      await assertQuiet(s2, 400, 'a --send-only server printed');
      s2.write('def\n');
      assert.equal((await c2.waitOutput('def\n')).toString(), 'def\n');
    }));

  test('--recv-only client and server: stdin is not sent', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client: c } = await serverClient(t, nc, [], ['--recv-only']);
      c.write('abc\n');
      await assertQuiet(server, 400, 'a --recv-only client sent');
      server.write('abc\n');
      assert.equal((await c.waitOutput('abc\n')).toString(), 'abc\n');
    }));

  test('Messages are logged to output file (-o), both directions, both sides', (t) =>
    eachNetcat(t, async (t, nc) => {
      const dir = await mkdtemp(join(tmpdir(), 'socklab-nc-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const { server, client: c } = await serverClient(t, nc, ['--output', join(dir, 'server.log')], ['--output', join(dir, 'client.log'), '-x', join(dir, 'client.hex')]);
      c.write('abc\n');
      await server.waitOutput('abc\n');
      server.write('def\n');
      await c.waitOutput('def\n');
      c.endInput();
      await c.exitWithin(3000);
      await server.exitWithin(3000);
      assert.equal(await readFile(join(dir, 'server.log'), 'latin1'), 'abc\ndef\n');
      assert.equal(await readFile(join(dir, 'client.log'), 'latin1'), 'abc\ndef\n');
      const hex = await readFile(join(dir, 'client.hex'), 'latin1');
      assert.match(hex, /^0000   61 62 63 0a {39}abc\. {12}\n0000   64 65 66 0a {39}def\. {12}\n$/);
    }));

  test('Debug messages go to stderr (-vvv): stdout carries only the peer\'s bytes', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client: c } = await serverClient(t, nc, ['-vvv'], ['-vvv']);
      c.write('abc\n');
      assert.equal((await server.waitOutput('abc\n')).toString(), 'abc\n');
      server.write('abc\n');
      assert.equal((await c.waitOutput('abc\n')).toString(), 'abc\n');
      await assertQuiet(c, 200, 'more than the peer\'s bytes on stdout');
    }));

  test('Connect with -p: the source port is the one asked for', (t) =>
    eachNetcat(t, async (t, nc) => {
      const server = createServer();
      const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(() => server.close());
      const { createServer: probe } = await import('node:net');
      const free = probe();
      await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
      const sourcePort = (free.address() as AddressInfo).port;
      await new Promise((resolve) => free.close(resolve));
      startNc(t, nc, ['-p', String(sourcePort), '127.0.0.1', String((server.address() as AddressInfo).port)]);
      const socket = await accepted;
      t.after(() => socket.destroy());
      assert.equal(socket.remotePort, sourcePort);
    }));
});
