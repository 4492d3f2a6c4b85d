import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseEvents, stopJson, waitForEvent, waitForEvents, type JsonEvent } from '../helpers/json-lines.js';
import { assertProcessGone, groupMembers, processUsage } from '../helpers/proc.js';
import { CLI, runCli, start, stopChecked, type Child } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';

/** Starts `socklab serve --json --port 0 <args>` and returns it with its port. */
async function serveExec(t: TestContext, args: string[]): Promise<{ child: Child; port: number }> {
  const child = start(t, process.execPath, [CLI, 'serve', '--port', '0', '--json', ...args]);
  const listening = await waitForEvent(child, (e) => e.event === 'listening');
  return { child, port: (listening.address as { port: number }).port };
}

/** The PID of the nth program the server started, from its `exec` events. */
async function execPid(child: Child, nth = 1): Promise<number> {
  const events = await waitForEvents(child, (e) => e.event === 'exec', nth);
  return events[nth - 1]!.pid as number;
}

const exitOf = (child: Child, pid: number): Promise<JsonEvent> => waitForEvent(child, (e) => e.event === 'exit' && e.pid === pid);

describe('serve --exec (inetd style)', () => {
  it('serve --exec cat echoes raw bytes, and half-close goes both ways: our FIN ends cat, its exit sends FIN', async (t) => {
    const { child, port } = await serveExec(t, ['--exec', 'cat']);
    const client = await RawClient.connect(t, port);
    const payload = 'hello\nno newline at the end \x00\xff';
    client.socket.write(Buffer.from(payload, 'latin1'));
    await client.until(() => client.text === payload, 'the echo');
    const pid = await execPid(child);
    client.socket.end(); // half-close: cat sees EOF on stdin and exits 0
    await client.waitForClose();
    const exit = await exitOf(child, pid);
    assert.equal(exit.code, 0);
    assert.equal(exit.killed, false);
    const closed = await waitForEvent(child, (e) => e.event === 'closed');
    assert.equal(closed.reason, 'program exited');
    assert.equal(closed.bytesIn, payload.length);
    assert.equal(closed.bytesOut, payload.length);
    await assertProcessGone(pid);
    await stopJson(child);
  });

  it('a program that exits early closes the connection with its exit code logged; its stderr goes to the log', async (t) => {
    const { child, port } = await serveExec(t, ['--sh-exec', 'echo bye; echo oops >&2; exit 3']);
    const client = await RawClient.connect(t, port);
    await client.waitForClose();
    assert.equal(client.text, 'bye\n');
    const pid = await execPid(child);
    const exit = await exitOf(child, pid);
    assert.equal(exit.code, 3);
    const stderr = await waitForEvent(child, (e) => e.event === 'stderr');
    assert.equal(stderr.line, 'oops');
    await stopJson(child);
  });

  it('a program that never reads stops us reading from the peer (bounded memory); the stalled session ends at --idle-timeout-ms', async (t) => {
    // A peer that gives up while we are not reading cannot be seen (its FIN waits behind its unsent bytes), so
    // the idle timeout (no byte either way) is what ends such a session.
    const { child, port } = await serveExec(t, ['--exec', 'sleep 30', '--kill-grace-ms', '500', '--idle-timeout-ms', '1500']);
    const client = await RawClient.connect(t, port);
    const pid = await execPid(child);
    const before = processUsage(child.proc.pid!).rssKiB;
    // 32 MiB offered; the kernel buffers and one pipe hold a few hundred KiB, the rest must stay with the sender.
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    // Write until a drain stops coming: the kernel's buffers on both sides are full and nothing reads them.
    const limit = 32 * 1024 * 1024;
    let offered = 0;
    while (offered < limit) {
      offered += chunk.length;
      if (client.socket.write(chunk)) continue;
      const drained = await Promise.race([once(client.socket, 'drain').then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, 500, false))]);
      if (!drained) break;
    }
    assert.ok(offered < limit, `the sender is held back (TCP flow control) after ${offered} bytes`);
    assert.ok(client.socket.writableLength > 0, 'bytes wait in the sender');
    const grownKiB = processUsage(child.proc.pid!).rssKiB - before;
    assert.ok(grownKiB < 16 * 1024, `server RSS grew by ${grownKiB} KiB`);
    const closed = await waitForEvent(child, (e) => e.event === 'closed');
    assert.equal(closed.reason, 'SL_ERR_IDLE_TIMEOUT');
    const exit = await exitOf(child, pid);
    assert.equal(exit.signal, 'SIGTERM');
    assert.equal(exit.killed, true);
    await assertProcessGone(pid);
    await stopJson(child);
  });

  it('a program that floods its output is paused while the peer does not read (bounded memory), then killed', async (t) => {
    const { child, port } = await serveExec(t, ['--exec', 'yes flood']);
    const client = await RawClient.connect(t, port);
    await client.until(() => client.bytes > 0, 'the first output');
    client.socket.pause();
    const pid = await execPid(child);
    const before = processUsage(child.proc.pid!).rssKiB;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const grownKiB = processUsage(child.proc.pid!).rssKiB - before;
    assert.ok(grownKiB < 16 * 1024, `server RSS grew by ${grownKiB} KiB while the program flooded`);
    client.socket.destroy();
    await exitOf(child, pid);
    await assertProcessGone(pid);
    await stopJson(child);
  });

  it('a client that disconnects mid-stream leaves no process behind, even one that ignores SIGTERM (SIGKILL after the grace)', async (t) => {
    const { child, port } = await serveExec(t, ['--sh-exec', "trap '' TERM; echo ready; while :; do echo tick; sleep 0.05; done", '--kill-grace-ms', '300']);
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(t, port)));
    for (const client of clients) await client.waitForText(/ready/);
    const pids = (await waitForEvents(child, (e) => e.event === 'exec', 3)).map((e) => e.pid as number);
    assert.equal(pids.length, 3);
    for (const client of clients) client.socket.destroy();
    for (const pid of pids) {
      const exit = await exitOf(child, pid);
      assert.equal(exit.signal, 'SIGKILL');
    }
    for (const pid of pids) await assertProcessGone(pid);
    await stopJson(child);
  });

  it('ending a --sh-exec session ends what the shell started too (its process group), not only the shell', async (t) => {
    const { child, port } = await serveExec(t, ['--sh-exec', 'echo ready; sleep 41; echo never', '--kill-grace-ms', '300']);
    const client = await RawClient.connect(t, port);
    await client.waitForText(/ready/);
    const pid = await execPid(child);
    // The shell's children: every process whose process group is the shell's.
    const members = groupMembers(pid);
    assert.ok(members.some((member) => member !== pid), `the shell started its sleep: group ${members.join(', ')}`);
    // A reset, not a FIN: a FIN only closes the program's stdin (half-close), and this one never reads it.
    client.socket.resetAndDestroy();
    await exitOf(child, pid);
    for (const member of members) await assertProcessGone(member);
    await stopJson(child);
  });

  it('--max-connections bounds the programs: the next client is told "server full" and no process starts for it', async (t) => {
    const { child, port } = await serveExec(t, ['--exec', 'cat', '--max-connections', '2']);
    const first = await RawClient.connect(t, port);
    const second = await RawClient.connect(t, port);
    await execPid(child, 2);
    const third = await RawClient.connect(t, port);
    await third.waitForClose();
    assert.match(third.text, /^error SL_ERR_SERVER_FULL: /);
    first.socket.write('still served\n');
    await first.waitForText(/still served/);
    second.socket.destroy();
    first.socket.destroy();
    const events = await stopJson(child);
    assert.equal(events.filter((e) => e.event === 'exec').length, 2);
    assert.equal(events.filter((e) => e.event === 'rejected').length, 1);
    for (const pid of events.filter((e) => e.event === 'exec').map((e) => e.pid as number)) await assertProcessGone(pid);
  });

  it('shutdown ends the running programs and exits 0', async (t) => {
    const { child, port } = await serveExec(t, ['--exec', 'cat']);
    const client = await RawClient.connect(t, port);
    const pid = await execPid(child);
    const events = await stopJson(child);
    await client.waitForClose();
    // SIGTERM, or the end of its input, whichever it notices first: either way it is gone.
    assert.ok(events.some((e) => e.event === 'exit' && e.pid === pid));
    await assertProcessGone(pid);
  });

  it('refuses --exec on a non-loopback address without --allow, and says why', async (t) => {
    const refused = await runCli(t, ['serve', '--exec', 'sh', '--host', '0.0.0.0', '--port', '0']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /remote shell/);
    assert.match(refused.stderr, /--allow/);
    // An empty list (an unset shell variable, say) must not read as "everyone".
    for (const empty of ['', ',', ' , ']) {
      const blank = await runCli(t, ['serve', '--exec', 'sh', '--host', '0.0.0.0', '--port', '0', '--allow', empty]);
      assert.equal(blank.code, 2, `--allow '${empty}'`);
      assert.match(blank.stderr, /'--allow' needs at least one address/);
    }
    const child = start(t, process.execPath, [CLI, 'serve', '--exec', 'cat', '--host', '0.0.0.0', '--port', '0', '--allow', '127.0.0.1']);
    await child.waitFor(/listening on 0\.0\.0\.0:\d+ \(exec mode/);
    await stopChecked(child);
  });

  it('a program that is not there is refused at start with SL_ERR_EXEC, before any client (issue 22)', async (t) => {
    for (const program of ['no-such-program-socklab', './no/such/program']) {
      const { code, stderr } = await runCli(t, ['serve', '--port', '0', '--exec', program]);
      assert.equal(code, 1);
      assert.match(stderr, new RegExp(`Cannot run ${program.replaceAll('.', '\\.')}: .*\\[SL_ERR_EXEC\\]`));
    }
  });

  it('a program that cannot start is reported with SL_ERR_EXEC and the connection is closed', async (t) => {
    // It was there at start and is gone by the first client: the failure can only show then.
    const dir = mkdtempSync(join(tmpdir(), 'socklab-exec-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const program = join(dir, 'vanishing');
    writeFileSync(program, '#!/bin/sh\ncat\n', { mode: 0o755 });
    const { child, port } = await serveExec(t, ['--exec', program]);
    rmSync(program);
    const client = await RawClient.connect(t, port);
    await client.waitForClose();
    const exit = await waitForEvent(child, (e) => e.event === 'exit');
    assert.match(String(exit.error), /ENOENT/);
    const events = await stopJson(child);
    assert.deepEqual((events.find((e) => e.event === 'stopped')!.totals as { errors: object }).errors, { SL_ERR_EXEC: 1 });
  });
});

describe('client --exec', () => {
  it("hands the connection to a program: its output is sent, the server's bytes are its input (ncat -e in connect mode)", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'socklab-exec-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const server = createServer({ allowHalfOpen: true });
    t.after(() => server.close());
    let received = '';
    server.on('connection', (socket: Socket) => {
      socket.setEncoding('utf8').on('data', (text: string) => (received += text));
      socket.end('from the server\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const out = join(dir, 'got.txt');
    const { code, stdout, stderr } = await runCli(t, ['client', '127.0.0.1', String(port), '--json', '--sh-exec', `echo hello from the program; cat > ${out}`]);
    assert.equal(code, 0, stderr);
    assert.equal(received, 'hello from the program\n');
    assert.equal(readFileSync(out, 'utf8'), 'from the server\n');
    const events = parseEvents(stdout);
    assert.deepEqual(events.map((e) => e.event), ['connected', 'exec', 'exit', 'closed']);
    assert.equal(events[2]!.code, 0);
    await assertProcessGone(events[1]!.pid as number);
  });

  it('exits 1 when the program fails', async (t) => {
    const server = createServer((socket) => socket.end());
    t.after(() => server.close());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { code } = await runCli(t, ['client', '127.0.0.1', String((server.address() as { port: number }).port), '--sh-exec', 'exit 5']);
    assert.equal(code, 1);
  });
});
