// The TCP fault matrix, continued (hardening-tcp.test.ts has bad input and misbehaving peers): a server that goes
// away or never answers, and who may connect. Each test ends with the crash check (stopChecked) and records what
// it tried in the hardening totals printed at the end of `npm test`.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectTcp, runMessageClient } from '../../src/index.js';
import { CLI, start, startCliServer, startPeer, stopChecked, runCli } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { tally } from '../helpers/tally.js';

describe('hardening: the server goes away, or never answers', () => {
  it('socklab client says "connection lost" when the server is killed under it', async (t) => {
    const { child: server, port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    const client = start(t, process.execPath, [CLI, 'client', '127.0.0.1', String(port), '--verbose']);
    client.input('hello\n');
    await client.waitFor(/got message/);
    server.proc.kill('SIGKILL');
    const { code } = await client.finish(5000);
    assert.match(client.stderr, /connection lost/);
    assert.doesNotMatch(client.stderr, /\n\s+at |internal error/);
    assert.ok(code === 0 || code === 1, `exit ${code}`);
    tally({ fault: 'server killed under a client' });
  });

  it('a client reading whole lines turns an over-long last reply into an error, not a crash', async (t) => {
    // 65,537 bytes and a FIN: within what the decoder holds, but one byte over the limit once the stream ends.
    const server = createServer((socket) => socket.end('x'.repeat(65_537)));
    t.after(() => server.close());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    await assert.rejects(
      runMessageClient({ host: '127.0.0.1', port, lineReplies: true, greetingWaitMs: 0, hello: null }, []),
      (err: Error & { code?: string }) => err.code === 'SL_ERR_FRAME_TOO_LARGE',
    );
    tally({ fault: 'over-long reply at end of stream' });
  });

  it('refused and black-holed connects fail clearly within the timeout', async (t) => {
    const { child: gone, port: closedPort } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    await stopChecked(gone);
    const refused = await runCli(t, ['client', '127.0.0.1', String(closedPort)]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /connection refused.*\[SL_ERR_CONNECT_REFUSED\]/);

    const { port: holePort } = await startPeer(t, 'black_hole.py', ['60']);
    // Fill the hole's accept queue (backlog 0), so the next SYN goes unanswered.
    const filler = connect({ host: '127.0.0.1', port: holePort }).on('error', () => {});
    t.after(() => void filler.destroy());
    await once(filler, 'connect');
    const started = performance.now();
    const hole = await runCli(t, ['client', '127.0.0.1', String(holePort), '--connect-timeout-ms', '500']);
    const elapsed = performance.now() - started;
    assert.equal(hole.code, 1);
    assert.match(hole.stderr, /\[SL_ERR_CONNECT_TIMEOUT\]/);
    assert.ok(elapsed < 3000, `gave up after ${elapsed.toFixed(0)} ms`);
    tally({ fault: 'refused connect' });
    tally({ fault: 'black-holed connect' });
  });

  it('on SIGTERM during traffic: tells every client, answers every message it read, exits 0 within the deadline', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--reply', 'ack {message}', '--close-timeout-ms', '1000']);
    const clients = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const conn = await connectTcp({ host: '127.0.0.1', port });
        t.after(() => conn.destroy());
        const state = { index, sent: 0, acks: 0, shutdownTold: false, local: `${conn.local.address}:${conn.local.port}` };
        conn.on('message', (message) => {
          const text = message.toString();
          if (text.startsWith('ack ')) state.acks++;
          if (text.startsWith('error SL_ERR_SHUTDOWN')) state.shutdownTold = true;
        });
        // Keep sending (bounded by count and by the connection closing).
        void (async () => {
          while (conn.state === 'open' && state.sent < 5000) {
            conn.send(`c${index}-${state.sent++}`);
            if (state.sent % 10 === 0) await sleep(1);
          }
        })();
        return { conn, state };
      }),
    );
    await sleep(300);
    const { stdout, stopMs } = await stopChecked(child, 3000);
    await Promise.all(clients.map(({ conn }) => conn.closed));
    let lost = 0;
    let checked = 0;
    for (const { state } of clients) {
      const logged = stdout.split('\n').filter((line) => line.startsWith(`${state.local} got `)).length;
      assert.equal(state.acks, logged, `client ${state.index}: ${logged} messages read by the server, ${state.acks} acks received`);
      assert.ok(state.shutdownTold, `client ${state.index} was told about the shutdown`);
      lost += logged - state.acks;
      checked += logged;
    }
    assert.ok(checked > 0, 'the server read messages before the shutdown');
    t.diagnostic(`stopped in ${stopMs.toFixed(0)} ms; ${checked} messages acknowledged`);
    tally({ fault: 'SIGTERM during traffic', acksChecked: checked, lostAcks: lost });
  });
});

describe('hardening: who may connect', () => {
  it('serves allowed addresses and closes denied ones without a word', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--allow', '127.0.0.0/8', '--deny', '127.0.0.9']);
    const denied = await RawClient.connect(t, port, { localAddress: '127.0.0.9' });
    await denied.waitForClose();
    assert.equal(denied.text, '');
    const allowed = await RawClient.connect(t, port, { localAddress: '127.0.0.2' });
    await allowed.waitForText(/^connected to server\n$/);
    allowed.socket.end();
    await child.waitFor(/127\.0\.0\.9:\d+ denied \(address not allowed\)/);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /1 clients served, 0 messages, 0 rejected, 1 denied/);
    const bad = await runCli(t, ['serve', '--port', '0', '--allow', '10.0.0.0/33']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not an IP address or CIDR range/);
    tally({ fault: 'denied address' });
  });
});
