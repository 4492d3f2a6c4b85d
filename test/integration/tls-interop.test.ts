/**
 * TLS against peers socklab did not write: openssl s_client and s_server, ncat --ssl, socat OPENSSL, both ways,
 * with certificates made by the test. A missing tool fails with its install command; nothing is skipped.
 */
import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import { benchSummary } from '../helpers/json-lines.js';
import { available, freePort, runCli, start, startCliServer, stopChecked, type Child } from '../helpers/processes.js';
import { makeCertificates } from '../helpers/tls-certs.js';

before(async () => {
  for (const [command, pkg] of [['openssl', 'openssl'], ['ncat', 'ncat'], ['socat', 'socat']] as const) {
    assert.ok(await available(command), `${command} is not installed: the TLS interop tests need it (apt-get install -y ${pkg})`);
  }
});

/** Starts a peer server on a free port (these need a number) and waits until it says it listens; retries on a port taken meanwhile. */
async function startPeerServer(t: TestContext, command: string, args: (port: number) => string[], ready: RegExp, stream: 'stdout' | 'stderr'): Promise<{ child: Child; port: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = start(t, command, args(port));
    try {
      await child.waitFor(ready, 5000, stream);
      return { child, port };
    } catch (err) {
      lastError = err;
      await child.stop('SIGKILL');
    }
  }
  throw lastError;
}

/** Runs a client tool with `input`, waits for `expected`, ends it. */
async function converse(t: TestContext, command: string, args: string[], input: string, expected: RegExp): Promise<Child> {
  const child = start(t, command, args);
  child.input(input);
  await child.waitFor(expected, 8000);
  return child;
}

describe('TLS interop: real clients against socklab serve --tls', () => {
  it('openssl s_client verifies the certificate (CA and host name) and talks to socklab', async (t) => {
    const certs = await makeCertificates(t);
    const { child: server, port } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--cert', certs.good.certFile, '--key', certs.good.keyFile]);
    const client = await converse(
      t,
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', certs.ca.certFile, '-verify_return_error', '-verify_hostname', 'localhost', '-quiet'],
      'hello from openssl\nquit\n',
      /got message\n(.*\n)*got message/,
    );
    await client.finish(5000);
    await server.waitFor(/got "hello from openssl"/);
    assert.match(client.stderr, /verify return:1/);
  });

  it('ncat --ssl --ssl-verify talks to socklab', async (t) => {
    const certs = await makeCertificates(t);
    const { child: server, port } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--cert', certs.good.certFile, '--key', certs.good.keyFile]);
    const client = await converse(t, 'ncat', ['--ssl', '--ssl-verify', '--ssl-trustfile', certs.ca.certFile, 'localhost', String(port)], 'hello from ncat\n', /got message/);
    await server.waitFor(/got "hello from ncat"/);
    await client.stop();
  });

  it('socat OPENSSL (verifying, the default) talks to socklab', async (t) => {
    const certs = await makeCertificates(t);
    const { child: server, port } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--cert', certs.good.certFile, '--key', certs.good.keyFile]);
    const client = await converse(t, 'socat', ['-', `OPENSSL:localhost:${port},cafile=${certs.ca.certFile}`], 'hello from socat\n', /got message/);
    await server.waitFor(/got "hello from socat"/);
    await client.stop();
  });

  it('a client that refuses the certificate, an old TLS version and a plaintext client each cost one log line', async (t) => {
    const certs = await makeCertificates(t);
    const { child: server, port } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--tls-min', '1.3', '--cert', certs.good.certFile, '--key', certs.good.keyFile]);
    // s_client without the CA, verifying: it sends an "unknown CA" alert.
    const untrusting = start(t, 'openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-verify_return_error', '-quiet']);
    untrusting.input('', true);
    assert.notEqual((await untrusting.finish(8000)).code, 0);
    await server.waitFor(/TLS handshake failed: .*refused this server's certificate \(unknown ca\).* \[SL_ERR_TLS_HANDSHAKE\]/);
    const old = start(t, 'openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-quiet']);
    old.input('', true);
    await old.finish(8000);
    await server.waitFor(/TLS handshake failed: .*no TLS version this server accepts.* \[SL_ERR_TLS_PROTOCOL_VERSION\]/);
    const plain = start(t, 'nc', ['-N', '127.0.0.1', String(port)]);
    plain.input('hello\n', true);
    await plain.finish(8000);
    await server.waitFor(/TLS handshake failed: .*sent plaintext, not a TLS handshake.* \[SL_ERR_TLS_NOT_TLS\]/);
    // Still serving, then stops cleanly with the failures counted by code.
    const { code, stdout } = await runCli(t, ['client', '--tls', '--ca', certs.ca.certFile, '--port', String(port)], 'after\nquit\n');
    assert.equal(code, 0);
    assert.match(stdout, /got message/);
    const { stdout: serverOut } = await stopChecked(server);
    assert.match(serverOut, /stopped: 1 clients served.*1 TLS handshakes failed for SL_ERR_TLS_HANDSHAKE, 1 TLS handshakes failed for SL_ERR_TLS_PROTOCOL_VERSION, 1 TLS handshakes failed for SL_ERR_TLS_NOT_TLS/);
    assert.equal((server.stdout.match(/TLS handshake failed/g) ?? []).length, 3, 'one line per failed handshake');
  });
});

