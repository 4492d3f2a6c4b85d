// Several socklab servers on one real redis-server (started here on an ephemeral port, persistence off):
// one counter across instances, kill -9 of an instance, Redis down at start, Redis killed and restarted.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { connectRedisState, parseRedisUrl } from '../../src/index.js';
import { eventually } from '../helpers/changes.js';
import { CounterLoad, decreases, duplicates } from '../helpers/counter-load.js';
import { runCli, startCliServer, stopChecked } from '../helpers/processes.js';
import { RedisServer } from '../helpers/redis.js';
import { tally } from '../helpers/tally.js';

function startCounter(t: TestContext, redis: RedisServer): ReturnType<typeof startCliServer> {
  return startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '0', '--rate-limit', 'inf', '--redis', redis.url]);
}

describe('udp-serve --redis', () => {
  it('3 instances on one Redis hand out 100,000 values with no duplicate, increasing per client', async (t) => {
    const redis = await RedisServer.start(t);
    const servers = await Promise.all([0, 1, 2].map(() => startCounter(t, redis)));
    const loads = await Promise.all(servers.map(({ port }) => CounterLoad.start(t, port, { window: 300, limit: 33_334 })));
    await Promise.all(loads.map((load) => load.until(33_334, 60_000)));
    for (const load of loads) load.stop();
    const all = loads.flatMap((load) => load.values);
    assert.ok(all.length >= 100_000, `only ${all.length} values in 60 s`);
    assert.equal(duplicates(all), 0, 'no value handed out twice');
    for (const load of loads) assert.equal(decreases(load.values), 0, 'each client sees its values increase');
    const outputs = await Promise.all(servers.map(({ child }) => stopChecked(child)));
    for (const { stdout } of outputs) assert.match(stdout, /stopped: \d+ gets answered/);
    tally({ valuesChecked: all.length, duplicatedValues: duplicates(all) });
  });

  it('--workers 2 on Redis next to a single instance: one counter over all three processes', async (t) => {
    const redis = await RedisServer.start(t);
    const grouped = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '0', '--rate-limit', 'inf', '--workers', '2', '--redis', redis.url]);
    const single = await startCounter(t, redis);
    const loads = await Promise.all([grouped.port, grouped.port, single.port].map((port) => CounterLoad.start(t, port, { window: 50, limit: 2000 })));
    await Promise.all(loads.map((load) => load.until(2000, 20_000)));
    for (const load of loads) load.stop();
    const all = loads.flatMap((load) => load.values);
    assert.ok(all.length >= 6000, `${all.length} values`);
    assert.equal(duplicates(all), 0);
    await stopChecked(grouped.child);
    await stopChecked(single.child);
  });

  it('kill -9 of an instance mid-run and a restart: still no duplicate', async (t) => {
    const redis = await RedisServer.start(t);
    const servers = await Promise.all([0, 1, 2].map(() => startCounter(t, redis)));
    const loads = await Promise.all(servers.map(({ port }) => CounterLoad.start(t, port, { window: 200 })));
    await loads[2]!.until(3000, 20_000);
    servers[2]!.child.proc.kill('SIGKILL');
    await servers[2]!.child.exited;
    loads[2]!.stop();
    const restarted = await startCounter(t, redis);
    const after = await CounterLoad.start(t, restarted.port, { window: 200 });
    await after.until(5000, 20_000);
    for (const load of [...loads, after]) load.stop();
    const all = [...loads, after].flatMap((load) => load.values);
    assert.ok(after.values.length >= 5000, `the restarted instance answered ${after.values.length}`);
    assert.equal(duplicates(all), 0);
    await Promise.all([servers[0]!, servers[1]!, restarted].map(({ child }) => stopChecked(child)));
    tally({ fault: 'kill -9 of one counter instance', valuesChecked: all.length, duplicatedValues: duplicates(all) });
  });

  it('drops gets (never invents a value) while Redis is down, logs it once, and serves again after', async (t) => {
    const redis = await RedisServer.start(t);
    const { child, port } = await startCounter(t, redis);
    const load = await CounterLoad.start(t, port, { window: 20 });
    await load.until(500, 10_000);
    await redis.kill();
    await child.waitFor(/unreachable/, 10_000, 'stderr');
    const before = load.values.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.restart();
    await child.waitFor(/reachable again/, 15_000, 'stderr');
    await load.until(before + 500, 10_000);
    load.stop();
    assert.ok(load.values.length >= before + 500, 'served again after Redis came back');
    assert.equal(duplicates(load.values), 0, 'the floor kept this instance from repeating a value after Redis lost its counter');
    assert.equal(decreases(load.values), 0);
    assert.equal(child.stderr.match(/unreachable/g)?.length, 1, `logged once:\n${child.stderr}`);
    const { stdout } = await stopChecked(child);
    assert.match(stdout, /backend unavailable \d+/);
    tally({ fault: 'Redis killed under the counter', valuesChecked: load.values.length, duplicatedValues: duplicates(load.values) });
  });

  it('Redis down at start is one clear error naming the URL (exit 1); a bad URL is a usage error (exit 2)', async (t) => {
    const redis = await RedisServer.start(t);
    const url = redis.url;
    await redis.kill();
    for (const args of [['udp-serve'], ['udp-serve', '--workers', '2'], ['serve', '--mode', 'chat']]) {
      const { code, stderr } = await runCli(t, [...args, '--port', '0', '--redis', url]);
      assert.equal(code, 1, stderr);
      assert.match(stderr, new RegExp(`Cannot connect to Redis at ${url.replace(/\//g, '\\/')}: ECONNREFUSED \\[SL_ERR_BACKEND_UNAVAILABLE\\]`));
      assert.doesNotMatch(stderr, /\n\s+at /);
    }
    for (const bad of ['http://127.0.0.1:6379', 'redis://', 'redis://127.0.0.1:6379/x', 'not a url', 'redis://u:p@127.0.0.1/0']) {
      const { code, stderr } = await runCli(t, ['udp-serve', '--port', '0', '--redis', bad]);
      assert.equal(code, 2, `${bad}: ${stderr}`);
      assert.match(stderr, /--redis/);
    }
    const { code, stderr } = await runCli(t, ['udp-serve', '--port', '0', '--redis', url, '--state', '/tmp/x']);
    assert.equal(code, 2, stderr);
  });

  it('parseRedisUrl fills in the default port and db', () => {
    assert.deepEqual(parseRedisUrl('redis://localhost'), { host: 'localhost', port: 6379, db: 0, location: 'redis://localhost/0' });
    assert.deepEqual(parseRedisUrl('redis://[::1]:7000/3'), { host: '::1', port: 7000, db: 3, location: 'redis://[::1]:7000/3' });
  });

  it('a RedisState reports down and up as Redis goes and comes back', async (t) => {
    const redis = await RedisServer.start(t);
    const state = await connectRedisState(parseRedisUrl(redis.url), { maxRetryDelayMs: 100 });
    t.after(() => state.close());
    const seen: string[] = [];
    state.on('status', (status) => seen.push(status));
    assert.equal(await state.allocate(5), 1);
    await redis.kill();
    await eventually(() => state.status === 'down', () => `the state to be down (still ${state.status})`, 10_000, 10);
    await assert.rejects(state.allocate(1), { code: 'SL_ERR_BACKEND_UNAVAILABLE' });
    assert.equal(state.publish('lobby', 'lost'), false);
    await redis.restart();
    await eventually(() => state.status === 'up', () => `the state to be up (still ${state.status})`, 10_000, 10);
    assert.equal(await state.allocate(1), 6, 'the floor: never below what this instance had');
    assert.deepEqual(seen, ['down', 'up']);
  });
});
