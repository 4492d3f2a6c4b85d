// --ssl-alpn: the protocols offered in connect mode (against `openssl s_server -alpn`, ncat beside socklab nc) and
// accepted in listen mode (against `openssl s_client -alpn` and `ncat --ssl --ssl-alpn`; ncat itself refuses
// the option with -l, exit 2, which is checked too).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { eachNetcat, listenNc, requireTool, startNc, waitConnections } from '../helpers/netcat.js';
import { freePort } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'socklab-alpn-'));
after(() => rmSync(dir, { recursive: true, force: true }));

before(async () => {
  await requireTool('ncat');
  await requireTool('openssl');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
});

/** `openssl s_server -alpn LIST` on a free port, its output collected (its stdin stays open: at EOF it quits). */
async function sServer(t: TestContext, alpn: string): Promise<{ port: number; output: () => string; proc: ChildProcessWithoutNullStreams }> {
  const port = await freePort();
  const proc = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', join(dir, 'cert.pem'), '-key', join(dir, 'key.pem'), '-alpn', alpn], { stdio: 'pipe' });
  t.after(() => void (proc.exitCode === null && proc.kill('SIGKILL')));
  let output = '';
  proc.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  proc.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  for (let i = 0; i < 100 && !output.includes('ACCEPT'); i++) await new Promise((resolve) => setTimeout(resolve, 30));
  assert.match(output, /ACCEPT/, 's_server did not start');
  return { port, output: () => output, proc };
}

async function until(what: () => string, pattern: RegExp, ms = 5000): Promise<string> {
  for (const started = Date.now(); Date.now() - started < ms; await new Promise((resolve) => setTimeout(resolve, 30))) {
    if (pattern.test(what())) return what();
  }
  assert.fail(`no ${pattern} within ${ms} ms in: ${what()}`);
}

describe('--ssl-alpn', { concurrency: 2 }, () => {
  test('connect mode offers the list, in order, to openssl s_server -alpn, which picks its choice', (t) =>
    eachNetcat(t, async (t, nc) => {
      const server = await sServer(t, 'http/1.1,h2');
      const client = startNc(t, nc, ['-v', '--ssl', '--ssl-alpn', 'h2,http/1.1', '127.0.0.1', String(server.port)]);
      client.write('over alpn\n');
      const seen = await until(server.output, /over alpn/);
      assert.match(seen, /ALPN protocols advertised by the client: h2, http\/1\.1/);
      assert.match(seen, /ALPN protocols selected: http\/1\.1/);
      if (nc === 'socklab') assert.match(client.stderr, /SSL: ALPN protocol http\/1\.1/);
      client.endInput();
    }));

  test('connect mode with no protocol in common: the server refuses the handshake, exit 1, one line', (t) =>
    eachNetcat(t, async (t, nc) => {
      const server = await sServer(t, 'http/1.1,h2');
      const client = startNc(t, nc, ['--ssl', '--ssl-alpn', 'spdy/1', '127.0.0.1', String(server.port)]);
      client.endInput();
      assert.equal(await client.exitWithin(5000), 1, client.stderr);
      assert.equal(client.stderr.trim().split('\n').length, 1, client.stderr);
      if (nc === 'socklab') assert.match(client.stderr, /NO_APPLICATION_PROTOCOL.*\[SL_ERR_TLS_HANDSHAKE\]/);
    }));

  test('listen mode picks by its own order for openssl s_client -alpn and for ncat --ssl --ssl-alpn; ncat -l refuses the option', async (t) => {
    const { nc: ours, port } = await listenNc(t, 'socklab', ['-k', '-v', '--ssl', '--ssl-alpn', 'h2,http/1.1'], { host: '127.0.0.1' });
    const s = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-alpn', 'http/1.1,h2'], { stdio: 'pipe' });
    t.after(() => void (s.exitCode === null && s.kill('SIGKILL')));
    let heard = '';
    s.stdout.setEncoding('utf8').on('data', (text: string) => (heard += text));
    s.stderr.resume();
    await waitConnections(ours, 1);
    await until(() => heard, /ALPN protocol: h2/);
    s.stdin.write('from s_client\n');
    assert.equal((await ours.waitOutput('from s_client\n')).toString(), 'from s_client\n');
    await until(() => ours.stderr, /SSL: ALPN protocol h2/);

    const theirs = startNc(t, 'ncat', ['--ssl', '--ssl-alpn', 'http/1.1', '127.0.0.1', String(port)]);
    await waitConnections(ours, 2);
    await until(() => ours.stderr, /SSL: ALPN protocol http\/1\.1/);
    theirs.write('from ncat\n');
    assert.equal((await ours.waitOutput('from s_client\nfrom ncat\n')).toString(), 'from s_client\nfrom ncat\n');

    const refused = startNc(t, 'ncat', ['-l', '--ssl', '--ssl-alpn', 'h2', '127.0.0.1', String(await freePort())]);
    assert.equal(await refused.exitWithin(5000), 2, refused.stderr);
    assert.match(refused.stderr, /ALPN is not supported in listen mode/);
  });
});
