// `socklab proxy` as a new user runs it: --black-hole leaves nothing behind, --api is toxiproxy-server,
// --config is its populate file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Toxiproxy } from 'toxiproxy-node-client';
import { eventually } from '../helpers/changes.js';
import { processUsage } from '../helpers/proc.js';
import { available, CLI, freePort, runCli, start, startCliServer, stopChecked } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { RedisServer } from '../helpers/redis.js';

const run = promisify(execFile);

async function closeWaitCount(port: number): Promise<number> {
  assert.ok(await available('ss'), 'ss is missing: apt-get install -y iproute2');
  const { stdout } = await run('ss', ['-Htan', 'state', 'close-wait', `( sport = :${port} )`]);
  return stdout.split('\n').filter((line) => line.trim() !== '').length;
}

describe('socklab proxy --black-hole, --api, --config (CLI)', () => {
  it('--black-hole: 30 clients that give up leave no CLOSE-WAIT socket and no open descriptor behind', async (t) => {
    const { port: target } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    const { child, port } = await startCliServer(t, ['proxy', '127.0.0.1', String(target), '--black-hole', '--quiet']);
    const baseline = processUsage(child.proc.pid!).fds;
    const clients = await Promise.all(Array.from({ length: 30 }, () => RawClient.connect(t, port)));
    for (const client of clients) client.socket.write('anyone?\n');
    await eventually(() => processUsage(child.proc.pid!).fds >= baseline + 30, 'the proxy holds the 30 connections');
    assert.ok(clients.every((client) => client.text === ''), 'a black hole answers nothing');
    for (const client of clients) client.socket.end();
    await Promise.all(clients.map((client) => client.waitForClose()));
    await eventually(async () => (await closeWaitCount(port)) === 0, `no CLOSE-WAIT on :${port}`);
    await eventually(() => processUsage(child.proc.pid!).fds <= baseline, () => `descriptors back to ${baseline} (now ${processUsage(child.proc.pid!).fds})`);
    await stopChecked(child);
  });

  it('--api is toxiproxy-server: starts with no proxies, toxiproxy-node-client drives it, browsers get 403 from curl', async (t) => {
    const redis = await RedisServer.start(t);
    const apiPort = await freePort();
    const child = start(t, process.execPath, [CLI, 'proxy', '--api', String(apiPort), '--dashboard', '0']);
    await child.waitFor(/toxiproxy API on http:\/\/127\.0\.0\.1:(\d+) \(0 proxies\)/);
    const [, dashboardUrl] = await child.waitFor(/dashboard on (http:\S+)/);
    const toxiproxy = new Toxiproxy(`http://127.0.0.1:${apiPort}`);
    assert.deepEqual(Object.keys(await toxiproxy.getAll()), []);
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream: `127.0.0.1:${redis.port}` });
    const client = await RawClient.connect(t, Number(proxy.listen.split(':')[1]));
    client.socket.write('PING\r\n');
    await client.waitForText(/\+PONG\r\n/);
    assert.ok(await available('curl'), 'curl is missing: apt-get install -y curl');
    const browser = await run('curl', ['-s', '-o', '-', '-w', '%{http_code}', '-A', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120', `http://127.0.0.1:${apiPort}/proxies`]);
    assert.equal(browser.stdout, 'User agent not allowed\n403');
    const plain = await run('curl', ['-s', `http://127.0.0.1:${apiPort}/proxies/redis`]);
    assert.equal(JSON.parse(plain.stdout).name, 'redis');
    await child.waitFor(/\[redis\] #1 127\.0\.0\.1:\d+ connected/);
    // The dashboard lists the proxies, their toxics, and what each did.
    await proxy.addToxic({ type: 'latency', name: 'slow', stream: 'downstream', toxicity: 1, attributes: { latency: 20, jitter: 0 } });
    client.socket.write('PING\r\n');
    await client.until(() => client.text.split('PONG').length === 3, 'a second PONG');
    type State = { sections: { title: string; rows: unknown[][] }[] };
    const sectionsNow = async () => new Map(((await (await fetch(`${dashboardUrl}api/state`)).json()) as State).sections.map((section) => [section.title, section.rows]));
    let sections = await sectionsNow();
    // The page samples on its own interval: wait for a sample taken after the toxic acted.
    await eventually(async () => (sections = await sectionsNow()).get('Faults applied')?.length === 1, () => JSON.stringify([...sections]));
    assert.equal(sections.get('Proxies')?.[0]?.[0], 'redis');
    assert.deepEqual(sections.get('Toxics')?.[0]?.slice(0, 4), ['redis', 'slow', 'latency', 'downstream']);
    assert.deepEqual(sections.get('Faults applied')?.[0], ['redis: latency', 1]);
    await stopChecked(child);
  });

  it('--config FILE creates the proxies of a toxiproxy populate file; a bad file fails with a clear error', async (t) => {
    const redis = await RedisServer.start(t);
    const dir = mkdtempSync(join(tmpdir(), 'socklab-proxy-config-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'proxies.json');
    const port = await freePort();
    writeFileSync(config, JSON.stringify([{ name: 'redis', listen: `127.0.0.1:${port}`, upstream: `127.0.0.1:${redis.port}` }]));
    // A scenario step names the proxy it is for (`on redis`).
    const scenario = join(dir, 'slow.txt');
    writeFileSync(scenario, 'at 0s on redis add latency 150ms downstream\n');
    const { child } = await startCliServer(t, ['proxy', '--config', config, '--scenario', scenario]);
    await child.waitFor(/scenario at 0 ms: on redis add latency 150ms downstream\n/);
    const client = await RawClient.connect(t, port);
    const started = performance.now();
    client.socket.write('PING\r\n');
    await client.waitForText(/\+PONG\r\n/);
    assert.ok(performance.now() - started >= 145, 'the scenario slowed the proxy of the config file');
    await stopChecked(child);
    writeFileSync(config, '[{"listen":"127.0.0.1:0"}]');
    const bad = await runCli(t, ['proxy', '--config', config]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /SL_ERR_PROXY_INVALID/);
    const usage = await runCli(t, ['proxy', '--udp', '--api']);
    assert.equal(usage.code, 2);
    // UDP faults apply both ways unless --direction says: the help says so.
    const help = await runCli(t, ['proxy', '--help']);
    assert.match(help.stdout.replace(/\s+/g, ' '), /--jitter-ms, applied both ways \(client to server and the replies\) unless --direction up\|down says/);
  });

  it('--scenario plays a timeline on live connections: redis stalls (timeout held), then heals and answers', async (t) => {
    const redis = await RedisServer.start(t);
    const dir = mkdtempSync(join(tmpdir(), 'socklab-proxy-scenario-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'outage.txt');
    writeFileSync(file, '# redis hangs, then recovers\nat 0s add timeout downstream\nat 600ms heal\n');
    const { child, port } = await startCliServer(t, ['proxy', '127.0.0.1', String(redis.port), '--scenario', file]);
    const client = await RawClient.connect(t, port);
    const started = performance.now();
    client.socket.write('PING\r\n');
    await client.waitForText(/\+PONG\r\n/);
    const waited = performance.now() - started;
    assert.ok(waited >= 400, `the reply was held until the heal (${waited.toFixed(0)} ms)`);
    assert.ok(!client.closed, 'and the connection survived it');
    await child.waitFor(/scenario at 600 ms: heal/);
    await stopChecked(child);
  });
});
