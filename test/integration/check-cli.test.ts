/** The `socklab check` command: exit codes (0 all passed, 1 any failed, 2 usage), the report, and --json. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEvent } from '../../src/cli/json-events.js';
import { peer, requirePython, step } from '../helpers/grading.js';
import { freePort, runCli } from '../helpers/processes.js';

describe('socklab check (CLI)', { concurrency: 2 }, () => {
  it('exits 0 and lists every check when the server passes', async (t) => {
    const { port } = await step(t, '06-concurrent-server');
    const { code, stdout } = await runCli(t, ['check', 'concurrent', '127.0.0.1', String(port)], '', 60_000);
    assert.equal(code, 0, stdout);
    assert.match(stdout, /^ {2}pass {2}split-read /m);
    assert.match(stdout, /9 of 9 checks passed/);
  });

  it('exits 1 and says what was sent, what came back and which chapter explains it', async (t) => {
    await requirePython();
    const { port } = await peer(t, 'seed_async_server.py', ['0']);
    const { code, stdout } = await runCli(t, ['check', 'concurrent', String(port), '--only', 'split-read'], '', 60_000);
    assert.equal(code, 1, stdout);
    assert.match(stdout, /FAIL {2}split-read/);
    assert.match(stdout, /sent: +"hello\\n" whole, then one byte per segment \(up to 3 times\)/);
    assert.match(stdout, /received: +"got message" to the whole message, "(got message){6}" to the split one/);
    assert.match(stdout, /hint: .*chapter 8 of workshop\/README\.md/);
  });

  it('--json prints one valid check event per check and a summary', async (t) => {
    const { port } = await step(t, '10-udp-counter-server');
    const { code, stdout } = await runCli(t, ['check', 'udp-counter', String(port), '--json'], '', 60_000);
    assert.equal(code, 0);
    const events = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const event of events) assert.deepEqual(validateEvent(event), [], JSON.stringify(event));
    assert.deepEqual(events.filter((e) => e.event === 'check').map((e) => e.name), ['answers-once', 'unique-increasing', 'many-ports', 'ignores-garbage']);
    assert.deepEqual(events.at(-1)!.totals, { protocol: 'udp-counter', target: `127.0.0.1:${port}`, passed: true, checks: 4, checksPassed: 4 });
  });

  it('a port where nothing listens fails every check as refused, quickly', async (t) => {
    const port = await freePort();
    const started = performance.now();
    const { code, stdout } = await runCli(t, ['check', 'sequential', String(port)], '', 30_000);
    assert.equal(code, 1);
    assert.match(stdout, /refused: nothing listens on that port \(ECONNREFUSED\)/);
    assert.match(stdout, /0 of 8 checks passed/);
    assert.ok(performance.now() - started < 10_000);
  });

  for (const [args, message] of [
    [[], /Say which protocol/],
    [['smtp', '25'], /Unknown protocol 'smtp'/],
    [['chat'], /Say which port/],
    [['chat', '12345', '--only', 'greets,nosuch'], /No check named nosuch for chat/],
    [['chat', 'localhost', '99999'], /port/],
  ] as const) {
    it(`exits 2 on a usage error: check ${args.join(' ')}`, async (t) => {
      const { code, stderr } = await runCli(t, ['check', ...args]);
      assert.equal(code, 2, stderr);
      assert.match(stderr, message);
    });
  }
});
