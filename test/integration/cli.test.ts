import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { connect as netConnect, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { listenTcp } from '../../src/index.js';
import { COMMAND_NAMES, rootHelpModule } from '../../src/cli/main.js';
import { runCli, startCliServer, startPeer, type Child } from '../helpers/processes.js';

const NO_STACK = /\n\s+at /;

/** A raw client that records what it receives and when. */
async function rawClient(t: TestContext, port: number): Promise<{ socket: Socket; received: () => string; waitFor: (text: string) => Promise<void> }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  t.after(() => void socket.destroy());
  let received = '';
  const waiters: (() => void)[] = [];
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    received += chunk;
    waiters.splice(0).forEach((wake) => wake());
  });
  await once(socket, 'connect');
  const waitFor = async (text: string): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!received.includes(text)) {
      if (Date.now() > deadline) throw new Error(`never received ${JSON.stringify(text)}; got ${JSON.stringify(received)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return { socket, received: () => received, waitFor };
}

async function stopAndCheck(child: Child): Promise<void> {
  child.proc.kill('SIGTERM');
  const { code } = await child.finish();
  assert.equal(code, 0, `server exits 0 on SIGTERM; stderr: ${child.stderr}`);
  assert.match(child.stdout, /stopped: \d+ clients served/);
}

describe('socklab (root)', () => {
  it('lists the commands on --help and exits 0', async (t) => {
    const { code, stdout } = await runCli(t, ['--help']);
    assert.equal(code, 0);
    for (const name of COMMAND_NAMES) assert.match(stdout, new RegExp(`\\n  ${name} `));
  });

  it('exits 2 with a usage message for an unknown command or a bad flag', async (t) => {
    const unknown = await runCli(t, ['serv']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'serv'/);
    const badFlag = await runCli(t, ['serve', '--prot', '1']);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--prot/);
    assert.match(badFlag.stderr, /socklab serve --help/);
    const badNumber = await runCli(t, ['udp-client', '--count', 'ten']);
    assert.equal(badNumber.code, 2);
    assert.match(badNumber.stderr, /--count' must be a whole number/);
  });

  it('has a summary in the root help for exactly the commands it can load', () => {
    assert.deepEqual(Object.keys(rootHelpModule().COMMAND_SUMMARIES).sort(), [...COMMAND_NAMES].sort());
  });

  it('shows options and examples in every command help', async (t) => {
    for (const name of COMMAND_NAMES) {
      const { code, stdout } = await runCli(t, [name, '--help']);
      assert.equal(code, 0);
      assert.match(stdout, /Usage: socklab /);
      assert.match(stdout, /Examples:\n {2}socklab/);
    }
  });
});

describe('socklab probe', () => {
  it('resolves the name, connects and reports success', async (t) => {
    const server = await listenTcp({ port: 0 });
    t.after(() => server.destroy());
    const { code, stdout } = await runCli(t, ['probe', 'localhost', '--port', String(server.address().port)]);
    assert.equal(code, 0);
    assert.match(stdout, /^resolved localhost to (127\.0\.0\.1|::1) \(IPv[46]\)$/m);
    assert.match(stdout, /^connected to localhost at \S+:\d+ in [\d.]+ ms$/m);
  });

  it('gives a refused port, an unknown name and a timeout each their own message and exit 1', async (t) => {
    const server = await listenTcp({ port: 0 });
    const closedPort = server.address().port;
    await server.close();
    const refused = await runCli(t, ['probe', '127.0.0.1', String(closedPort)]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /connection refused.*\[SL_ERR_CONNECT_REFUSED\]/);

    const unknown = await runCli(t, ['probe', 'no-such-host.invalid']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Cannot resolve host "no-such-host\.invalid".*\[SL_ERR_RESOLVE\]/);

    const { port } = await startPeer(t, 'black_hole.py', ['60']);
    const filler = netConnect({ host: '127.0.0.1', port });
    filler.on('error', () => {});
    t.after(() => void filler.destroy());
    await once(filler, 'connect');
    const timedOut = await runCli(t, ['probe', '127.0.0.1', String(port), '--timeout-ms', '300']);
    assert.equal(timedOut.code, 1);
    assert.match(timedOut.stderr, /no answer within 300 ms.*\[SL_ERR_CONNECT_TIMEOUT\]/);

    for (const run of [refused, unknown, timedOut]) assert.doesNotMatch(run.stderr, NO_STACK);
  });
});

describe('socklab serve', () => {
  it('prints the chosen port for --port 0 and stops cleanly on SIGTERM', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0']);
    assert.ok(port > 0);
    assert.match(child.stdout, /\(concurrent mode\)/);
    await stopAndCheck(child);
  });

  it('greet mode greets one client, closes and exits by itself (server2.py)', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--mode', 'greet']);
    const client = await rawClient(t, port);
    client.socket.write('ack');
    await once(client.socket, 'close');
    assert.equal(client.received(), 'Thank you for connecting\n');
    const { code } = await child.finish();
    assert.equal(code, 0);
    assert.match(child.stdout, /closed \(greeted\)/);
  });

  it('sequential mode makes the second client wait until the first quits (server3.py)', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--mode', 'sequential']);
    const first = await rawClient(t, port);
    await first.waitFor('Thank you for connecting\n');
    const second = await rawClient(t, port);
    second.socket.write('hello from second\n');
    await child.waitFor(/waiting \(1 in queue\)/);
    // The first client is still in session: nothing at all reaches the second one.
    first.socket.write('hello\n');
    await first.waitFor('got your message\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(second.received(), '', 'second client is not served while the first is');
    first.socket.write('quit\n');
    await once(first.socket, 'close');
    await second.waitFor('Thank you for connecting\ngot your message\n');
    // The log is written at the end of the event-loop turn, so it may trail the reply by one write.
    await child.waitFor(/got "hello from second"/);
    const log = child.stdout;
    assert.ok(log.indexOf('got "quit"') < log.indexOf('got "hello from second"'), 'second served only after first quit');
    await stopAndCheck(child);
  });

  it('sequential --once exits after the first client, like server3.py', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--mode', 'sequential', '--once']);
    const client = await rawClient(t, port);
    client.socket.write('quit\n');
    await once(client.socket, 'close');
    assert.equal(client.received(), 'Thank you for connecting\ngot your message\n');
    assert.equal((await child.finish()).code, 0);
  });

  it('logs messages with the peer address, and --quiet leaves only connects and closes', async (t) => {
    const loud = await startCliServer(t, ['serve', '--port', '0']);
    const quiet = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    for (const server of [loud, quiet]) {
      const client = await rawClient(t, server.port);
      client.socket.write('secret\nquit\n');
      await once(client.socket, 'close');
      await server.child.waitFor(/closed \(quit\)/);
    }
    assert.match(loud.child.stdout, /^127\.0\.0\.1:\d+ got "secret"$/m);
    assert.doesNotMatch(quiet.child.stdout, /secret/);
    assert.match(quiet.child.stdout, /^127\.0\.0\.1:\d+ connected$/m);
  });

  it('takes greeting and reply texts, with {message} in the reply', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0', '--greeting', 'hi there', '--reply', 'echo: {message}']);
    const client = await rawClient(t, port);
    client.socket.end('one\ntwo\n');
    await once(client.socket, 'close');
    assert.equal(client.received(), 'hi there\necho: one\necho: two\n');
  });

  it('fails with a clear message when the port is taken', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0']);
    const { code, stderr } = await runCli(t, ['serve', '--port', String(port)]);
    assert.equal(code, 1);
    assert.match(stderr, /address already in use.*\[SL_ERR_BIND\]/);
  });
});

describe('socklab client', () => {
  it('sends ack, prints the greeting and each reply, and ends on quit', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0', '--reply', 'got {message}']);
    const { code, stdout, stderr } = await runCli(t, ['client', 'localhost', String(port)], 'hello\nworld\nquit\nnever sent\n');
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'connected to server\ngot ack\ngot hello\ngot world\ngot quit\n');
  });

  it('on EOF waits for the replies still owed, then exits 0', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--no-greeting']);
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const { code, stdout } = await runCli(t, ['client', '--port', String(port), '--no-hello', '--linger-ms', '50'], lines);
    assert.equal(code, 0);
    assert.equal(stdout.split('\n').filter((line) => line === 'got message').length, 50);
    await child.waitFor(/got "line 49"/);
  });

  it('fails with exit 1 and a clear message when no server listens', async (t) => {
    const server = await listenTcp({ port: 0 });
    const port = server.address().port;
    await server.close();
    const { code, stderr } = await runCli(t, ['client', '--port', String(port)]);
    assert.equal(code, 1);
    assert.match(stderr, /\[SL_ERR_CONNECT_REFUSED\]/);
    assert.doesNotMatch(stderr, NO_STACK);
  });

  it('reports missing replies after --reply-timeout-ms instead of hanging', async (t) => {
    // A server that accepts and reads but never answers.
    const silent = await listenTcp({ port: 0 });
    t.after(() => silent.destroy());
    silent.on('connection', (conn) => conn.on('message', () => {}));
    const port = String(silent.address().port);
    // Lockstep (the default): "hello" is never sent while "ack" has no reply.
    const lockstep = await runCli(t, ['client', '--port', port, '--reply-timeout-ms', '200', '--greeting-wait-ms', '0'], 'hello\n');
    assert.equal(lockstep.code, 1);
    assert.match(lockstep.stderr, /1 of 1 replies missing.*\[SL_ERR_REPLY_TIMEOUT\]/);
    // --pipeline owes no reply (its help: "or ones that never reply"): the missing ones are counted, exit 0.
    const pipelined = await runCli(t, ['client', '--port', port, '--reply-timeout-ms', '200', '--pipeline'], 'hello\n');
    assert.equal(pipelined.code, 0, pipelined.stderr);
    assert.match(pipelined.stderr, /2 of 2 replies missing.*not an error/);
  });
});

describe('socklab udp-serve and udp-client', () => {
  it('counts: each get answered with the next value, after the delay', async (t) => {
    const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0', '--delay-ms', '50']);
    const { code, stdout } = await runCli(t, ['udp-client', '127.0.0.1', String(port), '--count', '3', '--interval-ms', '0']);
    assert.equal(code, 0);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    lines.forEach((line, i) => {
      const match = line.match(new RegExp(`^got ${i + 1} from 127\\.0\\.0\\.1:${port} in ([\\d.]+) ms$`));
      assert.ok(match, line);
      assert.ok(Number(match[1]) >= 48, `reply after ${match[1]} ms`);
    });
    await child.waitFor(/sending 3 to 127\.0\.0\.1:\d+/);
    assert.match(child.stdout, /got "get" from 127\.0\.0\.1:\d+/);
    child.proc.kill('SIGTERM');
    assert.equal((await child.finish()).code, 0);
    assert.match(child.stdout, /stopped: 3 gets answered, 0 ignored, 0 dropped/);
  });

  it('udp-client reports each lost reply and exits 1 when nobody answers', async (t) => {
    // Bound but silent: the gets arrive and nothing comes back (a refusal is another case, below).
    const silent = createSocket('udp4');
    t.after(() => silent.close());
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const port = silent.address().port;
    const { code, stderr } = await runCli(t, ['udp-client', '--port', String(port), '--count', '2', '--interval-ms', '0', '--timeout-ms', '100']);
    assert.equal(code, 1);
    assert.match(stderr, /no reply to get #1 within 100 ms\nno reply to get #2 within 100 ms\n2 of 2 replies lost/);
  });

  it('udp-client says "refused", not "lost", when nothing listens (issue 22)', async (t) => {
    const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0']);
    await child.stop();
    const { code, stderr } = await runCli(t, ['udp-client', '--port', String(port), '--count', '2', '--interval-ms', '0', '--timeout-ms', '1000']);
    assert.equal(code, 1);
    assert.match(stderr, /connection refused \(an ICMP "port unreachable" came back: no UDP server listens there\) \[SL_ERR_CONNECT_REFUSED\]/);
    assert.doesNotMatch(stderr, /lost/);
  });
});
