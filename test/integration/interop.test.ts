/**
 * Interoperability with peers socklab did not write: Python programs that behave on the wire like the seed's
 * (test/peers), and ncat, socat and OpenBSD nc. A missing peer fails the test loudly with the install command;
 * it never skips silently.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { available, CLI, runCli, runPeer, start, startCliServer, startPeer } from '../helpers/processes.js';

async function requirePeer(command: string, debianPackage: string): Promise<void> {
  assert.ok(await available(command), `${command} is not installed: this interop test needs it (apt-get install -y ${debianPackage})`);
}

/** Runs a tool with stdin open, waits for `expected` on its stdout, then ends it. */
async function converse(t: TestContext, command: string, args: string[], input: string, expected: RegExp): Promise<string> {
  const child = start(t, command, args);
  child.input(input);
  await child.waitFor(expected, 5000);
  await child.stop();
  return child.stdout;
}

describe('seed-like Python peers against socklab', () => {
  for (const mode of ['concurrent', 'sequential'] as const) {
    it(`seed client.py (no newlines, each send one message) is served by socklab serve --mode ${mode}`, async (t) => {
      const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--mode', mode]);
      const client = await runPeer(t, 'seed_client.py', [String(port)], 'hello world\nhow are you\nquit\n');
      assert.equal(client.code, 0, client.stderr);
      const greeting = mode === 'concurrent' ? 'connected to server' : 'Thank you for connecting';
      assert.match(client.stdout, new RegExp(`^${greeting}`));
      assert.match(client.stdout, /got message from server : got (your )?message/);
      const [, reason] = await child.waitFor(/closed \((quit|client closed)\)/);
      // No byte lost or reordered, and no send split. Two sends can still meet in one read: the seed's protocol
      // has no framing, and when its greeting arrives alone the client sends its next line without waiting
      // (README, "Framing"). socklab reads before greeting, which makes that rare (0 of 100 sessions on an idle
      // machine) but not impossible on a loaded one, so merges are allowed here only at send boundaries.
      const messages = [...child.stdout.matchAll(/got "(.*)"$/gm)].map((match) => match[1]!);
      assertWholeSends(messages, ['ack', 'hello world', 'how are you', 'quit']);
      // "quit" ends the session only as a message of its own; merged into the line before it, it is just text,
      // and the session ends when the client closes.
      assert.equal(reason, messages.at(-1) === 'quit' ? 'quit' : 'client closed', `close reason for ${JSON.stringify(messages)}`);
    });
  }

  it('socklab client talks to a server3.py-like server (greeting with newline, replies without)', async (t) => {
    const { child, port } = await startPeer(t, 'seed_server3.py');
    const { code, stdout, stderr } = await runCli(t, ['client', '127.0.0.1', String(port)], 'hello world\nquit\n');
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'Thank you for connecting\ngot your message\ngot your message\ngot your message\n');
    await child.finish();
    const received = [...child.stdout.matchAll(/got message from client : (.*)$/gm)].map((match) => match[1]);
    assert.deepEqual(received, ['ack', 'hello world', 'quit'], 'lockstep sends keep one message per recv');
    assert.match(child.stdout, /quiting \.\.\./);
  });

  it('socklab client --eol none ends an async_server.py-like session with an exact "quit"', async (t) => {
    const { child, port } = await startPeer(t, 'seed_async_server.py');
    const { code, stdout, stderr } = await runCli(t, ['client', '--port', String(port), '--eol', 'none'], 'hello world\nquit\n');
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'got message\ngot message\ngot message\n');
    await child.waitFor(/got from \('127\.0\.0\.1', \d+\) : quit$/m);
    assert.match(child.stdout, /got from \('127\.0\.0\.1', \d+\) : ack$/m);
  });

  it('several socklab clients at once against the async_server.py-like server', async (t) => {
    const { child, port } = await startPeer(t, 'seed_async_server.py');
    const runs = await Promise.all(
      Array.from({ length: 5 }, (_, i) => runCli(t, ['client', '--port', String(port), '--eol', 'none'], `client ${i}\nquit\n`)),
    );
    for (const run of runs) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'got message\ngot message\ngot message\n');
    }
    await child.waitFor(/(?:.*: quit\n[^]*){5}/);
  });

  it('udp_client.py-like client gets consecutive values from socklab udp-serve', async (t) => {
    const { port } = await startCliServer(t, ['udp-serve', '--port', '0', '--delay-ms', '20']);
    const { code, stdout, stderr } = await runPeer(t, 'seed_udp_client.py', [String(port), '4']);
    assert.equal(code, 0, stderr);
    const values = [...stdout.matchAll(/^got (\d+) from \('127\.0\.0\.1', (\d+)\)$/gm)];
    assert.deepEqual(values.map((match) => match[1]), ['1', '2', '3', '4']);
    assert.ok(values.every((match) => Number(match[2]) === port));
  });

  it('socklab udp-client reads the udp_server.py-like server', async (t) => {
    const { port } = await startPeer(t, 'seed_udp_server.py', ['0', '0.02']);
    const { code, stdout } = await runCli(t, ['udp-client', '--port', String(port), '--count', '3', '--interval-ms', '0']);
    assert.equal(code, 0);
    assert.match(stdout, /^got 1 from 127\.0\.0\.1:\d+ in [\d.]+ ms\ngot 2 .*\ngot 3 .*\n$/);
  });
});

