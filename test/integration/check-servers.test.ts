/**
 * `socklab check` passes the workshop's own steps and socklab's servers, and gives the seed-like programs of
 * test/peers the verdicts workshop/README.md documents ("Grading with socklab check").
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import type { CheckProtocol } from '../../src/check/run-checks.js';
import { assertVerdict, peer, requirePython, socklab, step } from '../helpers/grading.js';
import { ROOT } from '../helpers/processes.js';

/** Each server, how to start it, and the protocol it speaks. */
const SERVERS: readonly { name: string; start: (t: TestContext) => Promise<{ port: number }>; protocol: CheckProtocol; oneClient?: boolean }[] = [
  { name: 'step 2 (greeting server)', start: (t) => step(t, '02-greeting-server'), protocol: 'greeting' },
  { name: 'step 3 (message server, one client)', start: (t) => step(t, '03-message-server'), protocol: 'sequential', oneClient: true },
  { name: 'step 5', start: (t) => step(t, '05-sequential-server'), protocol: 'sequential' },
  { name: 'step 6', start: (t) => step(t, '06-concurrent-server'), protocol: 'concurrent' },
  { name: 'step 10', start: (t) => step(t, '10-udp-counter-server'), protocol: 'udp-counter' },
  { name: 'step 14', start: (t) => step(t, '14-chat-server'), protocol: 'chat' },
  { name: 'step 15 (two instances, one room)', start: (t) => step(t, '15-scaling-out'), protocol: 'chat' },
  { name: 'socklab serve --mode concurrent', start: (t) => socklab(t, ['serve', '--port', '0', '--mode', 'concurrent']), protocol: 'concurrent' },
  { name: 'socklab serve --mode sequential', start: (t) => socklab(t, ['serve', '--port', '0', '--mode', 'sequential']), protocol: 'sequential' },
  { name: 'socklab serve --mode greet', start: (t) => socklab(t, ['serve', '--port', '0', '--mode', 'greet']), protocol: 'greeting' },
  { name: 'socklab serve --mode chat', start: (t) => socklab(t, ['serve', '--port', '0', '--mode', 'chat']), protocol: 'chat' },
  { name: 'socklab udp-serve', start: (t) => socklab(t, ['udp-serve', '--port', '0']), protocol: 'udp-counter' },
];

describe('socklab check passes the workshop steps and socklab servers', { concurrency: 2 }, () => {
  for (const server of SERVERS) {
    it(`${server.name} passes ${server.protocol}${server.oneClient ? ' --one-client' : ''}`, async (t) => {
      const { port } = await server.start(t);
      await assertVerdict({ protocol: server.protocol, port, oneClient: server.oneClient ?? false }, []);
    });
  }
});

/** The verdicts the guide documents, so the table there and the code cannot drift apart. */
const SEED_VERDICTS = [
  { script: 'seed_server3.py', protocol: 'sequential', oneClient: true, failing: ['answers', 'two-in-one', 'split-read'] },
  { script: 'seed_async_server.py', protocol: 'concurrent', oneClient: false, failing: ['greets', 'answers', 'split-read', 'two-in-one', 'quit', 'half-close', 'long-line'] },
  { script: 'seed_udp_server.py', protocol: 'udp-counter', oneClient: false, failing: [] },
] as const;

describe('socklab check grades the seed-like programs as the guide says', { concurrency: 2 }, () => {
  const guide = readFileSync(`${ROOT}workshop/README.md`, 'utf8');
  for (const verdict of SEED_VERDICTS) {
    it(`${verdict.script} as ${verdict.protocol} fails ${verdict.failing.join(', ') || 'nothing'}`, async (t) => {
      await requirePython();
      const { port } = await peer(t, verdict.script, ['0']);
      await assertVerdict({ protocol: verdict.protocol, port, oneClient: verdict.oneClient }, verdict.failing);
      const name = verdict.script.replace('seed_', '');
      const row = guide.split('\n').find((line) => line.startsWith(`| \`${name}\` | `));
      assert.ok(row, `the guide's verdict table has a row for ${name}`);
      const listed = verdict.failing.length === 0 ? 'passes every check' : verdict.failing.map((check) => `\`${check}\``).join(', ');
      assert.ok(row.includes(listed), `the row lists ${listed}: ${row}`);
    });
  }
});
