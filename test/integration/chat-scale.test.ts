// Chat across processes: Redis killed and restarted mid-chat, and --workers process groups that leave no orphans.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { eventually } from '../helpers/changes.js';
import { CounterLoad } from '../helpers/counter-load.js';
import { assertProcessesExited, childPids, processState } from '../helpers/proc.js';
import { runCli, startCliServer, stopChecked } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { RedisServer } from '../helpers/redis.js';
import { tally } from '../helpers/tally.js';

describe('chat across processes', () => {
  it('Redis killed and restarted mid-chat: no crash, local chat goes on, clients are told, cross-instance chat resumes', async (t) => {
    const redis = await RedisServer.start(t);
    const [one, two] = await Promise.all([0, 1].map(() => startCliServer(t, ['serve', '--mode', 'chat', '--port', '0', '--quiet', '--redis', redis.url])));
    const a = await RawClient.connect(t, one!.port);
    const b = await RawClient.connect(t, one!.port);
    const c = await RawClient.connect(t, two!.port);
    for (const [client, name] of [[a, 'a'], [b, 'b'], [c, 'c']] as const) {
      await client.waitForText(/\* you are /);
      client.socket.write(`/nick ${name}\n`);
      await client.waitForText(/\* you are now/);
    }
    a.socket.write('before\n');
    await c.waitForText(/a: before\n/);
    await redis.kill();
    for (const client of [a, b, c]) await client.waitForText(/\* link to other servers lost/, 10_000);
    a.socket.write('during\n');
    await b.waitForText(/a: during\n/);
    c.socket.write('local to two\n');
    await redis.restart();
    for (const client of [a, b, c]) await client.waitForText(/\* link to other servers restored/, 15_000);
    a.socket.write('after\n');
    await c.waitForText(/a: after\n/);
    c.socket.write('back\n');
    await a.waitForText(/c: back\n/);
    assert.doesNotMatch(c.text, /a: during/, 'published while the link was down: lost to the other server, as documented');
    assert.doesNotMatch(a.text, /local to two/);
    assert.equal(c.text.match(/a: before\n/g)?.length, 1, 'no message twice');
    for (const server of [one!, two!]) {
      await server.child.waitFor(/unreachable/, 1000, 'stderr');
      const { stdout } = await stopChecked(server.child);
      assert.match(stdout, /[1-9]\d* not shared \(link down\)/);
    }
    tally({ fault: 'Redis killed mid-chat', serversChecked: 0 });
  });

  it('--workers 2: one room over two processes; SIGTERM stops the whole group with totals, no orphan workers', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--mode', 'chat', '--port', '0', '--quiet', '--workers', '2']);
    assert.match(child.stdout, /listening on 127\.0\.0\.1:\d+ \(chat mode, 2 workers\)/);
    assert.equal(child.stdout.match(/listening on/g)?.length, 1, 'the address is printed once');
    const workers = childPids(child.proc.pid!);
    assert.equal(workers.length, 2, `workers ${workers.join(', ')}`);
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(t, port)));
    await Promise.all(clients.map((client) => client.waitForText(/\* you are /)));
    clients[0]!.socket.write('hello all\n');
    for (const client of clients.slice(1)) await client.waitForText(/: hello all\n/);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /stopped: 4 clients served, 1 messages, \d+ deliveries, [1-9]\d* from other servers/);
    for (const pid of workers) assert.notEqual(processState(pid), 'alive', `worker ${pid} outlived the primary`);
  });

  it('serve --mode concurrent --workers 2 answers every client and sums the workers\' totals', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--quiet', '--workers', '2']);
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(t, port)));
    for (const client of clients) client.socket.write('hello\nquit\n');
    for (const client of clients) await client.waitForClose();
    for (const client of clients) assert.equal(client.text.match(/got message\n/g)?.length, 2, client.text);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /stopped: 4 clients served, 8 messages, 0 rejected/);
  });

  it('a worker that cannot listen: the group stops with one clear error naming both causes (exit 1)', async (t) => {
    const taken = createServer();
    t.after(() => taken.close());
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const { code, stderr } = await runCli(t, ['serve', '--mode', 'chat', '--workers', '2', '--port', String(port)]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /address already in use.*\[SL_ERR_BIND\]/);
    assert.match(stderr, /before listening \[SL_ERR_WORKER\]/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });

  it('a crashed worker is replaced; workers that keep crashing stop the group with SL_ERR_WORKER (exit 1)', async (t) => {
    const { child, port } = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '0', '--workers', '2']);
    // Every worker the primary ever had, noted while it is still their parent: once it exits they are re-parented.
    const workers = new Set(childPids(child.proc.pid!));
    for (let crash = 1; crash <= 5; crash++) {
      const [victim] = childPids(child.proc.pid!);
      assert.ok(victim !== undefined, `crash ${crash}: no worker left.\n${child.stderr}`);
      process.kill(victim, 'SIGKILL');
      if (crash < 5) {
        await child.waitFor(new RegExp(`(worker \\d+ died \\(SIGKILL\\); starting another\\n[^]*){${crash}}`), 10_000, 'stderr');
        await eventually(() => childPids(child.proc.pid!).length === 2, 'the replacement');
        for (const pid of childPids(child.proc.pid!)) workers.add(pid);
      }
      if (crash === 1) {
        // Still one counter after a crash: the replacement serves on the same port.
        const load = await CounterLoad.start(t, port, { window: 10, limit: 200 });
        await load.until(200, 10_000);
        load.stop();
        assert.ok(load.values.length >= 200, `${load.values.length} values`);
        assert.equal(new Set(load.values).size, load.values.length, 'no value twice');
      }
    }
    for (const pid of childPids(child.proc.pid!)) workers.add(pid);
    const { code } = await child.finish(15_000);
    assert.equal(code, 1);
    assert.match(child.stderr, /Workers keep dying \(5 in 10 s.*\[SL_ERR_WORKER\]/);
    assert.equal(workers.size, 6, `the 2 first workers and 4 replacements: ${[...workers].join(', ')}`);
    // The primary waits for its workers before it exits: none may be left running.
    for (const pid of workers) assert.notEqual(processState(pid), 'alive', `worker ${pid} outlived the primary`);
    tally({ fault: 'worker crash loop' });
  });

  it('kill -9 of the primary: its workers exit too', async (t) => {
    const { child } = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--workers', '2']);
    const workers = childPids(child.proc.pid!);
    assert.equal(workers.length, 2);
    child.proc.kill('SIGKILL');
    await child.exited;
    await assertProcessesExited(workers, `workers ${workers.join(', ')}`);
    tally({ fault: 'kill -9 of a --workers primary' });
  });
});
