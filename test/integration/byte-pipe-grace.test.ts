// The input's grace after the peer's FIN (pipeSocket's inputGraceAfterPeerEndMs): input still flowing at the FIN is
// sent to its end; input that had already been silent for the whole grace ends the pipe at the FIN itself, not a
// grace later (every `echo hi | nc host port` with a pipe left open used to wait 250 ms after the reply).
// The grace here is long (1.5 s) and the late chunk comes 100 ms after the FIN, so the margins are wide.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { pipeSocket } from '../../src/index.js';

const GRACE_MS = 1_500;

/** A listener that half-closes `finAfterMs` after accepting and collects what the client sends until its FIN. */
async function halfClosingPeer(t: TestContext, finAfterMs: number): Promise<{ port: number; received: Promise<string> }> {
  let resolveReceived!: (text: string) => void;
  const received = new Promise<string>((resolve) => (resolveReceived = resolve));
  const peers = new Set<Socket>();
  const server = createServer((peer: Socket) => {
    peers.add(peer);
    const chunks: Buffer[] = [];
    peer.on('data', (chunk: Buffer) => chunks.push(chunk));
    peer.on('end', () => resolveReceived(Buffer.concat(chunks).toString()));
    peer.on('close', () => resolveReceived(Buffer.concat(chunks).toString()));
    peer.on('error', () => {});
    setTimeout(() => peer.end(), finAfterMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const peer of peers) peer.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, received };
}

async function pipeTo(t: TestContext, port: number, input: PassThrough) {
  // Half-open, as nc's sockets are: otherwise Node ends our side itself at the peer's FIN.
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const finSeen = new Promise<number>((resolve) => socket.once('end', () => resolve(performance.now())));
  const output = new PassThrough();
  output.resume();
  return { result: pipeSocket({ socket, input, output, inputGraceAfterPeerEndMs: GRACE_MS }), finSeen };
}

test('input silent for the whole grace when the peer sends FIN: the pipe ends at the FIN, and a later chunk is not sent', { timeout: 10_000 }, async (t) => {
  const { port, received } = await halfClosingPeer(t, GRACE_MS + 300);
  const input = new PassThrough();
  t.after(() => input.destroy());
  const { result, finSeen } = await pipeTo(t, port, input);
  await finSeen;
  await sleep(100);
  input.write('late\n'); // the old rule took this as "still flowing" and sent it
  const { reason, bytesSent } = await result;
  assert.equal(reason, 'peer-closed');
  assert.equal(bytesSent, 0);
  assert.equal(await received, '');
});

test('input that gave a chunk just before the peer\'s FIN is still flowing: a chunk after the FIN is sent, and the end of input ends the pipe', { timeout: 10_000 }, async (t) => {
  const { port, received } = await halfClosingPeer(t, 400);
  const input = new PassThrough();
  t.after(() => input.destroy());
  const { result, finSeen } = await pipeTo(t, port, input);
  await sleep(200);
  input.write('early\n');
  await finSeen;
  await sleep(100);
  input.end('late\n');
  const { reason, bytesSent } = await result;
  assert.equal(reason, 'input-closed');
  assert.equal(bytesSent, 'early\nlate\n'.length);
  assert.equal(await received, 'early\nlate\n');
});

test('input that gives nothing within the grace after the FIN (it had flowed just before) ends the pipe a grace after its last chunk', { timeout: 10_000 }, async (t) => {
  const { port } = await halfClosingPeer(t, 600);
  const input = new PassThrough();
  t.after(() => input.destroy());
  const { result, finSeen } = await pipeTo(t, port, input);
  input.write('only\n');
  const lastChunkAt = performance.now();
  const finAt = await finSeen;
  const { reason, bytesSent } = await result;
  const endedAt = performance.now();
  assert.equal(reason, 'peer-closed');
  assert.equal(bytesSent, 'only\n'.length);
  // Counted from the last chunk, not from the FIN: it ends before a whole grace has passed since the FIN.
  assert.ok(endedAt - lastChunkAt >= GRACE_MS - 50, `ended ${Math.round(endedAt - lastChunkAt)} ms after the last chunk`);
  assert.ok(endedAt - finAt < GRACE_MS, `ended ${Math.round(endedAt - finAt)} ms after the FIN`);
});

test('a terminal nobody has typed in is idle from the start: a FIN right after connecting ends the pipe at once', { timeout: 10_000 }, async (t) => {
  const { port, received } = await halfClosingPeer(t, 50);
  // What nc's stdin is on a terminal: a Readable whose isTTY is true (a pipe's or a file's has none).
  const input = Object.assign(new PassThrough(), { isTTY: true });
  t.after(() => input.destroy());
  const { result, finSeen } = await pipeTo(t, port, input);
  await finSeen;
  await sleep(100);
  input.write('late\n');
  const { reason, bytesSent } = await result;
  assert.equal(reason, 'peer-closed');
  assert.equal(bytesSent, 0);
  assert.equal(await received, '');
});
