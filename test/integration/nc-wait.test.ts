// -w/--wait, the connect timeout, against a loopback target whose connect never completes: a listener with a
// backlog of 1 whose accept queue is full and never accepted (python3 holds it), so the kernel drops every further
// SYN. ncat and socklab nc in the same test: exit 1 after about the time asked for, one line on stderr.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { before, test, type TestContext } from 'node:test';
import { eachNetcat, requireTool, startNc } from '../helpers/netcat.js';

const HOLDER = `
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
port = s.getsockname()[1]
held = []
for i in range(8):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
    held.append(c)
print(port, flush=True)
sys.stdin.read()
`;

before(() => requireTool('python3'));

/** A port on 127.0.0.1 that takes no more connections (held until the test ends). */
async function blackHolePort(t: TestContext): Promise<number> {
  const holder = spawn('python3', ['-c', HOLDER], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => void (holder.exitCode === null && holder.kill('SIGKILL')));
  const [line] = (await once(holder.stdout.setEncoding('utf8'), 'data')) as [string];
  return Number(line.trim());
}

test('the target really never completes a connect (the premise of the -w tests)', async (t) => {
  const port = await blackHolePort(t);
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  const outcome = await Promise.race([once(socket, 'connect').then(() => 'connected'), new Promise((resolve) => setTimeout(resolve, 1500, 'pending'))]);
  assert.equal(outcome, 'pending');
});

for (const [wait, ms] of [['1', 1000], ['500ms', 500]] as const) {
  test(`-w ${wait}: a connect that never completes exits 1 after ${ms} ms with one line`, (t) =>
    eachNetcat(t, async (t, nc) => {
      const port = await blackHolePort(t);
      const started = performance.now();
      const child = startNc(t, nc, ['-w', wait, '127.0.0.1', String(port)]);
      child.endInput();
      assert.equal(await child.exitWithin(ms + 4000), 1, child.stderr);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= ms * 0.9, `${nc} gave up after ${elapsed.toFixed(0)} ms, before -w ${wait}`);
      const lines = child.stderr.trim().split('\n');
      assert.equal(lines.length, 1, child.stderr);
      // ncat: "Ncat: TIMEOUT."; socklab nc names the target, the limit and its code.
      assert.match(lines[0]!, nc === 'ncat' ? /TIMEOUT/ : /127\.0\.0\.1:\d+.*-w.*\[SL_ERR_CONNECT_TIMEOUT\]$/);
    }));
}
