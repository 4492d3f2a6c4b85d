// The TCP fault matrix: hostile input and misbehaving peers against `socklab serve` run as a real process.
// Every test ends with the crash check (stopChecked: SIGTERM, exit 0, totals printed, no stack trace) and
// records what it tried in the hardening totals printed at the end of `npm test`.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startMessageServer } from '../../src/index.js';
import { processUsage } from '../helpers/proc.js';
import { CLI, start, startCliServer, stopChecked } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { tally } from '../helpers/tally.js';

const GREETING = 'connected to server\n';

async function serve(t: TestContext, args: string[] = []): Promise<{ child: Awaited<ReturnType<typeof startCliServer>>['child']; port: number }> {
  return startCliServer(t, ['serve', '--port', '0', ...args]);
}

/** A well-behaved client's session, to show the others are unaffected. */
async function healthyExchange(t: TestContext, port: number): Promise<void> {
  const client = await RawClient.connect(t, port);
  client.socket.write('still there?\n');
  await client.until(() => client.lines.length >= 2, 'the greeting and a reply');
  client.socket.end();
  await client.waitForClose();
}

describe('hardening: bad input', () => {
  it('answers a 1 MiB line with an error line and a close, and a 64 MiB line with no newline the same, in bounded memory', async (t) => {
    const { child, port } = await serve(t, ['--quiet', '--framing', 'line']);
    const before = processUsage(child.proc.pid!);
    const big = await RawClient.connect(t, port);
    big.socket.write(Buffer.alloc(1024 * 1024, 0x61));
    big.socket.write('\n');
    await big.waitForClose();
    assert.match(big.text, /error SL_ERR_FRAME_TOO_LARGE: .*maxMessageBytes is 65536\n$/);

    // 64 MiB of one line, no newline, streamed until the server cuts us off.
    const huge = await RawClient.connect(t, port);
    const chunk = Buffer.alloc(256 * 1024, 0x62);
    let sent = 0;
    while (sent < 64 * 1024 * 1024 && !huge.closed) {
      if (!huge.socket.write(chunk)) await Promise.race([once(huge.socket, 'drain'), once(huge.socket, 'close')]);
      sent += chunk.length;
    }
    await huge.waitForClose();
    assert.match(huge.text, /error SL_ERR_FRAME_TOO_LARGE/);
    const after = processUsage(child.proc.pid!);
    assert.ok(after.rssKiB - before.rssKiB < 40 * 1024, `server RSS grew ${after.rssKiB - before.rssKiB} KiB`);
    await healthyExchange(t, port);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /2 closed for SL_ERR_FRAME_TOO_LARGE/);
    tally({ inputs: 2, fault: 'over-long line' });
  });

  it('serves NUL, invalid UTF-8 and control bytes, and logs them quoted so the terminal is safe', async (t) => {
    const { child, port } = await serve(t, ['--framing', 'line', '--reply', 'ok']);
    const client = await RawClient.connect(t, port);
    const hostile = [Buffer.from('nul\0inside'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('\x1b[2J\x07bell'), Buffer.from('\r')];
    for (const line of hostile) client.socket.write(Buffer.concat([line, Buffer.from('\n')]));
    await client.until(() => client.lines.length === hostile.length + 1, 'every reply');
    assert.deepEqual(client.lines, ['connected to server', 'ok', 'ok', 'ok', 'ok']);
    await child.waitFor(/got "\\u001b\[2J\\u0007bell"/);
    assert.doesNotMatch(child.stdout, /\x1b|\x07|\0/, 'no raw control bytes reach the log');
    await stopChecked(child);
    tally({ inputs: hostile.length, fault: 'control and invalid bytes', acksChecked: hostile.length });
  });

  it('puts a message into the reply template as it is, "$&" and friends included', async (t) => {
    const { child, port } = await serve(t, ['--quiet', '--framing', 'line', '--reply', 'echo {message} {message}']);
    const client = await RawClient.connect(t, port);
    const tricky = ['$&', '$`', "$'", '$$', '$1', '{message}'];
    client.socket.write(tricky.join('\n') + '\n');
    await client.until(() => client.lines.length === tricky.length + 1, 'every reply');
    assert.deepEqual(client.lines.slice(1), tricky.map((m) => `echo ${m} ${m}`));
    await stopChecked(child);
    tally({ inputs: tricky.length, fault: 'replacement patterns in messages', acksChecked: tricky.length });
  });

  it('answers 1,000 lines sent in one write, in order, and nothing after quit', async (t) => {
    const { child, port } = await serve(t, ['--quiet', '--reply', 'ack {message}']);
    const client = await RawClient.connect(t, port);
    const lines = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    client.socket.write([...lines, 'quit', 'after-quit-1', 'after-quit-2'].join('\n') + '\n');
    await client.waitForClose();
    const expected = [GREETING.trim(), ...lines.map((line) => `ack ${line}`), 'ack quit'];
    assert.deepEqual(client.lines, expected, 'every line answered in order; lines pipelined after quit get nothing');
    await stopChecked(child);
    tally({ inputs: 1003, fault: '1,000 lines in one write', acksChecked: 1001, lostAcks: 1001 - (client.lines.length - 1) });
  });

  it('reassembles lines arriving one byte per segment (line framing)', async (t) => {
    // Not `auto`: before the first newline it takes each read as a message, as the seed's servers do.
    const { child, port } = await serve(t, ['--quiet', '--reply', 'ack {message}', '--framing', 'line']);
    const client = await RawClient.connect(t, port);
    client.socket.setNoDelay(true);
    const text = 'one\ntwo\r\nthree\n';
    for (const byte of Buffer.from(text)) {
      client.socket.write(Buffer.from([byte]));
      await sleep(2);
    }
    await client.until(() => client.lines.length === 4, 'three replies');
    assert.deepEqual(client.lines, ['connected to server', 'ack one', 'ack two', 'ack three']);
    await stopChecked(child);
    tally({ inputs: text.length, fault: 'one byte per segment', acksChecked: 3 });
  });
});

