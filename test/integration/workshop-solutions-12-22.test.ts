/**
 * The exercises of chapters 12-22, solved: each solution program runs here against real peers (socklab's own
 * servers and proxy, redis-server, openssl, Python), and each answer recorded in the guide after an
 * `<!-- answer:CH-N -->` marker is re-run and compared. A solution or an answer that stops being true fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { requirePython } from '../helpers/grading.js';
import { ROOT, runCli, start, startCliListener, startCliServer, startPeer } from '../helpers/processes.js';
import { comparable, normalise } from '../../workshop/_transcripts.js';

/** The solution files this test runs (each one in a test below). */
const SOLUTIONS = ['12-request-ids.ts', '13-dual-stack.ts', '21-keepalive-stopped.ts', '21-read-deadline.ts'];

const guide = readFileSync(`${ROOT}workshop/README.md`, 'utf8');

/** The console block after `<!-- answer:key -->` in the guide, without its `$ command` lines. */
function answer(key: string): string[] {
  const match = new RegExp(`<!-- answer:${key} -->\\n\`\`\`console\\n([^]*?)\`\`\`\\n`).exec(guide);
  assert.ok(match, `the guide has an answer block ${key}`);
  return match[1]!.split('\n').filter((line) => line !== '' && !line.startsWith('$ '));
}

/** The lines of a run, made comparable with the guide's (the server port as 12345, other ports, timings). */
const lines = (text: string, port = 0): string[] => comparable(normalise(text, port)).split('\n').filter(Boolean);
const recorded = (key: string): string[] => answer(key).map((line) => comparable(line));

const node = (t: TestContext, solution: string, args: string[] = []) => start(t, process.execPath, [`dist/workshop/solutions/${solution}.js`, ...args]);
const portOf = (address: string): number => Number(/:(\d+)$/.exec(address)![1]);

describe('workshop solutions, chapters 12-22', { concurrency: 4 }, () => {
  it('12, exercise 1: udp-client --retries against the seed-like server loses every get, and says why', async (t) => {
    await requirePython();
    const { port } = await startPeer(t, 'seed_udp_server.py', ['0', '0']);
    const run = await runCli(t, ['udp-client', '127.0.0.1', String(port), '--retries', '3', '--count', '2', '--timeout-ms', '200']);
    assert.equal(run.code, 1);
    assert.deepEqual(lines(run.stdout + run.stderr, port).sort(), recorded('12-1').sort());
  });

  it('12, exercise 2: 12-request-ids gets every value once through a proxy that drops, duplicates and reorders', async (t) => {
    const { port } = await startCliServer(t, ['udp-serve', '--port', '0', '--delay-ms', '0']);
    const proxy = await startCliListener(t, ['proxy', '--udp', '127.0.0.1', String(port), '--port', '0', '--drop', '20%', '--duplicate', '10%', '--reorder', '10%', '--seed', '1']);
    const child = node(t, '12-request-ids', [String(portOf(proxy.address)), '20']);
    assert.equal((await child.finish(20_000)).code, 0, child.stderr);
    assert.equal(child.stdout, '20 of 20 gets answered, each value once: true, increasing: true\nretries sent: some; duplicate or late replies dropped: some\n');
  });

  it('13, exercise 1: a "::" listener sees an IPv4 client as ::ffff:127.0.0.1', async (t) => {
    const child = node(t, '13-dual-stack');
    assert.equal((await child.finish(10_000)).code, 0, child.stderr);
    assert.match(child.stdout, /^listening on \[::\]:\d+\nover 127\.0\.0\.1 the server sees ::ffff:127\.0\.0\.1 \(IPv6\)\nover ::1 the server sees ::1 \(IPv6\)\n$/);
  });

  it('21, exercise 1: 21-read-deadline gives up on a black hole after its deadline', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0']);
    const proxy = await startCliListener(t, ['proxy', '127.0.0.1', String(port), '--port', '0', '--black-hole']);
    const child = node(t, '21-read-deadline', [String(portOf(proxy.address)), '500']);
    child.input('hello\n'); // stdin stays open, as a student's terminal does
    assert.equal((await child.finish(10_000)).code, 0, child.stderr);
    const [, ms] = /^connected\nno reply for 500 ms: giving up \(the read deadline\)\nclosed after (\d+) ms\n$/.exec(child.stdout) ?? [];
    assert.ok(ms !== undefined && Number(ms) >= 500, child.stdout);
  });

  it('21, exercise 3: 21-keepalive-stopped: a stopped server process still answers keepalive probes', async (t) => {
    const child = node(t, '21-keepalive-stopped');
    assert.equal((await child.finish(15_000)).code, 0, child.stderr);
    assert.match(child.stdout, /connect succeeded anyway[^]*keepalive probes unanswered: 0\n/);
  });

  it('every solution of chapters 12-22 (but 14, 19, 20, run by workshop-solutions.test.ts) is run above', () => {
    const mine = readdirSync(`${ROOT}workshop/solutions`).filter((name) => /^(1[235678]|2[12])[-_]/.test(name));
    assert.deepEqual(mine.sort(), SOLUTIONS.slice().sort());
  });
});
