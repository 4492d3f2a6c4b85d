// The UDP fault matrix: the counter server under load, garbage, a lossy path, a flood and an abusive source.
// "Values unique and contiguous" is the counter's promise: every value 1..N handed out exactly once.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCounterClient, startCounterServer, startUdpProxy } from '../../src/index.js';
import { eventually } from '../helpers/changes.js';
import { processUsage } from '../helpers/proc.js';
import { runCli, startCliServer, stopChecked } from '../helpers/processes.js';
import { tally } from '../helpers/tally.js';

/** Missing and repeated values of 1..n in `values`. */
function contiguity(values: number[], n: number): { missing: number; repeated: number } {
  const seen = new Set<number>();
  let repeated = 0;
  for (const value of values) {
    if (seen.has(value)) repeated++;
    seen.add(value);
  }
  let missing = 0;
  for (let value = 1; value <= n; value++) if (!seen.has(value)) missing++;
  return { missing, repeated };
}

/** A UDP socket bound to a chosen loopback address, so a test can play several sources. */
async function sourceSocket(t: TestContext, address = '127.0.0.1'): Promise<{ socket: Socket; replies: string[]; bytesIn: () => number }> {
  const socket = createSocket('udp4');
  t.after(() => {
    try {
      socket.close();
    } catch {
      // already closed
    }
  });
  socket.bind(0, address);
  await once(socket, 'listening');
  const replies: string[] = [];
  let bytes = 0;
  socket.on('message', (data) => {
    replies.push(data.toString());
    bytes += data.length;
  });
  return { socket, replies, bytesIn: () => bytes };
}

