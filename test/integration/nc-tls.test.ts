// socklab nc --ssl: ncat-test.pl's SSL cases against ncat and socklab nc, and interop with `ncat --ssl` and
// `openssl s_client` both ways, pinning and verification.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { eachNetcat, listenNc, requireTool, startNc, waitConnections } from '../helpers/netcat.js';

before(async () => {
  await requireTool('ncat');
  await requireTool('openssl');
});

describe('ncat compatibility: SSL', { concurrency: 3 }, () => {
  test('--ssl: bytes both ways between an --ssl server and an --ssl client', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['--ssl', '-v']);
      const c = startNc(t, nc, ['--ssl', '127.0.0.1', String(port)]);
      await waitConnections(server, 1);
      c.write('abc\n');
      assert.equal((await server.waitOutput('abc\n')).toString(), 'abc\n');
      server.write('def\n');
      assert.equal((await c.waitOutput('def\n')).toString(), 'def\n');
      c.endInput();
      assert.notEqual(await c.exitWithin(5000), undefined, 'the client did not stop after its stdin and the server ended');
    }));

  test('Server quits after a failed ssl negotiation without --keep-open', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['--ssl']);
      const plain = startNc(t, nc, ['-v', '127.0.0.1', String(port)]);
      // Killed only once connected: a loaded machine can take longer than ncat's suite's fixed sleep to start Node.
      await plain.waitStderr(/Connected to/);
      plain.write('abc\n');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await plain.stop();
      assert.notEqual(await server.exitWithin(3000), undefined, 'the server still runs');
    }));

  test('--broker mode (tcp ssl)', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { nc: server, port } = await listenNc(t, nc, ['--broker', '--ssl', '-v']);
      const one = startNc(t, nc, ['--ssl', '127.0.0.1', String(port)]);
      await waitConnections(server, 1);
      const two = startNc(t, nc, ['--ssl', '127.0.0.1', String(port)]);
      await waitConnections(server, 2);
      two.write('abc\n');
      assert.equal((await one.waitOutput('abc\n')).toString(), 'abc\n');
      one.write('def\n');
      assert.equal((await two.waitOutput('def\n')).toString(), 'def\n');
    }));
});

describe('socklab nc --ssl interop', { concurrency: 3 }, () => {
  test('ncat --ssl client to socklab nc -l --ssl, and socklab nc --ssl to ncat -l --ssl', async (t) => {
    const { nc: ours, port } = await listenNc(t, 'socklab', ['--ssl', '-v'], { host: '127.0.0.1' });
    const theirs = startNc(t, 'ncat', ['--ssl', '127.0.0.1', String(port)]);
    await waitConnections(ours, 1);
    theirs.write('from ncat\n');
    assert.equal((await ours.waitOutput('from ncat\n')).toString(), 'from ncat\n');
    ours.write('from socklab\n');
    assert.equal((await theirs.waitOutput('from socklab\n')).toString(), 'from socklab\n');

    const { nc: ncatServer, port: ncatPort } = await listenNc(t, 'ncat', ['--ssl', '-v'], { host: '127.0.0.1' });
    const client = startNc(t, 'socklab', ['--ssl', '127.0.0.1', String(ncatPort)]);
    await waitConnections(ncatServer, 1);
    client.write('to ncat\n');
    assert.equal((await ncatServer.waitOutput('to ncat\n')).toString(), 'to ncat\n');
    ncatServer.write('to socklab\n');
    assert.equal((await client.waitOutput('to socklab\n')).toString(), 'to socklab\n');
  });

  test('openssl s_client to socklab nc -l --ssl, both ways', async (t) => {
    const { nc: ours, port } = await listenNc(t, 'socklab', ['--ssl', '-v'], { host: '127.0.0.1' });
    const s = spawn('openssl', ['s_client', '-quiet', '-connect', `127.0.0.1:${port}`], { stdio: 'pipe' });
    t.after(() => void (s.exitCode === null && s.kill('SIGKILL')));
    let heard = '';
    s.stdout.setEncoding('utf8').on('data', (text: string) => (heard += text));
    s.stderr.resume();
    await waitConnections(ours, 1);
    s.stdin.write('from openssl\n');
    assert.equal((await ours.waitOutput('from openssl\n')).toString(), 'from openssl\n');
    ours.write('from socklab\n');
    for (let i = 0; i < 250 && !heard.includes('from socklab\n'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(heard, 'from socklab\n');
  });

  test('--fingerprint pins the self-signed certificate the server printed; a wrong pin and --ssl-verify fail with exit 1', async (t) => {
    const { nc: server, port } = await listenNc(t, 'socklab', ['-k', '--ssl', '-v'], { host: '127.0.0.1' });
    const [, fingerprint] = (await server.waitStderr(/fingerprint (sha256:[0-9A-F:]+)/))!;
    const pinned = startNc(t, 'socklab', ['--ssl', '--fingerprint', fingerprint!, '127.0.0.1', String(port)]);
    pinned.write('pinned\n');
    assert.equal((await server.waitOutput('pinned\n')).toString(), 'pinned\n');
    const wrong = startNc(t, 'socklab', ['--ssl', '--fingerprint', `sha256:${'00:'.repeat(31)}00`, '127.0.0.1', String(port)]);
    assert.equal(await wrong.exitWithin(5000), 1);
    assert.match(wrong.stderr, /SL_ERR_TLS_FINGERPRINT_MISMATCH/);
    const verifying = startNc(t, 'socklab', ['--ssl', '--ssl-verify', '127.0.0.1', String(port)]);
    assert.equal(await verifying.exitWithin(5000), 1);
    assert.match(verifying.stderr, /SL_ERR_TLS_UNTRUSTED/);
  });
});
