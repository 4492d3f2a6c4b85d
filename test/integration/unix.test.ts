import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { connectTcp, listenTcp } from '../../src/index.js';
import { probeSocketPath } from '../../src/unix/socket-path.js';
import { eventually } from '../helpers/changes.js';
import { available, runCli, start, startCliListener, startCliServer, stopChecked, type Child } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-unix-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function requireTool(name: string, pkg: string): Promise<void> {
  assert.ok(await available(name), `${name} is needed for this test: apt-get install -y ${pkg}`);
}

async function serveUnix(t: TestContext, path: string, args: string[] = []): Promise<Child> {
  const { child, address } = await startCliListener(t, ['serve', '--unix', path, ...args]);
  assert.equal(address, `unix:${path}`);
  return child;
}

/** A socket file whose server died without removing it (a SIGKILLed server leaves exactly this). */
async function staleSocket(t: TestContext, path: string): Promise<void> {
  const python = start(t, 'python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)})`]);
  assert.equal((await python.finish()).code, 0);
  assert.ok(statSync(path).isSocket());
}

describe('UNIX domain sockets', () => {
  it('ncat -U and socat UNIX-CONNECT talk to `serve --unix`, and the socket file is removed on shutdown', async (t) => {
    await requireTool('ncat', 'ncat');
    await requireTool('socat', 'socat');
    const path = join(tempDir(t), 'serve.sock');
    const server = await serveUnix(t, path, ['--reply', 'echo {message}']);
    const ncat = start(t, 'ncat', ['-U', path]);
    ncat.input('from ncat\nquit\n', true);
    await ncat.finish();
    assert.equal(ncat.stdout, 'connected to server\necho from ncat\necho quit\n');
    const socat = start(t, 'socat', ['-', `UNIX-CONNECT:${path}`]);
    socat.input('from socat\nquit\n', true);
    await socat.finish();
    assert.equal(socat.stdout, 'connected to server\necho from socat\necho quit\n');
    await server.waitFor(/unix:\(unnamed\) got "from ncat"/);
    await stopChecked(server);
    assert.equal(existsSync(path), false, 'socket file removed');
  });

  it('`client --unix` talks to ncat -lU and socat UNIX-LISTEN servers', async (t) => {
    await requireTool('ncat', 'ncat');
    await requireTool('socat', 'socat');
    const dir = tempDir(t);
    const peers: [string, string[]][] = [
      ['ncat', ['-lU', join(dir, 'ncat.sock'), '--sh-exec', 'cat']],
      ['socat', [`UNIX-LISTEN:${join(dir, 'socat.sock')}`, 'EXEC:cat']],
    ];
    for (const [tool, args] of peers) {
      const server = start(t, tool, args);
      const path = join(dir, `${tool}.sock`);
      // Wait for the file, without connecting: these servers take one connection and exit.
      await eventually(() => existsSync(path), `${tool} to listen on ${path}`, 5000, 50);
      const { code, stdout, stderr } = await runCli(t, ['client', '--unix', path, '--pipeline', '--line-replies', '--greeting-wait-ms', '0'], 'one\ntwo\n');
      assert.equal(code, 0, stderr);
      assert.equal(stdout, 'ack\none\ntwo\n', `${tool} echoed every line`);
      await server.stop();
    }
  });

  it('replaces a stale socket file left by a dead server, and refuses a live one with a clear error', async (t) => {
    const path = join(tempDir(t), 'stale.sock');
    await staleSocket(t, path);
    assert.equal(await probeSocketPath(path), 'stale');
    const probe = await runCli(t, ['probe', '--unix', path]);
    assert.equal(probe.code, 1);
    assert.match(probe.stderr, /SL_ERR_CONNECT_REFUSED/);
    const server = await serveUnix(t, path);
    const second = await runCli(t, ['serve', '--unix', path]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /a server is already listening there .*\[SL_ERR_BIND\]/);
    assert.ok(server.running, 'the live server is untouched');
    const client = await RawClient.connect(t, 0, { path });
    await client.waitForText(/connected to server/);
    await stopChecked(server);
  });

  it('serve --unix --exec: ncat -U gets the program, with half-close carried through', async (t) => {
    await requireTool('ncat', 'ncat');
    const path = join(tempDir(t), 'exec.sock');
    const server = await serveUnix(t, path, ['--exec', 'tr a-z A-Z']);
    const ncat = start(t, 'ncat', ['-U', path]);
    ncat.input('shout over a file\n', true); // EOF → FIN → tr's end of input → its answer, exit and our FIN
    const { code } = await ncat.finish();
    assert.equal(code, 0);
    assert.equal(ncat.stdout, 'SHOUT OVER A FILE\n');
    await server.waitFor(/program exit code 0/);
    await stopChecked(server);
  });

  it('never removes a file that is not a socket', async (t) => {
    const path = join(tempDir(t), 'notes.txt');
    writeFileSync(path, 'precious');
    const { code, stderr } = await runCli(t, ['serve', '--unix', path]);
    assert.equal(code, 1);
    assert.match(stderr, /not a socket .*\[SL_ERR_BIND\]/);
    assert.equal(statSync(path).size, 8);
  });

  it('serves a Linux abstract name (@name), reached by socat ABSTRACT-CONNECT and by our client', async (t) => {
    // Node 20's libuv binds abstract names padded with NULs to the full sun_path (108 bytes), and the kernel
    // compares the whole length: socat must be told to pad too (unix-tightsocklen=0). Node 22 uses the exact length.
    await requireTool('socat', 'socat');
    const name = `socklab-test-${process.pid}-${Date.now()}`;
    const server = await serveUnix(t, `@${name}`, ['--reply', 'abstract {message}']);
    assert.match(server.stdout, new RegExp(`listening on unix:@${name} `));
    const socat = start(t, 'socat', ['-', `ABSTRACT-CONNECT:${name},unix-tightsocklen=0`]);
    socat.input('hi\nquit\n', true);
    await socat.finish();
    assert.equal(socat.stdout, 'connected to server\nabstract hi\nabstract quit\n');
    const ours = await runCli(t, ['client', '--unix', `@${name}`], 'again\n');
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(ours.stdout, /abstract again/);
    await stopChecked(server);
  });

  it('the library: listenTcp({ path }) and connectTcp({ path }) exchange messages; address() reports the path', async (t) => {
    const path = join(tempDir(t), 'lib.sock');
    const server = await listenTcp({ path, framing: 'line' });
    t.after(() => server.close());
    assert.deepEqual(server.address(), { address: path, port: 0, family: 'unix' });
    server.on('connection', (conn) => conn.on('message', (m) => conn.send(`echo ${m}`)));
    const conn = await connectTcp({ path, framing: 'line' });
    t.after(() => conn.destroy());
    assert.equal(conn.remote.family, 'unix');
    conn.send('hello');
    for await (const reply of conn.messages()) {
      assert.equal(reply.toString(), 'echo hello');
      break;
    }
    await server.close();
    assert.equal(existsSync(path), false);
  });

  it('a closing server never removes the socket file of the next server on the same path', async (t) => {
    const path = join(tempDir(t), 'handover.sock');
    const first = await listenTcp({ path, closeTimeoutMs: 2000 });
    // A client that keeps its connection open holds the first server's close (it waits for its peers).
    const lingering = await connectTcp({ path });
    t.after(() => lingering.destroy());
    const closing = first.close();
    const second = await listenTcp({ path, framing: 'line' });
    t.after(() => second.close());
    lingering.destroy();
    await closing;
    assert.equal(existsSync(path), true, 'the second server keeps its socket file');
    const conn = await connectTcp({ path });
    t.after(() => conn.destroy());
    assert.equal(conn.remote.family, 'unix');
  });

  it('TLS over a socket file: peers are UNIX endpoints; allow/deny lists, which need IP addresses, are refused', async (t) => {
    const path = join(tempDir(t), 'tls.sock');
    const server = await listenTcp({ path, tls: true, framing: 'line' });
    t.after(() => server.close());
    const seen: string[] = [];
    server.on('connection', (conn) => {
      seen.push(conn.remote.family);
      conn.on('message', (m) => conn.send(`echo ${m}`));
    });
    const conn = await connectTcp({ path, framing: 'line', tls: { fingerprint: server.certificate!.fingerprint256 } });
    t.after(() => conn.destroy());
    assert.equal(conn.remote.family, 'unix');
    conn.send('secret');
    for await (const reply of conn.messages()) {
      assert.equal(reply.toString(), 'echo secret');
      break;
    }
    assert.deepEqual(seen, ['unix']);
    await assert.rejects(listenTcp({ path: join(tempDir(t), 'x.sock'), allow: ['127.0.0.1'] }), RangeError);
    const cli = await runCli(t, ['serve', '--unix', join(tempDir(t), 'y.sock'), '--allow', '127.0.0.1']);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /UNIX socket peers have none/);
  });

  it('bench, probe and proxy take --unix: a TCP port in front of a socket file and the reverse', async (t) => {
    await requireTool('socat', 'socat');
    const dir = tempDir(t);
    const backend = join(dir, 'backend.sock');
    const server = await serveUnix(t, backend, ['--quiet']);
    const probe = await runCli(t, ['probe', '--unix', backend]);
    assert.equal(probe.code, 0, probe.stderr);
    assert.match(probe.stdout, /connected to .*backend\.sock in/);
    const bench = await runCli(t, ['bench', 'tcp', '--unix', backend, '-c', '2', '-d', '300', '--warmup-ms', '0']);
    assert.equal(bench.code, 0, bench.stderr);
    assert.match(bench.stdout, /requests\s+[1-9]\d* \(/);
    assert.match(bench.stdout, /target\s+\S*backend\.sock \(tcp, 2 connections\)/, 'the result names the socket file it loaded');
    // TCP → proxy → UNIX backend.
    const { child: front, port } = await startCliServer(t, ['proxy', '--upstream-unix', backend, '--port', '0']);
    const viaTcp = await runCli(t, ['client', '127.0.0.1', String(port)], 'over tcp\n');
    assert.match(viaTcp.stdout, /got message/);
    // UNIX → proxy → TCP front: socat speaks to the proxy's socket file.
    const socketFront = join(dir, 'front.sock');
    const { child: back, address } = await startCliListener(t, ['proxy', '127.0.0.1', String(port), '--unix', socketFront]);
    assert.equal(address, `unix:${socketFront}`);
    const socat = start(t, 'socat', ['-', `UNIX-CONNECT:${socketFront}`]);
    socat.input('both ways\nquit\n', true);
    await socat.finish();
    assert.equal(socat.stdout, 'connected to server\ngot message\ngot message\n');
    await back.stop();
    assert.equal(existsSync(socketFront), false, 'the proxy removed its socket file');
    await front.stop();
    await stopChecked(server);
  });
});
