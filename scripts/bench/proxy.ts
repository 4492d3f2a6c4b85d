/**
 * What the fault proxy costs to relay, with no toxics: CPU per relayed request (one chunk up, one down) of
 * `socklab proxy` against a bare node:net relay (`socket.pipe` both ways) in the same run, paired and
 * interleaved; and redis-benchmark straight to redis-server, through `socklab proxy` and through `socat`.
 * Relays are pinned to CPU 0; the server and the load generator share CPU 1 (the machine has two).
 * Run on its own: node dist/scripts/bench/proxy.js
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bench, cpuUsOf, CLI, fmt, freePort, log, median, pinned, ratioTarget, runStandalone, startSocklab, type SuiteResult } from './_harness.js';

const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const DURATION_MS = 2000;
const CONNECTIONS = 50;
const REDIS_REQUESTS = 100_000;

/** The reference: what a relay costs when it does nothing but pipe. */
const BARE_RELAY = `
import { connect, createServer } from 'node:net';
const [port, target] = process.argv.slice(1).map(Number);
createServer((client) => {
  const upstream = connect(target, '127.0.0.1');
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(port, '127.0.0.1', () => console.log('listening on 127.0.0.1:' + port));
`;

const cpuMs = (pid: number): number => cpuUsOf(pid) / 1000;

interface Relay {
  child: ChildProcess;
  port: number;
}

async function waitListening(child: ChildProcess, pattern = /listening on \S+:(\d+)/): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`relay did not start: ${out}`)), 10_000);
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      const match = pattern.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
}

