/**
 * The benchmark suite: socklab's servers side by side with a bare node:net / node:dgram server (the ceiling for
 * Node) and Python servers that behave like the seed's (the baseline), on this machine, in one run. Servers are
 * pinned to CPU 0 and the load generator to CPU 1 where `taskset` exists. Runs are interleaved across servers and
 * reported as medians, and BENCHMARKS.md is written with the machine's description.
 *
 * Run: npm run bench   (BENCH_RUNS=9 BENCH_DURATION_MS=2000 by default: more, shorter pairs resist the drift of a shared machine; about 8 minutes on 2 cores)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchResult } from '../src/bench/report.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
const PIN = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length >= 2;
const CLI = `${ROOT}bin/socklab.cjs`;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

function pinned(cpu: number, command: string, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

interface Server {
  name: string;
  port: number;
  pid: number;
  child: ChildProcess;
}

/** A free port of the kind asked for (the OS picks it; freed again at once). */
async function freePort(kind: 'tcp' | 'udp'): Promise<number> {
  if (kind === 'udp') {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const { port } = socket.address();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    return port;
  }
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts a server on CPU 0 on a port chosen here (`{port}` in its arguments), with its output going to /dev/null
 * for real: a log that costs the server its writes and nothing else.
 */
async function startServer(name: string, command: string, args: string[], kind: 'tcp' | 'udp' = 'tcp'): Promise<Server> {
  const port = await freePort(kind);
  const [cmd, argv] = pinned(0, command, args.map((arg) => (arg === '{port}' ? String(port) : arg)));
  const devNull = openSync('/dev/null', 'w');
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', devNull, 'inherit'] });
  closeSync(devNull);
  const deadline = Date.now() + 10_000;
  if (kind === 'tcp') {
    // Ready when it accepts a connection.
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const probe = connect(port, '127.0.0.1');
        probe.once('connect', () => resolve(true)).once('error', () => resolve(false));
        // A destroyed socket emits 'close' and no 'error': without this a slow connect left the probe hanging.
        probe.once('close', () => resolve(false));
        setTimeout(() => probe.destroy(), 200);
      });
      if (ok) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start`);
      await sleep(100);
    }
  } else {
    await sleep(1000);
  }
  // With taskset the pid is taskset's, which exec()s the program: the same pid.
  return { name, port, pid: child.pid!, child };
}

async function stopServer(server: Server): Promise<void> {
  server.child.kill('SIGKILL');
  await new Promise((resolve) => server.child.once('exit', resolve));
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)![1]);
}

/** Runs `socklab bench … --json` on CPU 1 and returns its result. */
async function bench(args: string[]): Promise<BenchResult> {
  const [cmd, argv] = pinned(1, process.execPath, [CLI, 'bench', ...args, '--json']);
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(out) as BenchResult;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

interface Row {
  name: string;
  /** Per-run values, in run order (runs of different servers alternate, so run i of two servers are a pair). */
  runs: number[];
  p99Runs: number[];
  perSec: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  lost: number;
  benchCpu: number;
}

function summariseRuns(name: string, results: BenchResult[]): Row {
  return {
    name,
    runs: results.map((r) => r.perSec),
    p99Runs: results.map((r) => r.latencyUs.p99),
    perSec: median(results.map((r) => r.perSec)),
    p50Us: median(results.map((r) => r.latencyUs.p50)),
    p99Us: median(results.map((r) => r.latencyUs.p99)),
    errors: results.reduce((sum, r) => sum + r.errors + r.resets, 0),
    lost: results.reduce((sum, r) => sum + r.lost, 0),
    benchCpu: median(results.map((r) => r.cpuPercent)),
  };
}

const TCP_SERVERS: [string, string, string[], string[]][] = [
  ['socklab serve --quiet', process.execPath, [CLI, 'serve', '--port', '{port}', '--quiet', '--max-connections', '20000'], []],
  ['socklab serve (log to /dev/null)', process.execPath, [CLI, 'serve', '--port', '{port}', '--max-connections', '20000'], []],
  ['bare node:net', process.execPath, [`${ROOT}scripts/bench-servers/bare-tcp.mjs`, '{port}'], []],
  ['Python, seed-like (log to /dev/null)', 'python3', [`${ROOT}test/peers/seed_async_server.py`, '{port}'], ['--no-greeting', '--reply-framing', 'read']],
];

/** Request/response at `connections`, every server, RUNS interleaved rounds. */
async function tcpRequestResponse(connections: number): Promise<Row[]> {
  const servers = await Promise.all(TCP_SERVERS.map(([name, cmd, args]) => startServer(name, cmd, args)));
  const results = new Map<string, BenchResult[]>(servers.map((s) => [s.name, []]));
  for (let run = 1; run <= RUNS; run++) {
    for (const [index, server] of servers.entries()) {
      const extra = TCP_SERVERS[index]![3];
      const result = await bench(['tcp', '127.0.0.1', String(server.port), '-c', String(connections), '-d', String(DURATION_MS), '--warmup-ms', '1000', ...extra]);
      results.get(server.name)!.push(result);
      log(`  tcp c=${connections} run ${run} ${server.name}: ${Math.round(result.perSec)}/s p99 ${result.latencyUs.p99} µs`);
    }
  }
  await Promise.all(servers.map(stopServer));
  return servers.map((s) => summariseRuns(s.name, results.get(s.name)!));
}

/** 10,000 held connections: server RSS per connection, and every connection still answered. */
async function holdConnections(name: string, cmd: string, args: string[], connections: number): Promise<{ name: string; perConnBytes: number; answered: number; opened: number; baselineKiB: number; heldKiB: number }> {
  const server = await startServer(name, cmd, args);
  await sleep(1000);
  const baselineKiB = rssKiB(server.pid);
  // Steady state, not the peak: the connect burst leaves garbage that the next GC returns. Samples from the
  // second half of the hold are the held connections' own cost.
  const holdMs = Math.max(DURATION_MS, 6000);
  const samples: number[] = [];
  const startedAt = performance.now();
  const sampler = setInterval(() => {
    if (performance.now() - startedAt > holdMs / 2) samples.push(rssKiB(server.pid));
  }, 200);
  const result = await bench(['hold', '127.0.0.1', String(server.port), '-c', String(connections), '-d', String(holdMs), '--timeout-ms', '20000']);
  clearInterval(sampler);
  const heldKiB = median(samples.slice(0, -2)); // the last samples may already include the answering phase
  await stopServer(server);
  return { name, perConnBytes: Math.round(((heldKiB - baselineKiB) * 1024) / connections), answered: result.extra.answered ?? 0, opened: result.extra.opened ?? 0, baselineKiB, heldKiB };
}

async function connectRate(): Promise<Row[]> {
  const specs: [string, string, string[]][] = [
    ['socklab serve --quiet', process.execPath, [CLI, 'serve', '--port', '{port}', '--quiet']],
    ['socklab serve --quiet --greet-at-accept', process.execPath, [CLI, 'serve', '--port', '{port}', '--quiet', '--greet-at-accept']],
    ['bare node:net', process.execPath, [`${ROOT}scripts/bench-servers/bare-tcp.mjs`, '{port}']],
  ];
  const servers = await Promise.all(specs.map(([name, cmd, args]) => startServer(name, cmd, args)));
  const results = new Map<string, BenchResult[]>(servers.map((s) => [s.name, []]));
  for (let run = 1; run <= RUNS; run++) {
    for (const server of servers) {
      const result = await bench(['connect', '127.0.0.1', String(server.port), '-c', '8', '-d', String(DURATION_MS), '--warmup-ms', '500']);
      results.get(server.name)!.push(result);
      log(`  connect run ${run} ${server.name}: ${Math.round(result.perSec)}/s`);
    }
  }
  await Promise.all(servers.map(stopServer));
  return servers.map((s) => summariseRuns(s.name, results.get(s.name)!));
}

function rcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/);
  return Number(lines[1]!.split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

async function udpCounter(): Promise<(Row & { rcvbufErrors: number })[]> {
  const specs: [string, string, string[]][] = [
    ['socklab udp-serve --quiet', process.execPath, [CLI, 'udp-serve', '--port', '{port}', '--quiet']],
    ['bare node:dgram', process.execPath, [`${ROOT}scripts/bench-servers/bare-udp.mjs`, '{port}']],
    ['Python, seed-like (log to /dev/null)', 'python3', [`${ROOT}test/peers/seed_udp_server.py`, '{port}', '0.5']],
  ];
  const rows: (Row & { rcvbufErrors: number })[] = [];
  for (const [name, cmd, args] of specs) {
    const server = await startServer(name, cmd, args, 'udp');
    const results: BenchResult[] = [];
    const dropsBefore = rcvbufErrors();
    for (let run = 1; run <= Math.min(RUNS, 3); run++) {
      const result = await bench(['udp', '127.0.0.1', String(server.port), '--rate', '20000', '--outstanding', '10000', '--timeout-ms', '1000', '-d', String(DURATION_MS + 2000), '--warmup-ms', '1000']);
      results.push(result);
      log(`  udp run ${run} ${name}: lost ${result.lost} p99 ${result.latencyUs.p99} µs`);
    }
    rows.push({ ...summariseRuns(name, results), rcvbufErrors: rcvbufErrors() - dropsBefore });
    await stopServer(server);
  }
  return rows;
}

/**
 * `socklab --help` and a bare `node -e 0`, alternated so that both see the same phase of a drifting machine;
 * `ownMs` is the median of the per-pair differences: what socklab adds to Node's own start-up.
 */
function coldStart(runs = 31): { helpMs: number; nodeMs: number; ownMs: number } {
  const time = (args: string[]): number => {
    const started = performance.now();
    spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    return performance.now() - started;
  };
  const help: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < runs; i++) {
    help.push(time([CLI, '--help']));
    node.push(time(['-e', '0']));
  }
  return { helpMs: median(help), nodeMs: median(node), ownMs: median(help.map((ms, i) => ms - node[i]!)) };
}

async function benchVersusBareClient(): Promise<{ socklab: Row; bare: { perSec: number; cpuPercent: number } }> {
  const server = await startServer('bare node:net', process.execPath, [`${ROOT}scripts/bench-servers/bare-tcp.mjs`, '{port}']);
  const ours: BenchResult[] = [];
  const bare: { perSec: number; cpuPercent: number }[] = [];
  for (let run = 1; run <= RUNS; run++) {
    ours.push(await bench(['tcp', '127.0.0.1', String(server.port), '-c', '100', '-d', String(DURATION_MS), '--warmup-ms', '1000']));
    const [cmd, argv] = pinned(1, process.execPath, [`${ROOT}scripts/bench-servers/bare-client.mjs`, String(server.port), '100', String(DURATION_MS)]);
    const out = spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8' }).stdout;
    bare.push(JSON.parse(out) as { perSec: number; cpuPercent: number });
    log(`  client run ${run}: socklab bench ${Math.round(ours.at(-1)!.perSec)}/s, bare client ${Math.round(bare.at(-1)!.perSec)}/s`);
  }
  await stopServer(server);
  return { socklab: summariseRuns('socklab bench', ours), bare: { perSec: median(bare.map((b) => b.perSec)), cpuPercent: median(bare.map((b) => b.cpuPercent)) } };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const msOf = (us: number): string => (us / 1000).toFixed(2);
const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');

function tcpTable(rows: Row[]): string {
  return [
    '| server | requests/s | p50 ms | p99 ms | errors | bench CPU % |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.perSec)} | ${msOf(r.p50Us)} | ${msOf(r.p99Us)} | ${r.errors} | ${r.benchCpu} |`),
  ].join('\n');
}