describe('hardening: UDP counter', () => {
  it('gives 10 clients x 1,000 gets values that are unique and contiguous', async (t) => {
    const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0', '--delay-ms', '0', '--quiet']);
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => runCounterClient({ host: '127.0.0.1', port, count: 1000, intervalMs: 0, timeoutMs: 1000 })),
    );
    const values = runs.flatMap((run) => run.replies.map(Number));
    const { missing, repeated } = contiguity(values, 10_000);
    assert.equal(values.length, 10_000);
    assert.equal(missing, 0);
    assert.equal(repeated, 0);
    for (const run of runs) {
      const own = run.replies.map(Number);
      assert.ok(own.every((value, i) => i === 0 || value > own[i - 1]!), 'each client sees increasing values');
    }
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /stopped: 10000 gets answered, 0 ignored, 0 dropped/);
    tally({ fault: 'UDP 10 clients x 1,000 gets', valuesChecked: 10_000, lostValues: missing, duplicatedValues: repeated });
  });

  it('drops garbage without answering and counts each kind; the counter is untouched', async (t) => {
    const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0', '--delay-ms', '0']);
    const { socket, replies } = await sourceSocket(t);
    const garbage = [
      Buffer.alloc(0),
      Buffer.alloc(2000, 0x67),
      Buffer.from('GET'),
      Buffer.from('get 1 2'),
      Buffer.from([0x67, 0x65, 0x74, 0x20, 0xff]),
      Buffer.from('\0\0\0\0'),
      Buffer.from('get\n\n'),
    ];
    for (const datagram of garbage) socket.send(datagram, port, '127.0.0.1');
    socket.send('get', port, '127.0.0.1');
    await eventually(() => replies.length === 1, 'the reply to the real get', 5000, 10);
    await sleep(50);
    assert.deepEqual(replies, ['1'], 'only the real get is answered, with the first value');
    await child.waitFor(/dropped 0 bytes from 127\.0\.0\.1:\d+: empty datagram/);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /stopped: 1 gets answered, 7 ignored, 0 dropped \(empty 1, oversized 1, malformed 5\)/);
    tally({ fault: 'garbage datagrams', inputs: garbage.length });
  });

  it('through 10% loss, duplicates and reordering, retries with ids get every value once', async (t) => {
    const server = await startCounterServer({ port: 0, delayMs: 0, logMessages: false });
    t.after(() => server.close());
    const seed = Number(process.env['SOCKLAB_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
    t.diagnostic(`proxy seed ${seed} (SOCKLAB_FUZZ_SEED=${seed} replays it)`);
    const proxy = await startUdpProxy({ targetPort: server.address().port, drop: 0.1, duplicate: 0.1, reorder: 0.1, reorderMaxMs: 20, seed });
    t.after(() => proxy.close());
    const runs = await Promise.all(
      Array.from({ length: 3 }, () =>
        runCounterClient({ host: '127.0.0.1', port: proxy.address().port, count: 150, intervalMs: 0, timeoutMs: 60, retries: 10 }),
      ),
    );
    const values = runs.flatMap((run) => run.replies.map(Number));
    const { missing, repeated } = contiguity(values, 450);
    assert.equal(runs.reduce((sum, run) => sum + run.lost, 0), 0, 'every get answered in the end');
    assert.equal(server.counter, 450, 'no retry took a second value');
    assert.equal(missing, 0);
    assert.equal(repeated, 0);
    const retried = runs.reduce((sum, run) => sum + run.retried, 0);
    assert.ok(proxy.stats.dropped > 0 && proxy.stats.duplicated > 0 && proxy.stats.reordered > 0, JSON.stringify(proxy.stats));
    assert.ok(retried > 0 && server.stats.retries > 0, `retried ${retried}`);
    t.diagnostic(`proxy ${JSON.stringify(proxy.stats)}; client retries ${retried}; late/duplicate replies skipped ${runs.reduce((sum, run) => sum + run.late, 0)}`);
    tally({ fault: 'UDP loss, duplicates and reordering', valuesChecked: 450, lostValues: missing, duplicatedValues: repeated });
  });

  it('caps pending replies under a 20,000-datagram burst, keeps RSS bounded, then serves a normal client', async (t) => {
    const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '300', '--max-pending', '1000', '--rate-limit', 'inf']);
    const before = processUsage(child.proc.pid!);
    const { socket } = await sourceSocket(t);
    socket.setSendBufferSize(4 * 1024 * 1024);
    for (let i = 0; i < 20_000; i++) {
      socket.send('get', port, '127.0.0.1');
      if (i % 500 === 499) await sleep(1);
    }
    await sleep(400);
    const after = processUsage(child.proc.pid!);
    assert.ok(after.rssKiB - before.rssKiB < 30 * 1024, `RSS ${before.rssKiB} -> ${after.rssKiB} KiB`);
    const normal = await runCounterClient({ host: '127.0.0.1', port, count: 3, intervalMs: 0, timeoutMs: 2000 });
    assert.equal(normal.lost, 0);
    const { stdout } = await stopChecked(child);
    const overloaded = Number(/overloaded (\d+)/.exec(stdout)?.[1]);
    const peak = Number(/peak pending (\d+)/.exec(stdout)?.[1]);
    assert.ok(overloaded > 0, stdout);
    assert.ok(peak <= 1000, `peak pending ${peak}`);
    tally({ fault: 'UDP 20,000-datagram burst', inputs: 20_000 });
  });

  it('rate-limits an abusive source and never amplifies, while other sources on 127.0.0.x are served', async (t) => {
    const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '0', '--rate-limit', '100', '--deny', '127.0.0.7']);
    const abuser = await sourceSocket(t, '127.0.0.9');
    const denied = await sourceSocket(t, '127.0.0.7');
    const started = performance.now();
    let abuserBytesOut = 0;
    for (let i = 0; i < 3000; i++) {
      abuser.socket.send('get', port, '127.0.0.1');
      abuserBytesOut += 3;
      if (i % 100 === 99) await sleep(2);
    }
    denied.socket.send('get', port, '127.0.0.1');
    // Three polite sources, each in lockstep: send, wait for the reply, 20 times.
    const polite = await Promise.all(
      ['127.0.0.2', '127.0.0.3', '127.0.0.4'].map(async (address) => {
        const source = await sourceSocket(t, address);
        for (let i = 0; i < 20; i++) {
          source.socket.send('get', port, '127.0.0.1');
          await eventually(() => source.replies.length === i + 1, `reply ${i + 1} to ${address}`, 2000, 10);
        }
        return source.replies.length;
      }),
    );
    const elapsedS = (performance.now() - started) / 1000;
    await sleep(50);
    assert.deepEqual(polite, [20, 20, 20]);
    // One second of burst, then 100/s.
    assert.ok(abuser.replies.length <= 100 + 100 * elapsedS + 5, `abuser got ${abuser.replies.length} replies in ${elapsedS.toFixed(2)} s`);
    assert.ok(abuser.bytesIn() <= 4 * abuserBytesOut, 'replies never exceed 4x the request bytes');
    assert.equal(denied.replies.length, 0);
    const { stdout } = await stopChecked(child);
    const rateLimited = Number(/rate-limited (\d+)/.exec(stdout)?.[1]);
    assert.equal(rateLimited, 3000 - abuser.replies.length);
    assert.match(stdout, /denied 1/);
    tally({ fault: 'abusive UDP source', inputs: 3000 });
    tally({ fault: 'denied UDP source' });
  });

  it('never sends a reply bigger than maxAmplification x its request', async (t) => {
    // At amplification 1, a 3-byte "get" may be answered with at most 3 bytes: values 1..999, not 1000.
    const server = await startCounterServer({ port: 0, delayMs: 0, logMessages: false, maxAmplification: 1 });
    t.after(() => server.close());
    const { socket, replies, bytesIn } = await sourceSocket(t);
    for (let batch = 0; batch < 10; batch++) {
      const expected = Math.min(999, (batch + 1) * 100);
      for (let i = 0; i < (batch < 9 ? 100 : 105); i++) socket.send('get', server.address().port, '127.0.0.1');
      await eventually(() => replies.length >= expected && server.stats.received >= Math.min(1005, (batch + 1) * 100), `batch ${batch}`, 5000, 10);
    }
    await sleep(50);
    assert.equal(replies.length, 999);
    assert.equal(replies.at(-1), '999');
    assert.equal(server.stats.amplificationLimited, 6);
    assert.equal(server.counter, 999, 'a refused get takes no value');
    assert.ok(bytesIn() <= 3 * 1005, `${bytesIn()} bytes out for ${3 * 1005} in`);
    tally({ fault: 'amplification bound', inputs: 1005 });
  });

  it('udp-client against a server that is down or silent: a clear failure within the timeout', async (t) => {
    const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet']);
    await stopChecked(child);
    const down = await runCli(t, ['udp-client', '127.0.0.1', String(port), '--count', '2', '--interval-ms', '0', '--timeout-ms', '300']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /connection refused|no reply to get #1 within 300 ms/);
    assert.doesNotMatch(down.stderr, /\n\s+at /);

    const { socket: silent } = await sourceSocket(t); // bound, never answers
    const silentPort = silent.address().port;
    const started = performance.now();
    const quiet = await runCli(t, ['udp-client', '127.0.0.1', String(silentPort), '--count', '1', '--timeout-ms', '200', '--retries', '2']);
    const elapsed = performance.now() - started;
    assert.equal(quiet.code, 1);
    assert.match(quiet.stderr, /no reply to get #1 within 200 ms \(3 attempts\)/);
    assert.match(quiet.stderr, /1 of 1 replies lost/);
    assert.ok(elapsed < 3000, `gave up after ${elapsed.toFixed(0)} ms`);
    tally({ fault: 'UDP server down' });
  });
});
