/**
 * The fuzz and fault matrix over TLS, against a real `socklab serve --tls` process: garbage and truncated
 * handshakes, a handshake cut into one-byte segments, resets mid-handshake, and clients that never finish.
 * After each: the server still serves a real TLS client, then stops cleanly (no crash), and its descriptors and
 * memory come back. Every random choice comes from one seed, printed; SOCKLAB_FUZZ_SEED=<n> replays it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { connectTcp, startTcpProxy } from '../../src/index.js';
import { seededRandom } from '../../src/random.js';
import { eventually } from '../helpers/changes.js';
import { processUsage } from '../helpers/proc.js';
import { startCliServer, stopChecked, type Child } from '../helpers/processes.js';
import { tally } from '../helpers/tally.js';

const SEED = Number(process.env['SOCKLAB_FUZZ_SEED'] ?? Date.now() % 2 ** 31);

async function tlsServer(t: TestContext, extra: string[] = []): Promise<{ child: Child; port: number; fingerprint: string }> {
  const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--quiet', '--handshake-timeout-ms', '1500', ...extra]);
  const [, fingerprint] = child.stdout.match(/tls: fingerprint (sha256:[0-9A-F:]+)/)!;
  return { child, port, fingerprint: fingerprint! };
}

/** One full TLS session with the server: it must still be serving. Returns the round trip in ms. */
async function stillServes(port: number, fingerprint: string): Promise<number> {
  const started = performance.now();
  await using conn = await connectTcp({ host: '127.0.0.1', port, tls: { fingerprint }, framing: 'line' });
  conn.send('ping');
  for await (const reply of conn.messages()) {
    if (reply.toString() === 'got message') break;
  }
  return performance.now() - started;
}

/** A real ClientHello, captured from node:tls by a server that never answers. */
async function captureClientHello(): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const chunks: Buffer[] = [];
  const got = new Promise<void>((resolve) => server.once('connection', (socket) => socket.once('data', (chunk: Buffer) => (chunks.push(chunk), resolve(), socket.destroy()))));
  const client = tlsConnect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, servername: 'localhost', rejectUnauthorized: false });
  client.on('error', () => {});
  await got;
  client.destroy();
  server.close();
  return Buffer.concat(chunks);
}

/** Sends `bytes` on a fresh TCP connection, then ends it the way `how` says; resolves when it is closed. */
async function hostile(port: number, bytes: Buffer, how: 'fin' | 'reset' | 'wait'): Promise<void> {
  const socket: Socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.on('data', () => {}); // read whatever comes (an alert, a ServerHello)
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await Promise.race([once(socket, 'connect'), closed]);
  if (!socket.destroyed && bytes.length > 0) socket.write(bytes);
  if (how === 'fin') socket.end();
  else if (how === 'reset') setImmediate(() => socket.resetAndDestroy());
  // 'wait': the server's handshake timeout must close it.
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  assert.ok(socket.destroyed || socket.closed, 'the server must close a handshake that never finishes');
  socket.destroy();
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool(limit: number, tasks: Array<() => Promise<void>>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  }));
}