async function startRelay(kind: 'socklab' | 'bare' | 'socat', target: number): Promise<Relay> {
  const port = await freePort('tcp');
  const [command, args] =
    kind === 'socklab'
      ? pinned(0, process.execPath, [CLI, 'proxy', '127.0.0.1', String(target), '--port', String(port), '--quiet'])
      : kind === 'bare'
        ? pinned(0, process.execPath, ['--input-type=module', '-e', BARE_RELAY, String(port), String(target)])
        : pinned(0, 'socat', [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,nodelay,backlog=1024`, `TCP:127.0.0.1:${target},nodelay`]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  if (kind === 'socat') {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { child, port };
  }
  await waitListening(child);
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** One run of `socklab bench tcp` through a relay: requests per second and the relay's CPU µs per request. */
async function relayRun(kind: 'socklab' | 'bare', target: number): Promise<{ perSec: number; cpuUsPerRequest: number }> {
  const relay = await startRelay(kind, target);
  try {
    const before = cpuMs(relay.child.pid!);
    const result = await bench(['tcp', '127.0.0.1', String(relay.port), '-c', String(CONNECTIONS), '-d', String(DURATION_MS), '--warmup-ms', '0']);
    const cpu = cpuMs(relay.child.pid!) - before;
    return { perSec: result.perSec, cpuUsPerRequest: (cpu * 1000) / Math.max(1, result.completed) };
  } finally {
    await stop(relay.child);
  }
}

/** redis-benchmark's requests/s for PING, SET and GET, and the relay's CPU µs per request (if there is one). */
function redisBenchmark(port: number): Promise<Record<string, number>> {
  const [command, args] = pinned(1, 'redis-benchmark', ['-p', String(port), '-n', String(REDIS_REQUESTS), '-c', String(CONNECTIONS), '-t', 'ping,set,get', '--csv']);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`redis-benchmark exited ${code}: ${out}`));
      const rates: Record<string, number> = {};
      for (const line of out.trim().split('\n')) {
        const [name, rate] = line.split(',').map((cell) => cell.replace(/"/g, ''));
        if (name && rate && !Number.isNaN(Number(rate))) rates[name] = Number(rate);
      }
      resolve(rates);
    });
  });
}

export default async function run(): Promise<SuiteResult> {
  for (const tool of ['socat', 'redis-server', 'redis-benchmark']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: apt-get install -y ${tool === 'socat' ? 'socat' : 'redis-server redis-tools'}`);
  }
  // The target server shares CPU 1 with the load generator; the relay has CPU 0 to itself.
  const server = await startSocklab(['serve', '--port', '0', '--quiet'], { cpu: 1 });
  const socklab: { perSec: number; cpuUsPerRequest: number }[] = [];
  const bare: { perSec: number; cpuUsPerRequest: number }[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(await relayRun('bare', server.port));
      socklab.push(await relayRun('socklab', server.port));
      log(`proxy round ${round + 1}/${ROUNDS}: socklab ${socklab.at(-1)!.cpuUsPerRequest.toFixed(2)} µs/request, bare ${bare.at(-1)!.cpuUsPerRequest.toFixed(2)} µs/request`);
    }
  } finally {
    await stop(server.child);
  }

  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-redis-'));
  const redisPort = await freePort('tcp');
  const [redisCommand, redisArgs] = pinned(1, 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  const redis = spawn(redisCommand, redisArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  const redisRows: { name: string; rates: Record<string, number>; cpuUs: number | undefined }[] = [];
  try {
    await waitListening(redis, /Ready to accept connections()/).catch(() => undefined);
    redisRows.push({ name: 'direct', rates: await redisBenchmark(redisPort), cpuUs: undefined });
    for (const kind of ['socklab', 'socat'] as const) {
      const relay = await startRelay(kind, redisPort);
      try {
        const before = cpuMs(relay.child.pid!);
        const rates = await redisBenchmark(relay.port);
        // socat forks a child per connection: its CPU is not in the parent's counters, so none is shown.
        const cpu = kind === 'socklab' ? ((cpuMs(relay.child.pid!) - before) * 1000) / (REDIS_REQUESTS * 3) : undefined;
        redisRows.push({ name: kind === 'socklab' ? 'socklab proxy' : 'socat (fork)', rates, cpuUs: cpu });
      } finally {
        await stop(relay.child);
      }
    }
  } finally {
    await stop(redis);
    rmSync(dir, { recursive: true, force: true });
  }

  const cpuRatio = ratioTarget(
    'socklab proxy CPU per relayed request vs a bare node:net relay (pipe both ways), no toxics',
    socklab.map((r) => r.cpuUsPerRequest),
    bare.map((r) => r.cpuUsPerRequest),
    1.2,
    true,
  );
  const commands = ['PING_INLINE', 'SET', 'GET'];
  const markdown = [
    '## Fault proxy relay cost (`socklab proxy`, no toxics)',
    '',
    `\`socklab bench tcp -c ${CONNECTIONS}\` for ${DURATION_MS / 1000} s through a relay to \`socklab serve --quiet\`, ${ROUNDS} paired rounds (a bare node:net relay, \`client.pipe(upstream).pipe(client)\`, measured right before each socklab run). The relay is pinned to CPU 0; the server and the load generator share CPU 1. CPU is the relay process's user + system time from /proc over the run, divided by the requests the load generator completed (each request is one chunk up and one down). The machine was shared with other builds and tests while this ran.`,
    '',
    '| relay | requests/s (median) | relay CPU µs per request (median) |',
    '| --- | ---: | ---: |',
    `| bare node:net relay | ${fmt(median(bare.map((r) => r.perSec)))} | ${median(bare.map((r) => r.cpuUsPerRequest)).toFixed(2)} |`,
    `| socklab proxy | ${fmt(median(socklab.map((r) => r.perSec)))} | ${median(socklab.map((r) => r.cpuUsPerRequest)).toFixed(2)} |`,
    '',
    `### redis-benchmark: direct, through socklab proxy, through socat`,
    '',
    `\`redis-benchmark -n ${REDIS_REQUESTS} -c ${CONNECTIONS} -t ping,set,get\` (pinned with redis-server to CPU 1; the relay on CPU 0). One run each, in this order. socat runs with \`fork\`, \`nodelay\` on both sides (socklab sets TCP_NODELAY too) and \`backlog=1024\` (its default listen backlog of 5 overflows when redis-benchmark opens its 50 connections at once: SYNs are dropped, connects wait 1 to 3 s and some are reset).`,
    '',
    `| path | ${commands.join(' req/s | ')} req/s | × direct (GET) | relay CPU µs per request |`,
    `| --- | ${commands.map(() => '---:').join(' | ')} | ---: | ---: |`,
    ...redisRows.map((row) => `| ${row.name} | ${commands.map((c) => fmt(row.rates[c] ?? 0)).join(' | ')} | ${((row.rates['GET'] ?? 0) / (redisRows[0]!.rates['GET'] ?? 1)).toFixed(2)} | ${row.cpuUs === undefined ? '' : row.cpuUs.toFixed(2)} |`),
    '',
  ].join('\n');
  return { targets: [cpuRatio], markdown };
}

await runStandalone(import.meta.url, run);