async function main(): Promise<void> {
  spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}, ${spawnSync('python3', ['--version'], { encoding: 'utf8' }).stdout.trim()}`;
  log(`machine: ${machine}; pinned: ${PIN}; runs: ${RUNS}; duration: ${DURATION_MS} ms`);

  log('TCP request/response, 100 connections');
  const rr100 = await tcpRequestResponse(100);
  log('TCP request/response, 1,000 connections');
  const rr1000 = await tcpRequestResponse(1000);
  log('10,000 held connections');
  const holdSocklab = await holdConnections('socklab serve --quiet', process.execPath, [CLI, 'serve', '--port', '{port}', '--quiet', '--max-connections', '20000'], 10_000);
  const holdBare = await holdConnections('bare node:net', process.execPath, [`${ROOT}scripts/bench-servers/bare-tcp.mjs`, '{port}'], 10_000);
  log('connection rate');
  const connects = await connectRate();
  log('UDP counter, 20,000 gets/s, 10,000 outstanding');
  const udp = await udpCounter();
  log('cold start');
  const { helpMs, nodeMs, ownMs } = coldStart();
  log('load generator against a bare client');
  const client = await benchVersusBareClient();

  const byName = (rows: Row[], name: string): Row => rows.find((r) => r.name.startsWith(name))!;
  const ratio = (a: number, b: number): string => (a / b).toFixed(2);
  // The machine drifts between slow and fast phases within minutes, so a ratio of two separate medians can mislead.
  // Each run of one server is paired with the other server's run right next to it; the median of those ratios
  // is what the targets compare.
  const paired = (a: number[], b: number[]): number => median(a.map((value, i) => value / b[i]!));
  const pairedText = (a: number[], b: number[]): string => `${paired(a, b).toFixed(2)}× (runs: ${a.map((value, i) => (value / b[i]!).toFixed(2)).join(', ')})`;
  const s100 = byName(rr100, 'socklab serve --quiet');
  const b100 = byName(rr100, 'bare');
  const p100 = byName(rr100, 'Python');
  const s1000 = byName(rr1000, 'socklab serve --quiet');
  const b1000 = byName(rr1000, 'bare');
  const p1000 = byName(rr1000, 'Python');
  const sConn = byName(connects, 'socklab serve --quiet');
  const bConn = byName(connects, 'bare');
  const sUdp = udp[0]!;

  const targets: [string, string, string, boolean][] = [
    ['TCP r/r 100 conns: socklab ≥ 0.95× bare node:net', '0.95×', pairedText(s100.runs, b100.runs), paired(s100.runs, b100.runs) >= 0.95],
    ['TCP r/r 100 conns: socklab ≥ 2.5× seed-like Python', '2.5×', pairedText(s100.runs, p100.runs), paired(s100.runs, p100.runs) >= 2.5],
    ['TCP r/r 100 conns: p99 ≤ 1.2× bare node:net', '1.2×', pairedText(s100.p99Runs, b100.p99Runs), paired(s100.p99Runs, b100.p99Runs) <= 1.2],
    ['TCP r/r 1,000 conns: socklab ≥ 0.95× bare node:net', '0.95×', pairedText(s1000.runs, b1000.runs), paired(s1000.runs, b1000.runs) >= 0.95],
    ['TCP r/r 1,000 conns: socklab ≥ 2.5× seed-like Python', '2.5×', pairedText(s1000.runs, p1000.runs), paired(s1000.runs, p1000.runs) >= 2.5],
    ['TCP r/r 1,000 conns: p99 ≤ 1.2× bare node:net', '1.2×', pairedText(s1000.p99Runs, b1000.p99Runs), paired(s1000.p99Runs, b1000.p99Runs) <= 1.2],
    ['10,000 idle connections all held and answered', '10,000', `${fmt(holdSocklab.answered)}`, holdSocklab.answered === 10_000],
    ['server RSS per held connection ≤ 4.5 KB', '4,608 B', `${fmt(holdSocklab.perConnBytes)} B`, holdSocklab.perConnBytes <= 4608],
    ['connection rate (default: greeting after the first read) ≥ 0.9× bare node:net', '0.9×', pairedText(sConn.runs, bConn.runs), paired(sConn.runs, bConn.runs) >= 0.9],
    ['UDP 20,000 gets/s, 10,000 outstanding: zero lost', '0', `${sUdp.lost}`, sUdp.lost === 0],
    ['UDP: p99 ≤ 510 ms (500 ms delay)', '510 ms', `${msOf(sUdp.p99Us)} ms`, sUdp.p99Us <= 510_000],
    ['connection rate with --greet-at-accept ≥ 0.9× bare node:net', '0.9×', pairedText(byName(connects, 'socklab serve --quiet --greet').runs, bConn.runs), paired(byName(connects, 'socklab serve --quiet --greet').runs, bConn.runs) >= 0.9],
    ['`socklab --help` cold start ≤ 120 ms', '120 ms', `${helpMs.toFixed(0)} ms (bare node: ${nodeMs.toFixed(0)} ms; socklab's own share ${ownMs.toFixed(0)} ms)`, helpMs <= 120],
    ['bench not the bottleneck: ≥ 0.9× a bare client\'s rate', '0.9×', `${ratio(client.socklab.perSec, client.bare.perSec)}×`, client.socklab.perSec >= 0.9 * client.bare.perSec],
  ];

  const doc = `# Benchmarks

Written by \`npm run bench\` (scripts/bench.ts) on ${new Date().toISOString().slice(0, 10)}. Re-run it to refresh this file.

**Machine:** ${machine}. Servers ${PIN ? 'pinned to CPU 0 and the load generator to CPU 1 with `taskset`' : 'not pinned (no taskset or one CPU)'}.
**Method:** each table figure is the median of ${RUNS} runs of ${DURATION_MS / 1000} s measured after a warm-up (UDP: ${Math.min(RUNS, 3)} runs of ${(DURATION_MS + 2000) / 1000} s), with the servers' runs interleaved. This machine drifts between slow and fast phases within minutes (the same server measures 40k and 65k requests/s), so each target compares pairs: run i of socklab against run i of the other server, taken next to each other, and the median of those ratios is the figure, with every run's ratio listed. Load comes from \`socklab bench\` over loopback. "--quiet" turns socklab's per-message log off; "log to /dev/null" keeps logging on with the output discarded (the Python servers print every message, like the seed's). The bare servers are in scripts/bench-servers/; the Python ones are test/peers/seed_async_server.py and seed_udp_server.py.

## Targets

| target | wanted | measured | |
| --- | ---: | ---: | --- |
${targets.map(([what, wanted, got, ok]) => `| ${what} | ${wanted} | ${got} | ${verdict(ok)} |`).join('\n')}

## TCP request/response, 100 connections (closed loop, one request in flight per connection)

${tcpTable(rr100)}

## TCP request/response, 1,000 connections

${tcpTable(rr1000)}

## 10,000 idle connections

| server | opened | answered after the hold | RSS before | RSS held | per connection |
| --- | ---: | ---: | ---: | ---: | ---: |
${[holdSocklab, holdBare].map((h) => `| ${h.name} | ${fmt(h.opened)} | ${fmt(h.answered)} | ${fmt(h.baselineKiB)} KiB | ${fmt(h.heldKiB)} KiB | ${fmt(h.perConnBytes)} B |`).join('\n')}

## Connection rate (8 parallel loops: connect, greeting, request, reply, close)

| server | connections/s | p50 ms | p99 ms | errors |
| --- | ---: | ---: | ---: | ---: |
${connects.map((r) => `| ${r.name} | ${fmt(r.perSec)} | ${msOf(r.p50Us)} | ${msOf(r.p99Us)} | ${r.errors} |`).join('\n')}

## UDP counter: 20,000 gets/s, up to 10,000 awaiting their 500 ms reply, 1 s reply timeout

| server | replies/s | p50 ms | p99 ms | lost (all runs) | kernel RcvbufErrors |
| --- | ---: | ---: | ---: | ---: | ---: |
${udp.map((r) => `| ${r.name} | ${fmt(r.perSec)} | ${msOf(r.p50Us)} | ${msOf(r.p99Us)} | ${fmt(r.lost)} | ${fmt(r.rcvbufErrors)} |`).join('\n')}

## Cold start and the load generator itself

- \`node bin/socklab.cjs --help\`: ${helpMs.toFixed(0)} ms median of 31, alternated with a bare \`node -e 0\`: ${nodeMs.toFixed(0)} ms; socklab's own share (median of the pairs' differences) ${ownMs.toFixed(0)} ms.
- \`socklab bench tcp -c 100\` against the bare server: ${fmt(client.socklab.perSec)} req/s using ${client.socklab.benchCpu}% of a core; a bare client with no histogram or progress (scripts/bench-servers/bare-client.mjs): ${fmt(client.bare.perSec)} req/s using ${client.bare.cpuPercent}% of a core.
`;
  writeFileSync(`${ROOT}BENCHMARKS.md`, doc);
  log(doc);
}

await main();