describe('hardening: misbehaving peers', () => {
  it('closes idle and never-sending clients with a reason, and serves the rest', async (t) => {
    const { child, port } = await serve(t, ['--quiet', '--idle-timeout-ms', '300']);
    const started = performance.now();
    const silent = await RawClient.connect(t, port);
    const idle = await RawClient.connect(t, port);
    idle.socket.write('hello\n');
    await idle.waitForText(/got message\n/);
    await Promise.all([silent.waitForClose(), idle.waitForClose()]);
    const elapsed = performance.now() - started;
    for (const client of [silent, idle]) assert.match(client.text, /error SL_ERR_IDLE_TIMEOUT: Connection idle for 300 ms/);
    assert.ok(elapsed >= 290, `closed after ${elapsed} ms`);
    await healthyExchange(t, port);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /2 closed for SL_ERR_IDLE_TIMEOUT/);
    tally({ fault: 'idle client' });
    tally({ fault: 'never-sending client' });
  });

  it('cuts off a slowloris that trickles a line byte by byte, though it is never idle', async (t) => {
    // Line framing: under `auto` each byte before the first newline is a whole message, answered at once.
    const { child, port } = await serve(t, ['--quiet', '--framing', 'line', '--idle-timeout-ms', '1000', '--message-timeout-ms', '400']);
    const loris = await RawClient.connect(t, port);
    loris.socket.setNoDelay(true);
    const started = performance.now();
    let sent = 0;
    while (!loris.closed && performance.now() - started < 3000) {
      loris.socket.write('x');
      sent++;
      await sleep(50);
    }
    const elapsed = performance.now() - started;
    assert.ok(loris.closed, 'the slow sender was closed');
    assert.match(loris.text, /error SL_ERR_SLOW_SENDER: Message incomplete after 400 ms/);
    assert.ok(elapsed < 1000, `cut off after ${elapsed.toFixed(0)} ms, before the idle timeout could`);
    assert.ok(sent >= 5, `it kept sending (${sent} bytes)`);
    await healthyExchange(t, port);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /1 closed for SL_ERR_SLOW_SENDER/);
    tally({ fault: 'slowloris', inputs: sent });
  });

  it('tells maxConnections + 20 clients "server full", counts them, and reuses freed slots', async (t) => {
    const { child, port } = await serve(t, ['--quiet', '--max-connections', '10']);
    const clients = await Promise.all(Array.from({ length: 30 }, () => RawClient.connect(t, port)));
    await Promise.all(clients.map((client) => client.until(() => client.text.includes('\n'), 'a first line')));
    const full = clients.filter((client) => client.text.startsWith('error SL_ERR_SERVER_FULL'));
    const served = clients.filter((client) => client.text === GREETING);
    assert.equal(full.length, 20);
    assert.equal(served.length, 10);
    await Promise.all(full.map((client) => client.waitForClose()));
    for (const client of served) client.socket.end();
    await Promise.all(served.map((client) => client.waitForClose()));
    const again = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(t, port)));
    await Promise.all(again.map((client) => client.waitForText(/^connected to server\n$/)));
    for (const client of again) client.socket.end();
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /stopped: 20 clients served, 0 messages, 20 rejected/);
    tally({ fault: 'maxConnections + 20' });
  });

  it('stays inside its file descriptors (ulimit -n): extra clients hear "server full" instead of being dropped', async (t) => {
    const child = start(t, 'sh', ['-c', `ulimit -n 80 && exec "${process.execPath}" "${CLI}" serve --port 0 --quiet`]);
    const [, portText] = await child.waitFor(/listening on \S+:(\d+)[^\n]*\n/); // the whole line: never half a port
    const port = Number(portText);
    const [, limitText] = await child.waitFor(/only enough file descriptors for (\d+) clients/, 5000, 'stderr');
    const limit = Number(limitText);
    assert.ok(limit > 5 && limit < 80, `limit ${limit}`);
    // A burst of 25 more than it can serve, all at once (within the 32 descriptors it keeps for this).
    const clients = await Promise.all(Array.from({ length: limit + 25 }, () => RawClient.connect(t, port)));
    await Promise.all(clients.map((client) => client.until(() => client.text.includes('\n') || client.closed, 'a first line')));
    const silent = clients.filter((client) => client.text === '');
    assert.equal(silent.length, 0, `${silent.length} clients dropped without a word`);
    assert.equal(clients.filter((client) => client.text === GREETING).length, limit);
    for (const client of clients) client.socket.destroy();
    await sleep(200);
    await healthyExchange(t, port);
    await stopChecked(child);
    tally({ fault: 'fd exhaustion' });
  });

  it('keeps fds, heap and RSS flat over 10,000 connect/close cycles with 20% resets', async (t) => {
    const cycle = async (port: number, i: number): Promise<void> => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('error', () => {});
      await once(socket, 'connect');
      if (i % 5 === 0) {
        socket.resetAndDestroy();
        return;
      }
      socket.end('hi\n');
      socket.resume(); // read the greeting and reply, or 'end' (and so 'close') never comes
      await once(socket, 'close');
    };
    const run = async (port: number, from: number, to: number): Promise<void> => {
      let next = from;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (next < to) await cycle(port, next++);
        }),
      );
    };

    // The library in this process, where the heap can be measured after a full GC: no object may outlive
    // its connection.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heapAfterGc = async (): Promise<number> => {
      await sleep(200);
      gc();
      return process.memoryUsage().heapUsed;
    };
    const library = await startMessageServer({ port: 0, logMessages: false });
    t.after(() => library.tcp.destroy());
    await run(library.address().port, 0, 1000);
    const heapBefore = await heapAfterGc();
    await run(library.address().port, 1000, 10_000);
    const heapAfter = await heapAfterGc();
    assert.equal(library.tcp.connections.size, 0);
    assert.ok(heapAfter - heapBefore < 2 * 1024 * 1024, `heap after GC ${heapBefore} -> ${heapAfter} bytes`);

    // The CLI server as a process: fds must come back to where they were; RSS only has a loose bound, because
    // V8 grows its heap reservation for a while before it settles (measured: about +33 MiB by 10,000 cycles,
    // then +1 to 6 MiB over the next 10,000, while the heap after GC stays flat).
    const { child, port } = await serve(t, ['--quiet']);
    const pid = child.proc.pid!;
    await run(port, 0, 1000); // warm-up: JIT, heap sizing
    await sleep(300);
    const before = processUsage(pid);
    await run(port, 1000, 10_000);
    await sleep(300);
    const after = processUsage(pid);
    assert.ok(after.fds <= before.fds + 2, `fds ${before.fds} -> ${after.fds}`);
    assert.ok(after.rssKiB - before.rssKiB < 64 * 1024, `RSS ${before.rssKiB} -> ${after.rssKiB} KiB`);
    t.diagnostic(`heap after GC ${heapBefore} -> ${heapAfter} B; server fds ${before.fds} -> ${after.fds}, RSS ${before.rssKiB} -> ${after.rssKiB} KiB`);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /stopped: 10000 clients served/);
    tally({ fault: 'connect/close churn with resets' });
  });

  it('survives a peer reset in the middle of a large write', async (t) => {
    const { child, port } = await serve(t, ['--quiet', '--reply', '{message}', '--framing', 'line']);
    const client = await RawClient.connect(t, port);
    const line = 'y'.repeat(60_000) + '\n';
    for (let i = 0; i < 15; i++) client.socket.write(line);
    await client.until(() => client.bytes > 100_000, 'part of the replies');
    client.socket.resetAndDestroy();
    await sleep(100);
    await healthyExchange(t, port);
    await stopChecked(child);
    tally({ fault: 'peer reset during a large write' });
  });

  it('answers everything sent before a half-close, then closes', async (t) => {
    const { child, port } = await serve(t, ['--quiet', '--reply', 'ack {message}']);
    const client = await RawClient.connect(t, port);
    const lines = Array.from({ length: 100 }, (_, i) => `h${i}`);
    client.socket.end(lines.join('\n') + '\n');
    await client.waitForClose();
    const acks = client.lines.slice(1);
    assert.deepEqual(acks, lines.map((line) => `ack ${line}`));
    await stopChecked(child);
    tally({ fault: 'half-close', acksChecked: lines.length, lostAcks: lines.length - acks.length });
  });

  it('cuts off a client that never reads at the soft limit, without hurting the others', async (t) => {
    const { child, port } = await serve(t, [
      '--quiet',
      '--reply',
      '{message}',
      '--framing',
      'line',
      '--output-soft-limit-bytes',
      '100000',
      '--output-soft-limit-ms',
      '300',
      '--max-buffered-bytes',
      '4000000',
    ]);
    const hog = await RawClient.connect(t, port);
    hog.socket.pause(); // never reads: the kernel buffers fill, then the server's queue grows
    const line = 'z'.repeat(10_000) + '\n';
    const started = performance.now();
    while (!hog.closed && performance.now() - started < 5000) {
      if (!hog.socket.write(line)) await sleep(20);
      if (performance.now() - started > 100) await healthyExchange(t, port);
    }
    assert.ok(hog.closed || hog.socket.destroyed || hog.error !== undefined, 'the reader that never reads was cut off');
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /1 closed for SL_ERR_OUTPUT_OVERFLOW/);
    tally({ fault: 'client that never reads' });
  });
});
