// serve --mode chat and --mode broker in one process: real ncat and nc peers, escaping, /nick, quit, a client that
// does not read, binary bytes through the broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { available, runCli, start, startCliServer, stopChecked } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { tally } from '../helpers/tally.js';

describe('serve --mode chat', () => {
  it('ncat and nc are chat peers: names, /nick, joined/left notices, quit, escaped control characters', async (t) => {
    assert.ok(await available('ncat'), 'ncat is missing: apt-get install -y ncat');
    assert.ok(await available('nc'), 'nc is missing: apt-get install -y netcat-openbsd');
    const { child: server, port } = await startCliServer(t, ['serve', '--mode', 'chat', '--port', '0']);
    const ncat = start(t, 'ncat', ['127.0.0.1', String(port)]);
    await ncat.waitFor(/\* you are 127\.0\.0\.1:\d+;/);
    const nc = start(t, 'nc', ['127.0.0.1', String(port)]);
    await nc.waitFor(/\* you are/);
    await ncat.waitFor(/\* 127\.0\.0\.1:\d+ joined/);
    nc.input('/nick nora\n');
    await nc.waitFor(/\* you are now nora/);
    await ncat.waitFor(/\* 127\.0\.0\.1:\d+ is now nora/);
    nc.input('hello \u001b[2J\u001b]0;pwned\u0007 there\n');
    await ncat.waitFor(/nora: hello /);
    ncat.input('hi nora\n');
    await nc.waitFor(/127\.0\.0\.1:\d+: hi nora/);
    assert.match(ncat.stdout, /nora: hello \^\[\[2J\^\[\]0;pwned\\x07 there\n/);
    assert.doesNotMatch(ncat.stdout, /\u001b|\u0007/, 'no control character reaches another peer');
    nc.input('quit\n');
    await ncat.waitFor(/\* nora left/);
    assert.doesNotMatch(nc.stdout, /hello/, 'a sender does not get its own message back');
    const { stdout } = await stopChecked(server);
    assert.match(stdout, /stopped: 2 clients served, \d+ messages/);
    tally({ fault: 'terminal escape sequences in chat', inputs: 1 });
  });

  it('a client that never reads is cut off and never slows the room; per sender, messages arrive in order, none lost or twice', async (t) => {
    // The server in its own process, as in real use: in this one, its writes and the reader's reads would take turns.
    const { child, port } = await startCliServer(t, ['serve', '--mode', 'chat', '--port', '0', '--quiet', '--output-soft-limit-ms', '1000']);
    const stalled = await RawClient.connect(t, port);
    stalled.socket.pause();
    const reader = await RawClient.connect(t, port);
    const senders = await Promise.all([0, 1].map(() => RawClient.connect(t, port)));
    await reader.until(() => (reader.text.match(/joined/g) ?? []).length >= 2, 'joins');
    const padding = 'x'.repeat(1000);
    const count = 3000;
    for (let i = 0; i < count; i++) for (const [n, sender] of senders.entries()) sender.socket.write(`s${n} ${i} ${padding}\n`);
    // Cheap check first: the text is megabytes, and this runs on every chunk. Whole lines only: the last message
    // can have arrived up to its newline but not yet with it.
    const complete = (): boolean => reader.bytes > 2 * count * padding.length && (reader.text.match(/: s\d \d+ x+\n/g) ?? []).length === 2 * count;
    await reader.until(complete, 'every message of both senders', 30_000);
    for (const n of [0, 1]) {
      const seen = reader.lines.flatMap((line) => (new RegExp(`: s${n} (\\d+) `).exec(line) ?? []).slice(1).map(Number));
      assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i), `sender ${n}: in order, none lost, none twice`);
    }
    await stalled.socket.resume();
    await stalled.waitForClose(10_000);
    assert.ok(stalled.bytes < reader.bytes, `the stalled client got ${stalled.bytes} bytes, the reader ${reader.bytes}`);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /1 cut off for not reading/);
    assert.equal(stdout.match(/left \(SL_ERR_OUTPUT_OVERFLOW\)/g)?.length, 1, 'only the client that did not read');
    tally({ fault: 'chat client that does not read', acksChecked: 2 * count, lostAcks: 0 });
  });

  it('broker mode relays bytes as they are, binary included, to every other client', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--mode', 'broker', '--port', '0', '--quiet']);
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => RawClient.connect(t, port)));
    // A broker says nothing on join: its log's "joined" line (printed with --quiet too) says it counts the client in.
    for (const client of [a!, b!, c!]) await child.waitFor(new RegExp(`^127\\.0\\.0\\.1:${client.socket.localPort} joined\n`, 'm'));
    const bytes = Buffer.from([0, 1, 0x1b, 0x5b, 0xff, 0x0a, 0x0d, 0x80]);
    a!.socket.write(bytes);
    for (const other of [b!, c!]) await other.until(() => other.bytes === bytes.length, 'the bytes');
    assert.equal(Buffer.from(b!.text, 'latin1').toString('hex'), bytes.toString('hex'));
    assert.equal(a!.bytes, 0, 'not echoed to the sender');
    await stopChecked(child);
  });

  it('refuses --workers for greet and sequential and --redis for non-shared modes, with a reason (exit 2)', async (t) => {
    for (const mode of ['greet', 'sequential']) {
      const { code, stderr } = await runCli(t, ['serve', '--mode', mode, '--workers', '2']);
      assert.equal(code, 2);
      assert.match(stderr, /--workers' does not apply to --mode \w+: it serves one client at a time/);
    }
    const { code, stderr } = await runCli(t, ['serve', '--mode', 'concurrent', '--redis', 'redis://127.0.0.1:1/0']);
    assert.equal(code, 2);
    assert.match(stderr, /no shared state/);
    for (const flag of [['--greeting', 'hi'], ['--reply', 'ok'], ['--once']]) {
      const refused = await runCli(t, ['serve', '--mode', 'chat', '--port', '0', ...flag]);
      assert.equal(refused.code, 2, flag.join(' '));
      assert.match(refused.stderr, /is for the message protocol/);
    }
  });
});