describe(`TLS hardening (seed ${SEED})`, () => {
  it('garbage, truncated and reset handshakes: 0 crashes, one log line each, fds and memory come back', async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const random = seededRandom(SEED);
    const { child, port, fingerprint } = await tlsServer(t);
    const hello = await captureClientHello();
    assert.equal(hello[0], 0x16, 'captured a TLS handshake record');
    await stillServes(port, fingerprint);
    const before = processUsage(child.proc.pid!);

    const tasks: Array<() => Promise<void>> = [];
    const hows = ['fin', 'reset'] as const;
    // 1. Random garbage, half of it dressed as a TLS handshake record header.
    for (let i = 0; i < 200; i++) {
      const body = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 600) }, () => Math.floor(random() * 256)));
      const bytes = i % 2 === 0 ? Buffer.concat([Buffer.from([0x16, 0x03, 0x01, body.length >> 8, body.length & 0xff]), body]) : body;
      tasks.push(() => hostile(port, bytes, hows[i % 2]!));
    }
    // 2. A real ClientHello cut at every 8th offset, then FIN or RST.
    for (let cutAt = 1; cutAt < hello.length; cutAt += 8) tasks.push(() => hostile(port, hello.subarray(0, cutAt), hows[cutAt % 2]!));
    // 3. A real ClientHello with one byte flipped at random.
    for (let i = 0; i < 100; i++) {
      const bytes = Buffer.from(hello);
      const at = 5 + Math.floor(random() * (bytes.length - 5));
      bytes[at] = bytes[at]! ^ (1 + Math.floor(random() * 255));
      tasks.push(() => hostile(port, bytes, 'fin'));
    }
    // 4. A whole ClientHello, reset as soon as it is sent: the server has started its side of the handshake.
    for (let i = 0; i < 50; i++) tasks.push(() => hostile(port, hello, 'reset'));
    await pool(20, tasks);
    const roundTripMs = await stillServes(port, fingerprint);
    await eventually(() => processUsage(child.proc.pid!).fds <= before.fds + 2, 'descriptors back to where they were', 15_000, 25);
    const after = processUsage(child.proc.pid!);
    assert.ok(after.rssKiB - before.rssKiB < 64 * 1024, `RSS grew ${after.rssKiB - before.rssKiB} KiB over ${tasks.length} hostile handshakes`);
    const { stdout } = await stopChecked(child);
    const failures = (stdout.match(/TLS handshake failed/g) ?? []).length;
    // Every hostile connection is one failed handshake, counted; none became a client.
    assert.equal(failures, tasks.length, `one log line per hostile handshake (round trip after: ${roundTripMs.toFixed(0)} ms)`);
    assert.match(stdout, /stopped: 2 clients served/);
    tally({ inputs: tasks.length, fault: 'TLS garbage handshakes' });
    tally({ fault: 'TLS truncated handshakes' });
    tally({ fault: 'TLS resets mid-handshake' });
  });

  it('clients that never finish the handshake do not block others, and are dropped at the deadline', async (t) => {
    const { child, port, fingerprint } = await tlsServer(t, ['--max-handshakes', '100']);
    const hello = await captureClientHello();
    await stillServes(port, fingerprint);
    const before = processUsage(child.proc.pid!);
    // 40 silent, 40 that send half a ClientHello and stop: all stuck mid-handshake at once.
    const stuck = Array.from({ length: 80 }, (_, i) => hostile(port, i % 2 === 0 ? Buffer.alloc(0) : hello.subarray(0, hello.length >> 1), 'wait'));
    await eventually(() => processUsage(child.proc.pid!).fds >= before.fds + 60, 'the stuck handshakes to be accepted', 15_000, 25);
    // A real client is served while they hang: its handshake is the 81st in progress, under --max-handshakes.
    const servedMs = await stillServes(port, fingerprint);
    await Promise.all(stuck);
    await eventually(() => processUsage(child.proc.pid!).fds <= before.fds + 2, 'descriptors freed at the handshake deadline', 15_000, 25);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /TLS handshakes failed for SL_ERR_TLS_HANDSHAKE_TIMEOUT/);
    assert.ok(servedMs < 10_000, `a real client waited ${servedMs.toFixed(0)} ms`);
    tally({ inputs: 80, fault: 'TLS handshakes that never finish' });
  });

  it('a handshake cut into one-byte segments (slow link) completes, and the session works', async (t) => {
    const { child, port, fingerprint } = await tlsServer(t);
    const proxy = await startTcpProxy({ targetPort: port, sliceBytes: 1, sliceDelayMs: 1, direction: 'up' });
    t.after(() => proxy.close());
    await stillServes(proxy.address().port, fingerprint);
    await stopChecked(child);
    tally({ inputs: 1, fault: 'TLS handshake one byte per segment' });
  });
});
