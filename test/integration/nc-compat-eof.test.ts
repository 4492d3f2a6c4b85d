// ncat's own external-behaviour cases (nmap's ncat/test/ncat-test.pl): exit codes and the EOF / half-close
// rules. Each case runs against Debian's ncat and `socklab nc`; docs/ncat-compat.md has one row per case.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { before, describe, test, type TestContext } from 'node:test';
import { eachNetcat, listenNc, requireTool, serverClient, startNc, type Netcat } from '../helpers/netcat.js';
import { eventually } from '../helpers/changes.js';
import { freePort } from '../helpers/processes.js';

/** How long a netcat gets to stop by itself (ncat's suite sleeps 1 s). */
const STOP_MS = 1500;

before(() => requireTool('ncat'));

describe('ncat compatibility: exit codes', { concurrency: 4 }, () => {
  test('Connect success exit code: 0 after --send-only sends and stdin ends', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client } = await serverClient(t, nc, [], ['--send-only']);
      client.write('abc\n');
      client.endInput();
      assert.equal(await client.exitWithin(5000), 0);
      assert.equal((await server.waitOutput('abc\n')).toString(), 'abc\n');
    }));

  test('Connect connection refused exit code: 1', (t) =>
    eachNetcat(t, async (t, nc) => {
      const client = startNc(t, nc, ['127.0.0.1', String(await freePort()), '--send-only']);
      client.write('abc\n');
      client.endInput();
      assert.equal(await client.exitWithin(5000), 1);
    }));

  test('Connect connection interrupted exit code: 1 when the server resets', (t) =>
    eachNetcat(t, async (t, nc) => {
      const server = createServer((socket) => socket.resetAndDestroy());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(() => server.close());
      const client = startNc(t, nc, ['127.0.0.1', String((server.address() as AddressInfo).port)]);
      assert.equal(await client.exitWithin(5000), 1);
    }));

  test('Listen success exit code: 0 after a --send-only client is done', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client } = await serverClient(t, nc, [], ['--send-only']);
      client.write('abc\n');
      client.endInput();
      assert.equal(await server.exitWithin(5000), 0);
    }));

  test('Listen connection interrupted exit code: 1 when the client resets', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, []);
      const raw = createConnection({ host: '127.0.0.1', port });
      t.after(() => raw.destroy());
      await once(raw, 'connect');
      raw.resetAndDestroy();
      assert.equal(await server.exitWithin(5000), 1);
    }));

  test('Program error exit code: 2 for an unknown option, in both modes', (t) =>
    eachNetcat(t, async (t, nc) => {
      assert.equal(await startNc(t, nc, ['127.0.0.1', '9', '--baffle']).exitWithin(5000), 2);
      assert.equal(await startNc(t, nc, ['-l', '--baffle']).exitWithin(5000), 2);
    }));
});

/**
 * ncat's eof_test: write abc on one side, see it on the other; close the writer's stdin; the reader's stdout
 * must end; then `who` must have stopped (or still run) one second later.
 */
async function eofCase(
  t: TestContext,
  nc: Netcat,
  options: { serverArgs: string[]; clientArgs: string[]; who: 'client' | 'server'; pipe: 'stdin' | 'socket'; stops: boolean },
): Promise<void> {
  const { server, client } = await serverClient(t, nc, options.serverArgs, options.clientArgs);
  const clientWrites = (options.who === 'client') === (options.pipe === 'stdin');
  const [writer, reader] = clientWrites ? [client, server] : [server, client];
  writer.write('abc\n');
  assert.equal((await reader.waitOutput('abc\n')).toString(), 'abc\n');
  writer.endInput();
  await reader.waitStdoutEnd();
  const subject = options.who === 'client' ? client : server;
  const code = await subject.exitWithin(STOP_MS);
  if (options.stops) assert.notEqual(code, undefined, `${options.who} should have stopped`);
  else assert.equal(code, undefined, `${options.who} should still run`);
}

