// socklab nc against real peers: a 20 MiB random file byte-exact each way with nc (OpenBSD), ncat and socat,
// every side exiting by itself; a RESP PING to a real redis-server; an HTTP/1.0 GET to python3 -m http.server.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { before, describe, test, type TestContext } from 'node:test';
import { listenNc, requireTool, startNc } from '../helpers/netcat.js';
import { freePort, start, type Child } from '../helpers/processes.js';
import { RedisServer } from '../helpers/redis.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const FILE = randomBytes(20 * 1024 * 1024);
const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

before(async () => {
  await requireTool('ncat');
  await requireTool('nc', 'netcat-openbsd');
  await requireTool('socat');
});

/** A peer program fed `input` on stdin (ended) with its stdout collected as bytes, and its exit code. */
function runPeer(t: TestContext, command: string, args: string[], input: Buffer | undefined): { done: Promise<{ code: number | null; stdout: Buffer }>; stderr: () => string } {
  const proc = spawn(command, args, { stdio: 'pipe' });
  t.after(() => void (proc.exitCode === null && proc.kill('SIGKILL')));
  const chunks: Buffer[] = [];
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  proc.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  proc.stdin.on('error', () => {});
  if (input) proc.stdin.end(input);
  const done = once(proc, 'exit').then(([code]) => ({ code: code as number | null, stdout: Buffer.concat(chunks) }));
  return { done, stderr: () => stderr };
}

/** Each peer's sending and receiving command lines, on `port`. */
type CommandLine = [command: string, args: string[]];
const PEERS: Record<string, { send: (port: number) => CommandLine; listen: (port: number) => CommandLine }> = {
  ncat: { send: (port: number) => ['ncat', ['127.0.0.1', String(port)]], listen: (port: number) => ['ncat', ['-l', '127.0.0.1', String(port)]] },
  nc: { send: (port: number) => ['nc', ['-N', '127.0.0.1', String(port)]], listen: (port: number) => ['nc', ['-N', '-l', '127.0.0.1', String(port)]] },
  socat: { send: (port: number) => ['socat', ['-', `TCP:127.0.0.1:${port}`]], listen: (port: number) => ['socat', [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, '-']] },
};

/** Waits until something listens on `port` without taking the one-shot listener's only connection: /proc/net/tcp. */
async function listening(port: number, child: { stderr: () => string }): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (let i = 0; i < 250; i++) {
    const table = await readFile('/proc/net/tcp', 'utf8');
    if (table.split('\n').some((line) => line.includes(`0100007F:${hex} 00000000:0000 0A`))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}: ${child.stderr()}`);
}

describe('socklab nc interop: 20 MiB random file, byte-exact, both sides exit by themselves', { concurrency: 3 }, () => {
  for (const [name, peer] of Object.entries(PEERS)) {
    test(`${name} sends to socklab nc -l`, async (t) => {
      const { nc, port } = await listenNc(t, 'socklab', [], { host: '127.0.0.1' });
      const [command, args] = peer.send(port);
      const sender = runPeer(t, command, args, FILE);
      assert.equal((await sender.done).code, 0, sender.stderr());
      assert.equal(await nc.exitWithin(10_000), 0, nc.stderr);
      assert.equal(nc.stdout.length, FILE.length);
      assert.equal(sha(nc.stdout), sha(FILE));
    });

    test(`socklab nc sends to ${name} listening`, async (t) => {
      const port = await freePort();
      const [command, args] = peer.listen(port);
      const receiver = runPeer(t, command, args, undefined);
      await listening(port, receiver);
      const sender = startNc(t, 'socklab', ['127.0.0.1', String(port)]);
      sender.write(FILE);
      sender.endInput();
      assert.equal(await sender.exitWithin(10_000), 0, sender.stderr);
      const { code, stdout } = await receiver.done;
      assert.equal(code, 0, receiver.stderr());
      assert.equal(sha(stdout), sha(FILE));
    });

    test(`socklab nc receives from ${name} listening`, async (t) => {
      const port = await freePort();
      const [command, args] = peer.listen(port);
      const sender = runPeer(t, command, args, FILE);
      await listening(port, sender);
      const receiver = startNc(t, 'socklab', ['127.0.0.1', String(port)]);
      assert.equal(await receiver.exitWithin(10_000), 0, receiver.stderr);
      receiver.endInput();
      assert.equal((await sender.done).code, 0, sender.stderr());
      assert.equal(sha(receiver.stdout), sha(FILE));
    });
  }
});

// A listener whose stdin is empty (a script's `nc -l > file &` has /dev/null there) half-closes at once. The
// sender's file must still arrive whole: socklab nc keeps sending what its stdin still has after the peer's FIN, as
// ncat 7.93 and OpenBSD nc do (each sender run against the same listener in the same test).
describe('a listener that half-closes at once still gets the whole file', { concurrency: 2 }, () => {
  const listeners: Record<string, (port: number) => CommandLine> = {
    ncat: (port) => ['ncat', ['-l', '127.0.0.1', String(port)]],
    'socklab nc': (port) => [process.execPath, ['bin/socklab.cjs', 'nc', '-l', '127.0.0.1', String(port)]],
  };
  for (const [name, listen] of Object.entries(listeners)) {
    for (const sender of ['ncat', 'socklab'] as const) {
      test(`${sender === 'socklab' ? 'socklab nc' : 'ncat'} sends 20 MiB to ${name} -l with stdin at EOF`, async (t) => {
        const port = await freePort();
        const [command, args] = listen(port);
        const receiver = runPeer(t, command, args, Buffer.alloc(0));
        await listening(port, receiver);
        const nc = startNc(t, sender, ['127.0.0.1', String(port)]);
        nc.write(FILE);
        nc.endInput();
        assert.equal(await nc.exitWithin(15_000), 0, nc.stderr);
        const { code, stdout } = await receiver.done;
        assert.equal(code, 0, receiver.stderr());
        assert.equal(stdout.length, FILE.length, `${name} received ${stdout.length} of ${FILE.length} bytes`);
        assert.equal(sha(stdout), sha(FILE));
      });
    }
  }
});

describe('socklab nc interop: real servers', () => {
  test("printf 'PING\\r\\n' | socklab nc to a real redis-server answers +PONG", async (t) => {
    const redis = await RedisServer.start(t);
    const nc = startNc(t, 'socklab', ['127.0.0.1', String(redis.port)]);
    nc.write('PING\r\n');
    nc.endInput();
    assert.equal(await nc.exitWithin(5000), 0, nc.stderr);
    assert.equal(nc.stdout.toString('latin1'), '+PONG\r\n');
  });

  test('an HTTP/1.0 GET to python3 -m http.server prints the response, nothing else', async (t) => {
    // Port 0 and the port it prints: a port picked free first could be taken by a parallel test before python binds.
    const server: Child = start(t, 'python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1']);
    const [, printed] = await server.waitFor(/port (\d+)/, 10_000);
    const port = Number(printed);
    const nc = startNc(t, 'socklab', ['127.0.0.1', String(port)]);
    nc.write('GET / HTTP/1.0\r\n\r\n');
    nc.endInput();
    assert.equal(await nc.exitWithin(5000), 0, nc.stderr);
    assert.match(nc.stdout.toString('latin1'), /^HTTP\/1\.0 200 OK\r\n[^]*\r\n\r\n<!DOCTYPE HTML>/);
    assert.equal(nc.stderr, '');
  });
});
