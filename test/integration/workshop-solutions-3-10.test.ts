/**
 * The solutions of chapters 3, 5, 6, 8, 9 and 10 (workshop/solutions/) run here, with the answer to chapter 7's second exercise: servers are graded by
 * `socklab check`, the others are run and their output checked; answers to questions come with a recorded run
 * (`<!-- recorded:NAME -->` in workshop/README.md) that is re-run here and compared.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { assertVerdict, peer, requirePython, startServer, step } from '../helpers/grading.js';
import { available, CLI, ROOT, start, startCliServer } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeLengthPrefixed } from '../../src/codec/length-prefix.js';

const guide = readFileSync(`${ROOT}workshop/README.md`, 'utf8');

/** The lines of the console block after `<!-- recorded:NAME -->`, without its `$ command` lines. */
function recorded(name: string): string[] {
  const match = new RegExp(`<!-- recorded:${name} -->\\n\`\`\`console\\n([^]*?)\`\`\`\\n`).exec(guide);
  assert.ok(match, `workshop/README.md has a recorded:${name} block`);
  return match[1]!.split('\n').filter((line) => line !== '' && !line.startsWith('$ '));
}

/** A report of `socklab check` with the port and the timings taken out. */
const checkLines = (text: string, port: number): string[] =>
  text
    .replaceAll(`127.0.0.1:${port}`, '127.0.0.1:12345')
    .replace(/\(\d+ ms\)/g, '(N ms)')
    .split('\n')
    .filter(Boolean);