/** ncat 7.95's `-k` in connect mode (keep running after the peer's FIN) is 7.93's default, where -k is refused. */
const halfOpen = (nc: Netcat): string[] => (nc === 'ncat' ? [] : ['-k']);

describe('ncat compatibility: EOF and half-close', { concurrency: 4 }, () => {
  test('Client closes socket write and stops running after stdin EOF', (t) =>
    eachNetcat(t, (t, nc) => eofCase(t, nc, { serverArgs: [], clientArgs: [], who: 'client', pipe: 'stdin', stops: true })));

  test('--send-only client closes socket write and stops running after stdin EOF', (t) =>
    eachNetcat(t, (t, nc) => eofCase(t, nc, { serverArgs: [], clientArgs: ['--send-only'], who: 'client', pipe: 'stdin', stops: true })));

  test('Server closes socket write and keeps running after stdin EOF', (t) =>
    eachNetcat(t, (t, nc) => eofCase(t, nc, { serverArgs: [], clientArgs: halfOpen(nc), who: 'server', pipe: 'stdin', stops: false })));

  test('--send-only server closes socket write and stops running after stdin EOF', (t) =>
    eachNetcat(t, (t, nc) => eofCase(t, nc, { serverArgs: ['--send-only'], clientArgs: halfOpen(nc), who: 'server', pipe: 'stdin', stops: true })));

  test('Client closes stdout and stops running after socket EOF (ncat 7.95 rule; Debian ncat 7.93 keeps running)', (t) =>
    eachNetcat(t, (t, nc) => eofCase(t, nc, { serverArgs: [], clientArgs: [], who: 'client', pipe: 'socket', stops: nc === 'socklab' })));

  test('Client -k closes stdout and keeps running after socket EOF', (t) =>
    eachNetcat(t, (t, nc) => eofCase(t, nc, { serverArgs: [], clientArgs: halfOpen(nc), who: 'client', pipe: 'socket', stops: false })));

  test('--recv-only client closes stdout and stops running after socket EOF', (t) =>
    eachNetcat(t, (t, nc) => eofCase(t, nc, { serverArgs: [], clientArgs: ['--recv-only'], who: 'client', pipe: 'socket', stops: true })));

  test('Server closes stdout and stops running after socket EOF (TCP, one-shot)', (t) =>
    eachNetcat(t, (t, nc) => eofCase(t, nc, { serverArgs: [], clientArgs: [], who: 'server', pipe: 'socket', stops: true })));

  test('--recv-only server closes stdout and stops running after socket EOF', (t) =>
    eachNetcat(t, (t, nc) => eofCase(t, nc, { serverArgs: ['--recv-only'], clientArgs: [], who: 'server', pipe: 'socket', stops: true })));

  test('--no-shutdown: the end of stdin sends no FIN, the peer sees no EOF', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { server, client } = await serverClient(t, nc, [], ['--no-shutdown']);
      client.write('abc\n');
      await server.waitOutput('abc\n');
      client.endInput();
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.equal(server.stdoutEnded, false, 'the server saw EOF');
      assert.equal(client.running, true);
    }));
});

describe('socklab nc: the peer closes first while stdin still has data', () => {
  // A FIN says only that the peer sends no more: a half-closed peer still reads, so stdin that is flowing is sent
  // to its end (an idle stdin ends nc, as ncat's eof cases above check). 16 MiB must arrive whole, exit 0.
  test('a sender whose peer sends FIN at once still delivers all of stdin, then exits 0', async (t) => {
    let received = 0;
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      socket.end();
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const sender = startNc(t, 'socklab', ['127.0.0.1', String((server.address() as AddressInfo).port)]);
    sender.proc.stdin.on('error', () => {});
    const chunk = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < 16; i++) sender.write(chunk);
    sender.endInput();
    assert.equal(await sender.exitWithin(10_000), 0, sender.stderr);
    assert.doesNotMatch(sender.stderr, /ERR_STREAM_WRITE_AFTER_END|internal error|at /);
    await eventually(() => received === 16 * 1024 * 1024, () => `all 16 MiB at the server (it has ${received} bytes)`);
  });
});
