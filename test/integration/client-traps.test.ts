// `socklab client` without its traps: a lost connection is a failure, --pipeline ends as its help says, and bytes
// that are not UTF-8 are shown escaped, never replaced.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { escapeUtf8 } from '../../src/apps/message-client.js';
import { runCli } from '../helpers/processes.js';

async function serve(t: TestContext, onConnection: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return String((server.address() as AddressInfo).port);
}

test('client exits 1 when the server closes after its greeting, before any input was sent', async (t) => {
  const port = await serve(t, (socket) => socket.end('welcome\n'));
  const { code, stdout, stderr } = await runCli(t, ['client', '127.0.0.1', port], 'one\ntwo\n');
  assert.equal(code, 1, stderr);
  assert.match(stdout, /welcome/);
  assert.match(stderr, /connection lost: closed by the server/);
});

test('client exits 1 when the server resets mid-session', async (t) => {
  const port = await serve(t, (socket) => {
    let reads = 0;
    socket.on('data', () => {
      // Reply to the hello, then cut the client off on its first line.
      if (++reads === 1) socket.write('ok\n');
      else socket.resetAndDestroy();
    });
  });
  const { code, stdout, stderr } = await runCli(t, ['client', '127.0.0.1', port, '--greeting-wait-ms', '0'], 'one\ntwo\nthree\n');
  assert.equal(code, 1, stderr);
  assert.match(stdout, /ok/);
  assert.match(stderr, /connection lost/);
});

test('client exits 0 when the server closes after the last reply (all work done)', async (t) => {
  const port = await serve(t, (socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let at = pending.indexOf(10); at >= 0; at = pending.indexOf(10)) {
        const line = pending.subarray(0, at).toString();
        pending = pending.subarray(at + 1);
        socket.write(`got ${line}\n`);
      }
    });
    socket.on('end', () => socket.end());
  });
  const { code, stdout, stderr } = await runCli(t, ['client', '127.0.0.1', port, '--greeting-wait-ms', '0'], 'one\ntwo\n');
  assert.equal(code, 0, stderr);
  assert.equal(stdout, 'got ack\ngot one\ngot two\n');
});

test('client --pipeline at the end of input against a server that never replies waits --reply-timeout-ms, then exits 0', async (t) => {
  let received = '';
  const port = await serve(t, (socket) => {
    socket.setEncoding('utf8').on('data', (text: string) => (received += text));
    socket.on('end', () => socket.end());
  });
  const { code, stdout, stderr } = await runCli(t, ['client', '127.0.0.1', port, '--pipeline', '--reply-timeout-ms', '300', '--greeting-wait-ms', '0'], 'a\nb\nc\n');
  assert.equal(code, 0, stderr);
  assert.equal(stdout, '');
  assert.match(stderr, /4 of 4 replies missing.*not an error/);
  assert.equal(received, 'ack\na\nb\nc\n');
});

/** Undoes the escaping: `\xNN` back to its byte, everything else UTF-8. */
function unescape(text: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const match of text.matchAll(/\\x([0-9a-f]{2})/g)) {
    parts.push(Buffer.from(text.slice(last, match.index), 'utf8'), Buffer.from([parseInt(match[1]!, 16)]));
    last = match.index! + match[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

test('client shows bytes that are not UTF-8 escaped (never replaced) and points to socklab nc', async (t) => {
  // Random bytes without LF (a reply boundary) or backslash (so the escaping reads back unambiguously).
  const payload = randomBytes(512).map((byte) => (byte === 0x0a || byte === 0x5c ? 0xff : byte));
  payload[0] = 0xff;
  const port = await serve(t, (socket) => {
    socket.once('data', () => socket.write(payload));
    socket.on('end', () => socket.end());
  });
  const { code, stdout, stderr } = await runCli(t, ['client', '127.0.0.1', port, '--greeting-wait-ms', '0'], '');
  assert.equal(code, 0, stderr);
  assert.ok(!stdout.includes('\ufffd'), 'a byte was replaced with U+FFFD');
  assert.match(stdout, /\\xff/);
  assert.deepEqual(unescape(stdout.replaceAll('\n', '')), Buffer.from(payload));
  const hints = stderr.split('\n').filter((line) => line.includes('not UTF-8'));
  assert.equal(hints.length, 1, stderr);
  assert.match(hints[0]!, new RegExp(`socklab nc 127\\.0\\.0\\.1 ${port}`));
});

test('escapeUtf8 keeps valid UTF-8 and escapes each invalid byte', () => {
  assert.deepEqual(escapeUtf8(Buffer.from('héllo €𝄞', 'utf8')), { text: 'héllo €𝄞', escaped: false });
  // Stray continuation, overlong "/", a surrogate, past U+10FFFF, a truncated sequence at the end.
  const bytes = Buffer.from([0x61, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xe2, 0x82]);
  assert.deepEqual(escapeUtf8(bytes), { text: 'a\\x80\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\\xe2\\x82', escaped: true });
});
