// The proxy's toxics: each does what toxiproxy documents, and changing them on live connections loses nothing.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpProxy, type TcpProxyOptions } from '../../src/index.js';
import { parseScenario, runScenario } from '../../src/proxy/scenario.js';
import { encodeLengthPrefixed } from '../../src/codec/length-prefix.js';
import { tcpProxySource } from '../../src/dashboard/sources/proxy.js';
import { eventually } from '../helpers/changes.js';
import { RawClient } from '../helpers/raw-client.js';

/** A TCP server the test controls: `onSocket` decides what it does with each connection. */
async function target(t: TestContext, onSocket: (socket: Socket) => void): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return server;
}

const echo = (socket: Socket): void => void socket.pipe(socket);

async function proxyTo(t: TestContext, server: Server, options: Omit<TcpProxyOptions, 'targetPort'> = {}) {
  const proxy = await startTcpProxy({ targetPort: (server.address() as { port: number }).port, seed: 5, ...options });
  t.after(() => proxy.close());
  return proxy;
}

describe('proxy toxics', () => {
  it('a value stream sent while a latency toxic is added and removed in a loop arrives whole and in order', async (t) => {
    const proxy = await proxyTo(t, await target(t, echo));
    const client = await RawClient.connect(t, proxy.address().port);
    const count = 3000;
    let sent = 0;
    let expected = '';
    const started = performance.now();
    // Bounded: 3000 values, 60 toggles, a 10 s ceiling.
    for (let round = 0; round < 60 && performance.now() - started < 10_000; round++) {
      if (round % 2 === 0) proxy.addToxic({ type: 'latency', name: 'lag', stream: round % 4 === 0 ? 'upstream' : 'downstream', attributes: { latency: 5 + (round % 7), jitter: 4 } });
      else proxy.removeToxic('lag');
      for (let i = 0; i < count / 60; i++, sent++) {
        const line = `${sent}\n`;
        expected += line;
        client.socket.write(line);
      }
      await sleep(3);
    }
    if (proxy.toxics().length > 0) proxy.removeToxic('lag');
    await client.until(() => client.text.length >= expected.length, `${expected.length} bytes back`, 10_000);
    assert.equal(sent, count);
    assert.equal(client.text, expected, 'every value, once, in order');
    assert.ok(!client.closed, 'the connection stayed open through every change');
  });

  it('reset_peer after_bytes (--reset-after-bytes) delivers exactly N bytes, the crossing chunk split, then resets', async (t) => {
    const server = await target(t, (socket) => socket.once('data', () => socket.write('x'.repeat(1000))));
    const proxy = await proxyTo(t, server, { resetAfterBytes: 100, direction: 'down' });
    const client = await RawClient.connect(t, proxy.address().port);
    client.socket.write('go');
    await client.waitForClose();
    assert.equal(client.bytes, 100, 'exactly 100 of the 1000-byte chunk');
    // The proxy sends a RST; a client that had not read the data yet when it arrived may see it as a FIN.
    assert.ok(client.error === undefined || client.error.code === 'ECONNRESET', String(client.error));
    assert.equal(proxy.stats.resets, 1);
    assert.equal(proxy.stats.faults['reset_peer'], 1);
  });

  it('limit_data passes exactly N bytes then closes cleanly (FIN, no reset)', async (t) => {
    const server = await target(t, (socket) => socket.once('data', () => socket.write(Buffer.alloc(70_000, 'y'))));
    const proxy = await proxyTo(t, server, { toxics: [{ type: 'limit_data', attributes: { bytes: 12_345 } }] });
    const client = await RawClient.connect(t, proxy.address().port);
    client.socket.write('go');
    await client.waitForClose();
    assert.equal(client.bytes, 12_345);
    assert.equal(client.error, undefined, 'a clean close');
  });

  it('timeout holds data and closes after T; timeout 0 never closes, and removing it lets the held data through', async (t) => {
    const proxy = await proxyTo(t, await target(t, echo));
    proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 150 } });
    const timed = await RawClient.connect(t, proxy.address().port);
    const started = performance.now();
    timed.socket.write('lost\n');
    await timed.waitForClose();
    assert.equal(timed.text, '');
    assert.ok(performance.now() - started >= 140, 'closed after the timeout');
    proxy.updateToxic('timeout_upstream', { attributes: { timeout: 0 } });
    const held = await RawClient.connect(t, proxy.address().port);
    held.socket.write('kept\n');
    await sleep(200);
    assert.equal(held.text, '');
    assert.ok(!held.closed, 'timeout 0 never closes');
    proxy.removeToxic('timeout_upstream');
    await held.waitForText(/kept\n/);
    assert.ok(!held.closed, 'removing the toxic does not close its connections (toxiproxy closes them)');
  });

  it('bandwidth rate 0 stalls the stream; raising the rate lets it through in order', async (t) => {
    const proxy = await proxyTo(t, await target(t, echo), { toxics: [{ type: 'bandwidth', name: 'cut', attributes: { rate: 0 } }] });
    const client = await RawClient.connect(t, proxy.address().port);
    client.socket.write('abc\n');
    await sleep(150);
    assert.equal(client.text, '', 'stalled');
    proxy.updateToxic('cut', { attributes: { rate: 100 } });
    await client.waitForText(/^abc\n$/);
  });

  it('toxicity is decided per connection: 0 never applies (no reset either), 0.5 applies to about half', async (t) => {
    const proxy = await proxyTo(t, await target(t, echo));
    proxy.addToxic({ type: 'reset_peer', stream: 'upstream', toxicity: 0 });
    const spared = await RawClient.connect(t, proxy.address().port);
    spared.socket.end('hi\n');
    await spared.waitForClose();
    assert.equal(spared.text, 'hi\n');
    assert.equal(spared.error, undefined, 'toxicity 0: a clean close, not a reset');
    proxy.updateToxic('reset_peer_upstream', { toxicity: 0.5 });
    let reset = 0;
    for (let i = 0; i < 60; i++) {
      const client = await RawClient.connect(t, proxy.address().port);
      client.socket.end('x\n');
      await client.waitForClose();
      if (client.error) reset++;
    }
    assert.ok(reset >= 15 && reset <= 45, `${reset} of 60 reset`);
  });

  it('a half-close travels through: the client ends, the server still answers', async (t) => {
    const server = await target(t, (socket) => {
      let got = '';
      socket.on('data', (chunk: Buffer) => (got += chunk.toString()));
      socket.on('end', () => socket.end(`got ${got}`));
    });
    const proxy = await proxyTo(t, server, { latencyMs: 5 });
    const client = await RawClient.connect(t, proxy.address().port);
    client.socket.end('question');
    await client.waitForClose();
    assert.equal(client.text, 'got question');
  });

  it('rejects toxics toxiproxy would crash on, with SL_ERR_TOXIC_INVALID', async (t) => {
    const proxy = await proxyTo(t, await target(t, echo));
    for (const bad of [{ type: 'slicer' }, { type: 'bandwidth', attributes: { rate: -1 } }, { type: 'latency', toxicity: 2 }, { type: 'nope' }, { type: 'latency', stream: 'sideways' }, { type: 'drop' }]) {
      assert.throws(() => proxy.addToxic(bad), (err: { code?: string }) => err.code === 'SL_ERR_TOXIC_INVALID', JSON.stringify(bad));
    }
    proxy.addToxic({ type: 'slicer', attributes: { average_size: 2, delay: 100 } });
    assert.throws(() => proxy.addToxic({ type: 'slicer' , attributes: { average_size: 2 } }), (err: { code?: string }) => err.code === 'SL_ERR_TOXIC_EXISTS');
    const client = await RawClient.connect(t, proxy.address().port);
    client.socket.write('sliced stream\n');
    await client.waitForText(/^sliced stream\n$/);
    await eventually(() => proxy.stats.faults['slicer'] === 1, 'the slicer counted as applied');
  });

  it('a scenario plays its timeline on the live proxy: slow, then healed', async (t) => {
    const proxy = await proxyTo(t, await target(t, echo));
    const client = await RawClient.connect(t, proxy.address().port);
    const done: string[] = [];
    const playing = runScenario(proxy, parseScenario('at 0s add latency 150ms downstream; at 400ms heal'), { onStep: (step, error) => done.push(error ? `failed ${step.text}` : step.text) });
    await eventually(() => done.length === 1, 'the first step');
    let started = performance.now();
    client.socket.write('a\n');
    await client.waitForText(/^a\n$/);
    assert.ok(performance.now() - started >= 145, 'slow while the latency is on');
    await playing;
    assert.deepEqual(done, ['add latency 150ms downstream', 'heal']);
    started = performance.now();
    client.socket.write('b\n');
    await client.waitForText(/^a\nb\n$/);
    assert.ok(performance.now() - started < 100, 'fast once healed');
  });

  it('message toxic (socklab extension): drops, duplicates, corrupts and delays whole lines', async (t) => {
    const proxy = await proxyTo(t, await target(t, echo));
    const send = async (lines: string): Promise<RawClient> => {
      const client = await RawClient.connect(t, proxy.address().port);
      // One byte per write: the toxic frames across chunk boundaries.
      for (const byte of lines) client.socket.write(byte);
      return client;
    };
    proxy.addToxic({ type: 'message', name: 'm', stream: 'upstream', attributes: { action: 'drop', nth: 2 } });
    const dropped = await send('one\ntwo\nthree\n');
    await dropped.waitForText(/^one\nthree\n$/);
    proxy.updateToxic('m', { attributes: { action: 'drop', nth: 0, pattern: '^secret' } });
    const filtered = await send('a\nsecret 1\nb\nsecret 2\r\nc\n');
    await filtered.waitForText(/^a\nb\nc\n$/);
    proxy.updateToxic('m', { attributes: { action: 'duplicate', nth: 1, pattern: '' } });
    const doubled = await send('x\ny\n');
    await doubled.waitForText(/^x\nx\ny\n$/);
    proxy.updateToxic('m', { attributes: { action: 'corrupt', nth: 1 } });
    const corrupted = await send('hello\r\nok\n');
    await corrupted.until(() => corrupted.bytes === 'hello\r\nok\n'.length, 'the same number of bytes');
    const [first, second] = corrupted.text.split('\n');
    assert.ok(first!.endsWith('\r') && first !== 'hello\r', `one payload byte flipped, the CRLF kept: ${JSON.stringify(first)}`);
    assert.equal(second, 'ok');
    proxy.updateToxic('m', { attributes: { action: 'delay', nth: 1, delay: 200 } });
    const started = performance.now();
    const delayed = await send('slow\nfast\n');
    await delayed.waitForText(/^slow\nfast\n$/);
    assert.ok(performance.now() - started >= 190, 'the first line held 200 ms, the second behind it');
    assert.throws(() => proxy.addToxic({ type: 'message', attributes: { action: 'explode' } }), (err: { code?: string }) => err.code === 'SL_ERR_TOXIC_INVALID');
    assert.throws(() => proxy.addToxic({ type: 'message', attributes: { pattern: '(' } }), (err: { code?: string }) => err.code === 'SL_ERR_TOXIC_INVALID');
  });

  it('message toxic on length-prefixed frames drops the nth frame and passes the rest byte for byte', async (t) => {
    const proxy = await proxyTo(t, await target(t, echo), { toxics: [{ type: 'message', stream: 'downstream', attributes: { framing: 'length', action: 'drop', nth: 2 } }] });
    const client = await RawClient.connect(t, proxy.address().port);
    const frames = ['first', 'sec\nond', 'third'].map((text) => encodeLengthPrefixed(text));
    const all = Buffer.concat(frames);
    for (let i = 0; i < all.length; i += 3) client.socket.write(all.subarray(i, i + 3));
    const expected = Buffer.concat([frames[0]!, frames[2]!]).toString('latin1');
    await client.until(() => client.text === expected, 'frames 1 and 3');
    // Removing the toxic hands on what it holds: a frame cut in half arrives whole once the rest comes.
    const tail = encodeLengthPrefixed('fourth');
    client.socket.write(tail.subarray(0, 5));
    await sleep(50);
    proxy.removeToxic('message_downstream');
    client.socket.write(tail.subarray(5));
    await client.until(() => client.text === expected + tail.toString('latin1'), 'the fourth frame whole');
  });

  it("the dashboard's Faults applied counts every toxic that acted, not only resets", async (t) => {
    const proxy = await proxyTo(t, await target(t, echo), { latencyMs: 5, sliceBytes: 2, sliceDelayMs: 0 });
    const source = tcpProxySource(proxy, {});
    t.after(() => source.detach());
    const client = await RawClient.connect(t, proxy.address().port);
    client.socket.write('hello\n');
    await client.waitForText(/^hello\n$/);
    const applied = source.sample().sections.find((section) => section.title === 'Faults applied')!.rows;
    const names = applied.map((row) => row[0]).sort();
    assert.deepEqual(names, ['latency_downstream (latency)', 'latency_upstream (latency)', 'slicer_downstream (slicer)', 'slicer_upstream (slicer)']);
    const toxics = source.sample().sections.find((section) => section.title === 'Toxics')!.rows;
    assert.equal(toxics.length, 4);
  });

  it('the seed replays every random decision: the same connections are hit by toxicity, the same slice sizes cut', async (t) => {
    const server = await target(t, echo);
    const run = async (seed: number): Promise<{ hit: boolean[]; reads: number[] }> => {
      const proxy = await startTcpProxy({ targetPort: (server.address() as { port: number }).port, seed });
      t.after(() => proxy.close());
      proxy.addToxic({ type: 'reset_peer', stream: 'upstream', toxicity: 0.5 });
      const hit: boolean[] = [];
      for (let i = 0; i < 30; i++) {
        const client = await RawClient.connect(t, proxy.address().port);
        client.socket.end('x\n');
        await client.waitForClose();
        hit.push(client.error !== undefined);
      }
      proxy.removeToxic('reset_peer_upstream');
      proxy.addToxic({ type: 'slicer', stream: 'downstream', attributes: { average_size: 6, size_variation: 5, delay: 40_000 } });
      const reads: number[] = [];
      const client = await RawClient.connect(t, proxy.address().port);
      client.socket.on('data', (chunk: string) => reads.push(chunk.length));
      client.socket.write('0123456789abcdefghijklmnopqrstuvwxyz\n');
      await client.until(() => client.bytes === 37, 'the sliced echo');
      return { hit, reads };
    };
    const first = await run(99);
    const again = await run(99);
    const other = await run(100);
    assert.deepEqual(again.hit, first.hit, 'the same seed resets the same connections');
    assert.notDeepEqual(other.hit, first.hit);
    // 40 ms between slices: each arrives as its own read, so the sizes show (a slow machine may merge two).
    assert.deepEqual(again.reads, first.reads, `slice sizes ${first.reads} then ${again.reads}`);
  });

  it('--reset-after-ms (reset_after) resets an idle connection T ms after it opened, data or not', async (t) => {
    const proxy = await proxyTo(t, await target(t, echo), { resetAfterMs: 150 });
    assert.deepEqual(proxy.toxics().map((toxic) => toxic.type), ['reset_after', 'reset_after']);
    const client = await RawClient.connect(t, proxy.address().port);
    const started = performance.now();
    await client.waitForClose();
    assert.equal(client.error?.code, 'ECONNRESET');
    assert.ok(performance.now() - started >= 140, 'not before the time');
    assert.equal(proxy.stats.resets, 1);
  });
});