const verdicts = (lines: string[]): string[] => lines.filter((line) => /^ {2}(pass|FAIL) |checks passed$/.test(line)).map((line) => line.replace(/\s+\(.*$/, ''));

async function shell(t: TestContext, command: string, timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(t, 'sh', ['-c', command]);
  const { code } = await child.finish(timeoutMs);
  return { code, stdout: child.stdout, stderr: child.stderr };
}

describe('workshop solutions, chapters 3-10', { concurrency: 4 }, () => {
  it('03-probe-all tries every answer of localhost: connected on 127.0.0.1, refused on ::1', async (t) => {
    const server = createServer((conn) => conn.end());
    t.after(() => server.close());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const answers = await lookup('localhost', { all: true });
    const child = start(t, process.execPath, ['dist/workshop/solutions/03-probe-all.js', 'localhost', String(port), '1000']);
    assert.equal((await child.finish(10_000)).code, 0, child.stderr);
    const expected = [`localhost has ${answers.length} address(es): ${answers.map((answer) => answer.address).join(', ')}`];
    for (const { address, family } of answers) {
      expected.push(`  ${address} (IPv${family}) port ${port}: ${address === '127.0.0.1' ? 'connected' : 'ECONNREFUSED'}`);
    }
    assert.equal(child.stdout, `${expected.join('\n')}\n`);
  });

  it('03_black_hole.py drops SYNs: step 1 and 03-probe-all time out, as recorded in chapter 3', async (t) => {
    await requirePython();
    const { child, port } = await startServer(t, 'python3', ['-u', 'workshop/solutions/03_black_hole.py', '0', '30']);
    assert.deepEqual([child.stdout.replaceAll(String(port), '12345').trim()], recorded('black-hole'));
    const all = start(t, process.execPath, ['dist/workshop/solutions/03-probe-all.js', '127.0.0.1', String(port), '300']);
    const probe = start(t, process.execPath, ['dist/workshop/steps/01-probe.js', '127.0.0.1', String(port)]);
    assert.equal((await all.finish(10_000)).code, 1);
    assert.equal(all.stdout, `127.0.0.1 has 1 address(es): 127.0.0.1\n  127.0.0.1 (IPv4) port ${port}: no answer within 300 ms\n`);
    const started = performance.now();
    assert.equal((await probe.finish(15_000)).code, 1, probe.stderr);
    assert.ok(performance.now() - started > 3000, 'the probe waited for its 5 s timeout');
    assert.deepEqual(probe.stdout.replaceAll(String(port), '12345').trim().split('\n'), recorded('black-hole-probe'));
  });

  it('chapter 5, exercise 1: step 3 passes sequential --one-client, the seed-like server3.py fails as recorded', async (t) => {
    await requirePython();
    const server = await step(t, '03-message-server');
    const seed = await peer(t, 'seed_server3.py', ['0']);
    const [ours, theirs] = await Promise.all(
      [server.port, seed.port].map((port) => shell(t, `node ${CLI} check sequential ${port} --one-client`)),
    );
    assert.equal(ours!.code, 0, ours!.stdout);
    assert.deepEqual(checkLines(ours!.stdout, server.port).map((line) => line.replace(/\s+\(N ms\)$/, '')), recorded('check-step-3').map((line) => line.replace(/\s+\(\d+ ms\)$/, '')));
    assert.equal(theirs!.code, 1, theirs!.stdout);
    assert.deepEqual(verdicts(checkLines(theirs!.stdout, seed.port)), verdicts(recorded('check-seed-server3')));
  });

  it('05-message-server-time passes sequential --one-client, tells the time and takes QUIT, not "quite good"', async (t) => {
    const { port } = await startServer(t, process.execPath, ['dist/workshop/solutions/05-message-server-time.js', '0']);
    await assertVerdict({ protocol: 'sequential', port, oneClient: true }, []);
    const second = await startServer(t, process.execPath, ['dist/workshop/solutions/05-message-server-time.js', '0']);
    const client = await RawClient.connect(t, second.port);
    client.socket.write('time\nquite good\n');
    await client.until(() => client.text.split('\n').length > 3, 'three lines', 3000);
    const [greeting, time, reply] = client.text.split('\n');
    assert.equal(greeting, 'Thank you for connecting');
    assert.ok(Math.abs(Date.parse(time!) - Date.now()) < 60_000, `an ISO time: ${time}`);
    assert.equal(reply, 'got your message');
    assert.equal(client.closed, false, '"quite good" does not end the session');
    client.socket.write('QUIT\n');
    await client.waitForClose(3000);
    assert.match(client.text, /got your message\ngot your message\n$/);
  });

  it('chapter 6, exercise 1: ten lines pasted at once come back in order (step 4 against serve --mode echo)', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--mode', 'echo', '--port', '0']);
    const run = await shell(t, `seq 1 10 | node dist/workshop/steps/04-client.js ${port}`);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), recorded('pasted-lines'));
  });

  it('06-client-quiet prints only the replies to what was typed, and fails with 1 on a refused connect', async (t) => {
    const { port } = await step(t, '06-concurrent-server');
    const quiet = await shell(t, `printf 'hello\\nquit\\n' | node dist/workshop/solutions/06-client-quiet.js --quiet ${port}`);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, 'got message\ngot message\n');
    const loud = await shell(t, `printf 'quit\\n' | node dist/workshop/solutions/06-client-quiet.js ${port}`);
    assert.equal(loud.stdout, 'connected to server\ngot message\ngot message\n');
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    closed.close();
    const refused = await shell(t, `node dist/workshop/solutions/06-client-quiet.js --quiet ${closedPort} </dev/null`);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /failed: ECONNREFUSED/);
  });

  it('08-echo-server: the raw echo passes echo; the length-prefixed one echoes frames and fails the line checks', async (t) => {
    const raw = await startServer(t, process.execPath, ['dist/workshop/solutions/08-echo-server.js', '0']);
    await assertVerdict({ protocol: 'echo', port: raw.port }, []);
    const framed = await startServer(t, process.execPath, ['dist/workshop/solutions/08-echo-server.js', '0', '--framing', 'length']);
    const client = await RawClient.connect(t, framed.port);
    const frames = Buffer.concat([encodeLengthPrefixed('line one\nline two'), encodeLengthPrefixed('third')]);
    for (const byte of frames) client.socket.write(Buffer.of(byte)); // split at every offset: the frames still come back whole
    await client.until(() => client.bytes === frames.length, 'the frames echoed', 3000);
    assert.equal(client.text, frames.toString('latin1'));
    await assertVerdict({ protocol: 'echo', port: framed.port, only: ['answers', 'two-in-one'] }, ['answers', 'two-in-one']);
  });

  it('chapter 8, exercise 2: through the slicer, the seed-like server3.py answers one line once per byte', async (t) => {
    await requirePython();
    assert.ok(await available('ncat'), 'ncat is not installed: apt-get install -y ncat');
    const seed = await peer(t, 'seed_server3.py', ['0']);
    const proxy = await startCliServer(t, ['proxy', 'localhost', String(seed.port), '--port', '0', '--slice', '1', '--slice-delay-ms', '5']);
    const run = await shell(t, `printf 'hello\\n' | ncat 127.0.0.1 ${proxy.port}`);
    const [greeting, replies] = run.stdout.split('\n');
    const [recordedGreeting, recordedReplies] = recorded('sliced-seed');
    assert.equal(greeting, recordedGreeting);
    assert.equal(recordedReplies, 'got your message'.repeat(6));
    // One reply per read; on a loaded machine two bytes may still share a read, so more than one is the point.
    assert.match(replies!, /^(got your message){2,6}$/, run.stdout);
  });

  it('09-answer-then-close passes every concurrent check, half-close included', async (t) => {
    const { port } = await startServer(t, process.execPath, ['dist/workshop/solutions/09-answer-then-close.js', '0']);
    await assertVerdict({ protocol: 'concurrent', port }, []);
    const client = await RawClient.connect(t, port);
    client.socket.end('one\ntwo\nthree\n'); // three lines and FIN in one go
    await client.waitForClose(3000);
    assert.equal(client.text, 'hello: send lines, FIN (Ctrl-D) ends the session\ngot: one\ngot: two\ngot: three\n');
  });

  it('10-never-reads finds the bytes in both kernel buffers and in Node, as recorded in chapter 10', async (t) => {
    assert.ok(await available('ss'), 'ss is not installed: apt-get install -y iproute2');
    const child = start(t, process.execPath, ['dist/workshop/solutions/10-never-reads.js']);
    assert.equal((await child.finish(10_000)).code, 0, child.stderr);
    const shape = (lines: string[]): string[] => lines.map((line) => line.replace(/\d+ KiB/g, 'N KiB'));
    const lines = child.stdout.trim().split('\n');
    assert.deepEqual(shape(lines), shape(recorded('never-reads')));
    const kib = lines.map((line) => Number(/(\d+) KiB/.exec(line)?.[1]));
    assert.ok(kib.slice(1, 3).every((n) => n > 0), `both kernel buffers hold bytes:\n${child.stdout}`);
    // Each figure is rounded to a KiB, hence the slack of 2.
    assert.ok(kib[1]! + kib[2]! + kib[3]! + kib[4]! >= kib[0]! - 2, `the queues hold what write() accepted:\n${child.stdout}`);
  });

  it('chapter 7, exercise 2: step 6 graded as sequential fails only many-clients, as recorded', async (t) => {
    const { port } = await step(t, '06-concurrent-server');
    const run = await shell(t, `node ${CLI} check sequential ${port}`, 30_000);
    assert.equal(run.code, 1, run.stdout);
    assert.deepEqual(verdicts(checkLines(run.stdout, port)), verdicts(recorded('step-6-as-sequential')));
  });

  it('chapter 10, exercise 2: step 6 passes slow-reader, as recorded', async (t) => {
    const { port } = await step(t, '06-concurrent-server');
    const run = await shell(t, `node ${CLI} check concurrent ${port} --only slow-reader`, 20_000);
    assert.equal(run.code, 0, run.stdout);
    assert.deepEqual(verdicts(checkLines(run.stdout, port)), verdicts(recorded('slow-reader')));
  });
});

describe('workshop steps of chapters 3-11', () => {
  it('step 5 keeps serving after a client leaves while it waits in line (it used to serve the closed socket, then nobody)', async (t) => {
    const { child, port } = await step(t, '05-sequential-server');
    const first = await RawClient.connect(t, port);
    await first.waitForText(/Thank you for connecting\n/);
    const quitter = await RawClient.connect(t, port);
    await child.waitFor(/waits \(1 in line\)/);
    quitter.socket.end(); // gives up before its turn
    await child.waitFor(/left before its turn\n/);
    const third = await RawClient.connect(t, port);
    await child.waitFor(/waits \(1 in line\)[^]*waits \(1 in line\)/);
    first.socket.write('quit\n');
    await third.waitForText(/Thank you for connecting\n/);
    third.socket.write('hello\n');
    await third.waitForText(/got your message\n/);
  });
});
