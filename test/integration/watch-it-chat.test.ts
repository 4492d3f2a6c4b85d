/**
 * Chapter 14's "watch it" box: what `ss` shows for a chat room (two ESTAB sockets per member) and for a member
 * whose server closed while its ncat did not (CLOSE-WAIT, owned by that ncat; FIN-WAIT-2 at the server) is
 * re-produced with the step's server and real ncat clients, and compared with the recorded lines.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { step } from '../helpers/grading.js';
import { available, ROOT, start } from '../helpers/processes.js';

const guide = readFileSync(`${ROOT}workshop/README.md`, 'utf8');

/** The text block after `<!-- watch:key -->` in the guide, without ss's header line. */
function box(key: string): string[] {
  const match = new RegExp(`<!-- watch:${key} -->\\n\`\`\`text\\n\\$ [^\\n]*\\n([^]*?)\`\`\`\\n`).exec(guide);
  assert.ok(match, `the guide has a watch box ${key}`);
  return match[1]!.split('\n').filter((line) => line !== '' && !/^(State|Recv-Q) /.test(line));
}

/** One ss line as words, with the server's port as 12345, any other port as N and any pid as 4242. */
const words = (line: string, port: number): string =>
  line
    .trim()
    .split(/\s+/)
    .map((word) => word.replace(new RegExp(`:${port}$`), ':12345').replace(/:(?!12345$)\d+$/, ':N').replace(/pid=\d+/, 'pid=4242'))
    .join(' ');

/**
 * `ss -H args` as words, asked again until they are the lines of box `key` or 10 s passed: the kernel's ACKs can
 * lag (a Send-Q of 27 bytes not yet acknowledged is a moment, not a state).
 */
async function ss(args: string[], port: number, key: string): Promise<{ seen: string[]; recorded: string[]; lines: string[] }> {
  const recorded = box(key).map((line) => words(line, port)).sort();
  const deadline = performance.now() + 10_000;
  for (;;) {
    const lines = execFileSync('ss', ['-H', ...args], { encoding: 'utf8' }).split('\n').filter(Boolean);
    const seen = lines.map((line) => words(line, port)).sort();
    if (seen.join('\n') === recorded.join('\n') || performance.now() > deadline) return { seen, recorded, lines };
    await sleep(50);
  }
}

describe('watch it: a chat room in ss (chapter 14)', () => {
  it('two ESTAB sockets per member; after quit, CLOSE-WAIT at the ncat that has not closed and FIN-WAIT-2 at the server', async (t) => {
    assert.ok(await available('ncat'), 'ncat is not installed: apt-get install -y ncat');
    assert.ok(await available('ss'), 'ss is not installed: apt-get install -y iproute2');
    const { child: server, port } = await step(t, '14-chat-server');
    const members = ['alice', 'bob'].map((name) => {
      const ncat = start(t, 'ncat', ['127.0.0.1', String(port)]);
      return { name, ncat };
    });
    for (const { name, ncat } of members) {
      await ncat.waitFor(/your name\?\n/);
      ncat.input(`${name}\n`);
      await server.waitFor(new RegExp(`${name} joined\\n`));
    }
    const room = await ss(['-tan', `( sport = :${port} or dport = :${port} )`], port, 'chat-room');
    assert.deepEqual(room.seen, room.recorded);

    const bob = members[1]!.ncat;
    bob.input('quit\n'); // the server closes bob's connection; bob's ncat keeps it open: its stdin is still open
    await server.waitFor(/bob left\n/);
    const closeWait = await ss(['-tnp', 'state', 'close-wait', `( dport = :${port} )`], port, 'chat-close-wait');
    assert.deepEqual(closeWait.seen, closeWait.recorded);
    assert.match(closeWait.lines[0]!, new RegExp(`users:\\(\\("ncat",pid=${bob.proc.pid},`), "the CLOSE-WAIT socket is bob's ncat");
    const finWait = await ss(['-tan', 'state', 'fin-wait-2', `( sport = :${port} )`], port, 'chat-fin-wait');
    assert.deepEqual(finWait.seen, finWait.recorded);

    bob.input('', true); // Ctrl-D: ncat closes, and the CLOSE-WAIT is gone
    const deadline = performance.now() + 10_000;
    const left = (): string => execFileSync('ss', ['-Htan', 'state', 'close-wait', `( dport = :${port} )`], { encoding: 'utf8' }).trim();
    while (left() !== '' && performance.now() < deadline) await sleep(50);
    assert.equal(left(), '', 'no CLOSE-WAIT once ncat closed');
  });
});
