/**
 * The exercises' solutions (workshop/solutions/) run in CI: each server solution is graded by `socklab check`
 * with its protocol, the others are run and their output checked. A solution that stops working fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { assertVerdict, peer, requirePython, startServer } from '../helpers/grading.js';
import { ROOT, start } from '../helpers/processes.js';
import { Probe } from '../../src/check/_probe.js';

describe('workshop solutions', { concurrency: 2 }, () => {
  it('04-greeting-forever passes greeting, twice in a row (it keeps serving)', async (t) => {
    const { port } = await startServer(t, process.execPath, ['dist/workshop/solutions/04-greeting-forever.js', '0']);
    await assertVerdict({ protocol: 'greeting', port }, []);
    await assertVerdict({ protocol: 'greeting', port }, []);
  });

  it('07_concurrent_server.py (Python) passes concurrent', async (t) => {
    await requirePython();
    const { port } = await startServer(t, 'python3', ['-u', 'workshop/solutions/07_concurrent_server.py', '0']);
    await assertVerdict({ protocol: 'concurrent', port }, []);
  });

  it('11_udp_counter.py (Python) passes udp-counter', async (t) => {
    await requirePython();
    const { port } = await startServer(t, 'python3', ['-u', 'workshop/solutions/11_udp_counter.py', '0']);
    await assertVerdict({ protocol: 'udp-counter', port }, []);
  });

  it('14-chat-who passes chat, lists the room on /who and refuses a taken name', async (t) => {
    const { port } = await startServer(t, process.execPath, ['dist/workshop/solutions/14-chat-who.js', '0']);
    await assertVerdict({ protocol: 'chat', port }, []);
    const alice = await Probe.open('127.0.0.1', port, 3000);
    const twin = await Probe.open('127.0.0.1', port, 3000);
    t.after(() => [alice, twin].forEach((probe) => probe.destroy()));
    alice.write('alice\n/who\n');
    assert.ok(await alice.until(() => alice.received.includes('here: alice\n'), 3000), alice.received.toString());
    twin.write('alice\n');
    assert.ok(await twin.until(() => twin.received.includes('that name is taken'), 3000), twin.received.toString());
  });

  it('19-server-closes-first finds TIME-WAIT on the server port and listens again', async (t) => {
    const child = start(t, process.execPath, ['dist/workshop/solutions/19-server-closes-first.js']);
    assert.equal((await child.finish(10_000)).code, 0, child.stderr);
    // true, unless the machine's TIME-WAIT table is full (other programs' connections) and the kernel kept none.
    assert.match(child.stdout, /TIME-WAIT on the server's port (\d+): (true|false \(the kernel kept none: its TIME-WAIT table is full[^)]*\))\n[^]*listening again on \1\n/);
  });

  it('20-http-chunked reads the chunked body of a real Python HTTP/1.1 server, chunk by chunk', async (t) => {
    await requirePython();
    const { port } = await peer(t, 'http_keepalive.py', ['0']);
    const child = start(t, process.execPath, ['dist/workshop/solutions/20-http-chunked.js', String(port), '/chunked']);
    assert.equal((await child.finish(10_000)).code, 0, child.stderr);
    assert.equal(
      child.stdout,
      'status line: HTTP/1.1 200 OK\nchunk of 6 bytes: "hello "\nchunk of 8 bytes: "chunked "\nchunk of 6 bytes: "world\\n"\nbody (20 bytes in 3 chunks): "hello chunked world\\n"\n',
    );
    // A response that is not chunked is refused, not misread.
    const plain = start(t, process.execPath, ['dist/workshop/solutions/20-http-chunked.js', String(port), '/']);
    assert.notEqual((await plain.finish(10_000)).code, 0);
    assert.match(plain.stderr, /not a chunked response/);
  });

  it('every solution file is run by a test', () => {
    // Each solution is named in the test file that runs it (this one, workshop-chapters-23-25, workshop-solutions-3-10, …).
    const tests = readdirSync(`${ROOT}test/integration`)
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => readFileSync(`${ROOT}test/integration/${name}`, 'utf8'))
      .join('\n');
    const untested = readdirSync(`${ROOT}workshop/solutions`).filter((name) => !tests.includes(`solutions/${name.replace(/\.ts$/, '.js')}`));
    assert.deepEqual(untested, []);
  });
});