describe('TLS interop: socklab client --tls against real servers', () => {
  it('openssl s_server (-rev echoes each line reversed)', async (t) => {
    const certs = await makeCertificates(t);
    const { child: server, port } = await startPeerServer(
      t,
      'openssl',
      (port) => ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', certs.good.certFile, '-key', certs.good.keyFile, '-rev'],
      /ACCEPT/,
      'stdout',
    );
    const { code, stdout, stderr } = await runCli(t, ['client', '--tls', '--ca', certs.ca.certFile, '--no-hello', '--port', String(port), 'localhost'], 'olleh\n');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^hello$/m);
    // Without the CA, the same server is refused with a code that says what to do.
    const refused = await runCli(t, ['client', '--tls', '--no-hello', '--port', String(port), 'localhost'], 'x\n');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /issued by CN=socklab test CA that this client does not trust.*--ca.*\[SL_ERR_TLS_UNTRUSTED\]/);
    await server.stop();
  });

  it('openssl s_server limited to TLS 1.2 against --tls-min 1.3 is SL_ERR_TLS_PROTOCOL_VERSION', async (t) => {
    const certs = await makeCertificates(t);
    const { port } = await startPeerServer(
      t,
      'openssl',
      (port) => ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', certs.good.certFile, '-key', certs.good.keyFile, '-tls1_2'],
      /ACCEPT/,
      'stdout',
    );
    const { code, stderr } = await runCli(t, ['probe', '--tls', '--tls-min', '1.3', '--ca', certs.ca.certFile, 'localhost', String(port)]);
    assert.equal(code, 1);
    assert.match(stderr, /share no TLS version .*--tls-min.*\[SL_ERR_TLS_PROTOCOL_VERSION\]/);
  });

  it('ncat --ssl -l with its own certificate (echo)', async (t) => {
    const certs = await makeCertificates(t);
    const { port } = await startPeerServer(
      t,
      'ncat',
      (port) => ['-v', '--ssl', '--ssl-cert', certs.good.certFile, '--ssl-key', certs.good.keyFile, '-l', '127.0.0.1', String(port), '-e', '/bin/cat'],
      /Listening on/,
      'stderr',
    );
    const { code, stdout, stderr } = await runCli(t, ['client', '--tls', '--ca', certs.ca.certFile, '--port', String(port), 'localhost'], 'hello ncat\n');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^hello ncat$/m);
  });

  it('socat OPENSSL-LISTEN (echo), and probe --tls prints what it negotiated', async (t) => {
    const certs = await makeCertificates(t);
    const { port } = await startPeerServer(
      t,
      'socat',
      (port) => ['-d', '-d', `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${certs.good.certFile},key=${certs.good.keyFile},verify=0`, 'EXEC:cat'],
      /listening on/,
      'stderr',
    );
    const { code, stdout, stderr } = await runCli(t, ['client', '--tls', '--ca', certs.ca.certFile, '--port', String(port), 'localhost'], 'hello socat\n');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^hello socat$/m);
    const probe = await runCli(t, ['probe', '--tls', '--ca', certs.ca.certFile, 'localhost', String(port)]);
    assert.equal(probe.code, 0, probe.stderr);
    assert.match(probe.stdout, /tls: TLSv1\.[23], cipher \S+/);
    assert.match(probe.stdout, /subject +CN=localhost\n +issuer +CN=socklab test CA\n +valid +\S+ to \S+ \(\d+ days left\)\n +names +localhost, 127\.0\.0\.1, .*\n +sha256 +sha256:[0-9A-F:]{95}/);
    assert.match(probe.stdout, /verified: yes: the chain leads to a trusted CA/);
  });
});

