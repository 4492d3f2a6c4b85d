// nc flags implemented in the first round and not tested there: --allowfile/--denyfile and -n/--nodns, each
// run against Debian's ncat and socklab nc in the same test.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { assertQuiet, eachNetcat, listenNc, requireTool, startNc } from '../helpers/netcat.js';

before(() => requireTool('ncat'));

test('--denyfile and --allowfile: one address or CIDR range a line, from a file', (t) =>
  eachNetcat(t, async (t, nc) => {
    const dir = mkdtempSync(join(tmpdir(), 'socklab-nc-flags-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'deny'), '127.0.0.0/8\n');
    writeFileSync(join(dir, 'allow'), '10.0.0.0/8\n127.0.0.1\n');
    const { nc: denied, port } = await listenNc(t, nc, ['-k', '--denyfile', join(dir, 'deny')]);
    const turnedAway = startNc(t, nc, ['127.0.0.1', String(port)]);
    turnedAway.write('abc\n');
    await turnedAway.exitWithin(2000);
    await assertQuiet(denied, 300, 'a client on the --denyfile list was heard');
    const { nc: allowed, port: allowedPort } = await listenNc(t, nc, ['--allowfile', join(dir, 'allow')]);
    startNc(t, nc, ['127.0.0.1', String(allowedPort)]).write('abc\n');
    assert.equal((await allowed.waitOutput('abc\n')).toString(), 'abc\n');
  }));

test('-n/--nodns: a host name is refused without a lookup, an IP address connects', (t) =>
  eachNetcat(t, async (t, nc) => {
    const named = startNc(t, nc, ['-n', 'localhost', '9']);
    named.endInput();
    // ncat: 'Could not resolve hostname "localhost": Name or service not known. QUITTING.', exit 2.
    assert.equal(await named.exitWithin(5000), 2, named.stderr);
    assert.match(named.stderr, /resolve.*"localhost"/i);
    assert.equal(named.stderr.trim().split('\n').length, 1, named.stderr);
    if (nc === 'socklab') assert.match(named.stderr, /\[SL_ERR_RESOLVE\]$/m);
    const { nc: server, port } = await listenNc(t, nc, []);
    const byAddress = startNc(t, nc, ['-n', '127.0.0.1', String(port)]);
    byAddress.write('abc\n');
    assert.equal((await server.waitOutput('abc\n')).toString(), 'abc\n');
  }));

test('a host name that does not resolve exits 2 in connect, -z and listen mode, with one line', (t) =>
  eachNetcat(t, async (t, nc) => {
    for (const args of [['no-such-host.invalid', '9'], ['-z', 'no-such-host.invalid', '9'], ['-l', 'no-such-host.invalid', '9']]) {
      const child = startNc(t, nc, args);
      child.endInput();
      assert.equal(await child.exitWithin(5000), 2, `${args.join(' ')}: ${child.stderr}`);
      assert.equal(child.stderr.trim().split('\n').length, 1, child.stderr);
      assert.match(child.stderr, /no-such-host\.invalid/);
    }
  }));
