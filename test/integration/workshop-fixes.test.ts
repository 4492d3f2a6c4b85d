/**
 * The misleading messages of issue 22, fixed: a port held only by TIME-WAIT is told apart from a live listener,
 * the step servers say in one line why they cannot listen, a UDP refusal is not called a loss, and
 * `udp-client --retries` against a server that ignores ids says so.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { requirePython } from '../helpers/grading.js';
import { freePort, runCli, start, startPeer } from '../helpers/processes.js';

/** Leaves a port in TIME-WAIT, held by a process that is gone and that did not set SO_REUSEADDR. */
async function portInTimeWait(t: TestContext): Promise<number> {
  await requirePython();
  const { child, port } = await startPeer(t, 'time_wait.py', ['0']);
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  client.resume();
  await once(client, 'end'); // the server closed first: its side goes to TIME-WAIT
  client.end();
  await once(client, 'close');
  await child.finish(5000);
  return port;
}

describe('SL_ERR_BIND says what holds the port', () => {
  it('a port held only by TIME-WAIT of an exited server: "no server listens there … TIME-WAIT"', async (t) => {
    const port = await portInTimeWait(t);
    const { code, stderr } = await runCli(t, ['serve', '--port', String(port)]);
    assert.equal(code, 1);
    assert.match(stderr, /no server listens there, but connections of an earlier one are still in TIME-WAIT.*\[SL_ERR_BIND\]/);
  });

  it('a live listener: "another server is listening on it"', async (t) => {
    const server = createServer();
    t.after(() => server.close());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const { code, stderr } = await runCli(t, ['serve', '--port', String(port)]);
    assert.equal(code, 1);
    assert.match(stderr, /another server is listening on it.*\[SL_ERR_BIND\]/);
  });
});

describe('the step servers cannot listen: one line, no stack trace', () => {
  for (const step of ['02-greeting-server', '03-message-server', '05-sequential-server', '06-concurrent-server', '14-chat-server']) {
    it(`${step} on a port in TIME-WAIT`, async (t) => {
      const port = await portInTimeWait(t);
      const child = start(t, process.execPath, [`dist/workshop/steps/${step}.js`, String(port)]);
      const { code } = await child.finish(5000);
      assert.equal(code, 1);
      assert.match(child.stdout, new RegExp(`(cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE|TIME-WAIT.*SL_ERR_BIND)`));
      assert.doesNotMatch(child.stdout + child.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('10-udp-counter-server on a UDP port in use', async (t) => {
    const first = start(t, process.execPath, ['dist/workshop/steps/10-udp-counter-server.js', '0']);
    const [, port] = await first.waitFor(/listening on udp 127\.0\.0\.1:(\d+)\n/);
    const second = start(t, process.execPath, ['dist/workshop/steps/10-udp-counter-server.js', port!]);
    assert.equal((await second.finish(5000)).code, 1);
    assert.equal(second.stdout, `cannot bind udp 127.0.0.1:${port}: EADDRINUSE\n`);
  });
});

describe('UDP clients: refused is not lost', () => {
  it('step 11 says "refused" at once when nothing listens', async (t) => {
    const port = await freePort(); // a TCP port just freed: almost surely no UDP server there either
    const child = start(t, process.execPath, ['dist/workshop/steps/11-udp-client.js', String(port), '3']);
    const started = performance.now();
    assert.equal((await child.finish(10_000)).code, 1);
    assert.equal(child.stdout, `sent the get message\nrefused: no UDP server listens on 127.0.0.1:${port}\n`);
    assert.ok(performance.now() - started < 1500, 'no 2 s wait for a reply that cannot come');
  });

  it('udp-client --retries against a server that ignores ids hints at it', async (t) => {
    await requirePython();
    const { port } = await startPeer(t, 'seed_udp_server.py', ['0', '0.01']);
    const { code, stderr } = await runCli(t, ['udp-client', '--port', String(port), '--count', '1', '--timeout-ms', '200', '--retries', '1']);
    assert.equal(code, 1);
    assert.match(stderr, /hint: no get with an id was answered\. A server that knows only a plain "get" \(the seed's udp_server\.py\) ignores "get <id>"/);
    const plain = await runCli(t, ['udp-client', '--port', String(port), '--count', '1', '--timeout-ms', '500']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.stderr, /hint/);
  });
});