describe('TLS from the command line', () => {
  it('serve --tls makes a certificate, prints its fingerprint, and a client pinning it talks; one without the pin is refused', async (t) => {
    const { child: server, port } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--quiet']);
    const [, fingerprint] = server.stdout.match(/tls: fingerprint (sha256:[0-9A-F:]+)/)!;
    assert.match(server.stdout, /self-signed, made at start/);
    assert.match(server.stdout, /listening on 127\.0\.0\.1:\d+ \(concurrent mode, TLS\)/);
    const pinned = await runCli(t, ['client', '--tls', '--fingerprint', fingerprint!, '--port', String(port)], 'hi\nquit\n');
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.match(pinned.stdout, /connected to server\ngot message/);
    const unpinned = await runCli(t, ['client', '--tls', '--port', String(port)], 'hi\n');
    assert.equal(unpinned.code, 1);
    assert.match(unpinned.stderr, new RegExp(`self-signed.*if ${fingerprint} is the fingerprint the server printed, pin it with --fingerprint \\[SL_ERR_TLS_UNTRUSTED\\]`));
    assert.doesNotMatch(unpinned.stderr, /\n\s+at /, 'no stack trace');
    const insecure = await runCli(t, ['client', '--tls', '--insecure', '--port', String(port)], 'hi\n');
    assert.equal(insecure.code, 0);
    assert.match(insecure.stderr, /^warning: --insecure: the server's certificate is not checked/m);
  });

  it('a TLS client on a plaintext port and a handshake that never finishes are named on both sides', async (t) => {
    const { child: plain, port } = await startCliServer(t, ['serve', '--port', '0']);
    const tlsClient = await runCli(t, ['client', '--tls', '--insecure', '--port', String(port)], 'hi\n');
    assert.equal(tlsClient.code, 1);
    assert.match(tlsClient.stderr, /answered in plaintext, not TLS.*\[SL_ERR_TLS_NOT_TLS\]/);
    await plain.waitFor(/closed \(SL_ERR_TLS_EXPECTED\)/);

    const { child: tlsServer, port: tlsPort } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--handshake-timeout-ms', '300']);
    const silent = start(t, 'nc', ['127.0.0.1', String(tlsPort)]);
    await tlsServer.waitFor(/TLS handshake failed: .*did not finish within 300 ms \(handshakeTimeoutMs\) \[SL_ERR_TLS_HANDSHAKE_TIMEOUT\]/);
    await silent.stop();
  });

  it('bench --tls runs full handshakes against serve --tls (tcp and connect modes), and refuses an unverified server', async (t) => {
    const { child: server, port } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--quiet']);
    const [, fingerprint] = server.stdout.match(/tls: fingerprint (sha256:[0-9A-F:]+)/)!;
    for (const mode of ['tcp', 'connect']) {
      const run = await runCli(t, ['bench', mode, '--port', String(port), '-c', '4', '--duration-ms', '400', '--warmup-ms', '0', '--tls', '--fingerprint', fingerprint!, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const result = benchSummary(run.stdout);
      assert.ok(result.completed > 0, `${mode}: ${run.stdout}`);
      assert.equal(result.errors, 0);
    }
    const refused = await runCli(t, ['bench', 'connect', '--port', String(port), '-c', '1', '--duration-ms', '300', '--warmup-ms', '0', '--tls', '--json']);
    assert.equal(refused.code, 1);
    assert.ok(benchSummary(refused.stdout).errors > 0);
  });

  it('bad TLS flags are usage errors (exit 2); unusable files fail with SL_ERR_TLS_CONFIG (exit 1)', async (t) => {
    const certs = await makeCertificates(t);
    for (const args of [
      ['serve', '--cert', certs.good.certFile, '--key', certs.good.keyFile],
      ['serve', '--tls', '--cert', certs.good.certFile],
      ['serve', '--tls', '--tls-min', '1.1'],
      ['client', '--ca', certs.ca.certFile],
      ['client', '--tls', '--insecure', '--fingerprint', 'sha256:00'],
    ]) {
      const { code, stderr } = await runCli(t, args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    }
    const mismatch = await runCli(t, ['serve', '--port', '0', '--tls', '--cert', certs.good.certFile, '--key', certs.expired.keyFile]);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /Cannot use the TLS certificate and key: .*\[SL_ERR_TLS_CONFIG\]/);
    const missing = await runCli(t, ['client', '--tls', '--ca', `${certs.dir}/nope.pem`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot read the CA file .*nope\.pem: ENOENT \[SL_ERR_TLS_CONFIG\]/);
    const badPin = await runCli(t, ['client', '--tls', '--fingerprint', 'sha256:00']);
    assert.equal(badPin.code, 2);
    assert.match(badPin.stderr, /fingerprint must be a SHA-256 fingerprint/);
  });
});
