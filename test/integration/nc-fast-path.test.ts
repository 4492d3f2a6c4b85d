// socklab nc's fast paths, which the other nc tests (their stdin and stdout are socket pairs) never take: a stdin
// that is a pipe or a regular file (read into reused buffers) and a stdout that is a file or a pipe (written with
// writeSync from the socket's reused buffer). Bytes exact both ways, with backpressure: the far side stops
// reading for a while, and the reader of nc's stdout pipe starts late.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CLI, freePort } from '../helpers/processes.js';

const FILE = randomBytes(12 * 1024 * 1024 + 12345);
const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;
const NC = `${quote(process.execPath)} ${quote(CLI)} nc`;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-nc-fast-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'in.bin'), FILE);
  return dir;
}

/** `sh -c script`, resolving with its exit code and stderr; killed at the end of the test if still running. */
function shell(t: TestContext, script: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return once(child, 'exit').then(([code]) => ({ code: code as number | null, stderr }));
}

/** A server that takes one connection, reads nothing for `stallMs` (so the sender's socket fills), then everything. */
async function collector(t: TestContext, stallMs: number): Promise<{ port: number; received: Promise<Buffer> }> {
  const server = createServer({ allowHalfOpen: true });
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const received = new Promise<Buffer>((resolve) => {
    server.once('connection', (socket: Socket) => {
      const chunks: Buffer[] = [];
      socket.pause();
      setTimeout(() => socket.resume(), stallMs);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => (socket.end(), resolve(Buffer.concat(chunks))));
    });
  });
  return { port: (server.address() as AddressInfo).port, received };
}

for (const [name, feed] of [
  ['a pipe', (dir: string) => `cat ${quote(join(dir, 'in.bin'))} |`],
  ['a regular file', () => ''],
] as const) {
  test(`socklab nc sends stdin from ${name}, byte-exact, with the peer stalled at first`, async (t) => {
    const dir = tempDir(t);
    const { port, received } = await collector(t, 400);
    const redirect = name === 'a regular file' ? `< ${quote(join(dir, 'in.bin'))}` : '';
    const run = shell(t, `${feed(dir)} ${NC} 127.0.0.1 ${port} ${redirect}`);
    const bytes = await received;
    assert.equal((await run).code, 0, (await run).stderr);
    assert.equal(bytes.length, FILE.length);
    assert.equal(sha(bytes), sha(FILE));
  });
}

test('socklab nc sends a piped stdin with --crlf and logs it with -o: the lending reader under a copy', async (t) => {
  const dir = tempDir(t);
  const text = Buffer.from('a\nb\n'.repeat(50_000));
  writeFileSync(join(dir, 'text.txt'), text);
  const { port, received } = await collector(t, 100);
  const log = join(dir, 'log.bin');
  const run = shell(t, `cat ${quote(join(dir, 'text.txt'))} | ${NC} --crlf -o ${quote(log)} 127.0.0.1 ${port}`);
  const bytes = await received;
  assert.equal((await run).code, 0, (await run).stderr);
  const expected = Buffer.from('a\r\nb\r\n'.repeat(50_000));
  assert.equal(sha(bytes), sha(expected));
  assert.equal(sha(readFileSync(log)), sha(expected));
});

for (const [name, sink] of [
  ['a file', (out: string) => `> ${quote(out)}`],
  ['a pipe whose reader starts late', (out: string) => `| (sleep 0.4; cat > ${quote(out)})`],
] as const) {
  test(`socklab nc -l writes what it receives to stdout as ${name}, byte-exact`, async (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'out.bin');
    const port = await freePort();
    const run = shell(t, `${NC} -l 127.0.0.1 ${port} < /dev/null ${sink(out)}`);
    let socket: Socket | undefined;
    for (let i = 0; i < 100 && !socket; i++) {
      try {
        const attempt = connect(port, '127.0.0.1');
        await once(attempt, 'connect');
        socket = attempt;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    }
    assert.ok(socket, `socklab nc -l never listened on ${port}`);
    t.after(() => socket!.destroy());
    socket.end(FILE);
    socket.resume();
    assert.equal((await run).code, 0, (await run).stderr);
    const bytes = readFileSync(out);
    assert.equal(bytes.length, FILE.length);
    assert.equal(sha(bytes), sha(FILE));
  });
}