describe('netcat-family tools against socklab', () => {
  it('ncat (LF lines, several per read) is served by socklab serve', async (t) => {
    await requirePeer('ncat', 'ncat');
    const { child, port } = await startCliServer(t, ['serve', '--port', '0']);
    const out = await converse(t, 'ncat', ['127.0.0.1', String(port)], 'one\ntwo\nthree\nquit\n', /(got message\n){4}/);
    assert.equal(out, 'connected to server\ngot message\ngot message\ngot message\ngot message\n');
    await child.waitFor(/closed \(quit\)/);
    assert.deepEqual([...child.stdout.matchAll(/got "(.*)"$/gm)].map((m) => m[1]), ['one', 'two', 'three', 'quit']);
  });

  it('ncat --crlf (telnet-style CRLF) is served, CR removed', async (t) => {
    await requirePeer('ncat', 'ncat');
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--reply', '[{message}]']);
    const out = await converse(t, 'ncat', ['--crlf', '127.0.0.1', String(port)], 'hello\nquit\n', /\[quit\]\n/);
    assert.equal(out, 'connected to server\n[hello]\n[quit]\n');
    await child.waitFor(/closed \(quit\)/);
  });

  it('socat and OpenBSD nc are served, and their EOF ends the session like quit', async (t) => {
    await requirePeer('socat', 'socat');
    await requirePeer('nc', 'netcat-openbsd');
    const { child, port } = await startCliServer(t, ['serve', '--port', '0']);
    const socat = await runCliPeer(t, 'socat', ['-', `TCP:127.0.0.1:${port}`], 'a\nb\n');
    assert.equal(socat, 'connected to server\ngot message\ngot message\n');
    const nc = await runCliPeer(t, 'nc', ['-N', '127.0.0.1', String(port)], 'c\n');
    assert.equal(nc, 'connected to server\ngot message\n');
    await child.waitFor(/(closed \(client closed\)[^]*){2}/);
  });

  it('ncat -u and socat UDP get counter values, newline echoed', async (t) => {
    await requirePeer('ncat', 'ncat');
    await requirePeer('socat', 'socat');
    const { port } = await startCliServer(t, ['udp-serve', '--port', '0', '--delay-ms', '20']);
    assert.equal(await converse(t, 'ncat', ['-u', '127.0.0.1', String(port)], 'get\n', /\n/), '1\n');
    assert.equal(await converse(t, 'socat', ['-', `UDP:127.0.0.1:${port}`], 'get\n', /\n/), '2\n');
  });

  it('socklab client talks to socat acting as a listening server', async (t) => {
    await requirePeer('socat', 'socat');
    const server = start(t, 'socat', ['-d', '-d', 'TCP-LISTEN:0,bind=127.0.0.1', 'STDIO']);
    const [, port] = await server.waitFor(/listening on AF=\d+ \S+:(\d+)\n/, 5000, 'stderr');
    const client = start(t, process.execPath, [CLI, 'client', '--port', port!, '--pipeline', '--greeting-wait-ms', '0']);
    client.input('hi from socklab\n');
    await server.waitFor(/ack\nhi from socklab\n/);
    server.input('hi from socat\n');
    await client.waitFor(/^hi from socat$/m);
    await server.stop();
    await client.finish();
  });
});

/** Asserts that `received` is `sent` in order, each received message being one or more whole sends. */
function assertWholeSends(received: string[], sent: string[]): void {
  let next = 0;
  for (const message of received) {
    let joined = '';
    while (next < sent.length && joined.length < message.length) joined += sent[next++];
    assert.equal(joined, message, `"${message}" is not made of whole sends (sent: ${JSON.stringify(sent)})`);
  }
  assert.equal(next, sent.length, `all sends arrived: got ${JSON.stringify(received)}`);
}

/** Runs a peer to completion with piped stdin, returning its stdout. */
async function runCliPeer(t: TestContext, command: string, args: string[], input: string): Promise<string> {
  const child = start(t, command, args);
  child.input(input, true);
  const { code } = await child.finish(10_000);
  assert.equal(code, 0, `${command} exit code; stderr: ${child.stderr}`);
  return child.stdout;
}
