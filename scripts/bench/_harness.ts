/**
 * What every benchmark suite shares: servers pinned to CPU 0 and the load generator (`socklab bench`) to CPU 1,
 * free ports, RSS readings, medians and paired ratios, and the table helpers. A suite is a module in
 * scripts/bench/ whose default export returns its targets and its markdown (see {@link BenchSuite}).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { cpus, release, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchResult } from '../../src/bench/report.js';
import { processCpuUs } from '../../src/bench/server-cpu.js';

/** One row of the targets table. */
export interface Target {
  target: string;
  wanted: string;
  measured: string;
  met: boolean;
}

/** What a suite module's default export resolves to. */
export interface SuiteResult {
  targets: Target[];
  /** `## …` sections with their tables. */
  markdown: string;
}

export type BenchSuite = () => Promise<SuiteResult>;

export const ROOT = new URL('../../../', import.meta.url).pathname;
export const RUNS = Number(process.env.BENCH_RUNS ?? 9);
export const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
export const PIN = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length >= 2;
export const CLI = `${ROOT}bin/socklab.cjs`;
export const BARE_TCP = `${ROOT}scripts/bench-servers/bare-tcp.mjs`;
export const log = (line: string): void => void process.stderr.write(`${line}\n`);

export function machine(): string {
  const python = spawnSync('python3', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? 'no python3';
  return `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}, ${python}`;
}

export function pinned(cpu: number, command: string, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

export interface Server {
  name: string;
  port: number;
  pid: number;
  child: ChildProcess;
}

/** A free port of the kind asked for (the OS picks it; freed again at once). */
export async function freePort(kind: 'tcp' | 'udp'): Promise<number> {
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

/** Where a server's stdout goes: discarded for real, a file (path), or a pipe this process reads and drops. */
export type Output = 'null' | 'pipe' | { file: string };

export interface StartOptions {
  kind?: 'tcp' | 'udp';
  output?: Output;
  /** Wrap in `sh -c 'ulimit -n N; exec …'` (for holds past the default fd limit). */
  fdLimit?: number;
}

/**
 * Starts a server on CPU 0 on a port chosen here (`{port}` in its arguments). Its log goes where `output` says:
 * /dev/null by default (a log that costs the server its writes and nothing else).
 */
export async function startServer(name: string, command: string, args: string[], options: StartOptions = {}): Promise<Server> {
  const kind = options.kind ?? 'tcp';
  const port = await freePort(kind);
  let [cmd, argv] = pinned(0, command, args.map((arg) => (arg === '{port}' ? String(port) : arg)));
  if (options.fdLimit !== undefined) {
    // `exec` keeps the pid: the one we read RSS from is the server's.
    [cmd, argv] = ['sh', ['-c', `ulimit -n ${options.fdLimit} && exec "$@"`, 'sh', cmd, ...argv]];
  }
  const output = options.output ?? 'null';
  const fd = output === 'pipe' ? 'pipe' : openSync(output === 'null' ? '/dev/null' : output.file, 'w');
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', fd, 'inherit'] });
  if (typeof fd === 'number') closeSync(fd);
  // A pipe read as fast as it comes, the way `socklab serve | grep …` reads it.
  child.stdout?.on('data', () => {});
  const deadline = Date.now() + 10_000;
  if (kind === 'tcp') {
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

/** A socklab server started by {@link startSocklab}. */
export interface Started {
  child: ChildProcess;
  port: number;
  /** What `until` matched in its output: the port is group 1, later groups are whatever else it reads (a dashboard's URL). */
  match: RegExpExecArray;
}

/**
 * Runs `socklab <args>` on a port it picks itself (`--port 0` among `args`) and waits, at most 10 s, until its stdout
 * matches `until` (by default its `listening on …:PORT` line, TCP or UDP). For what {@link startServer} does not fit:
 * servers that print more than their port (a dashboard's URL) or are not to be pinned. On `cpu` if given (and
 * taskset is there), else wherever the OS runs it; its stderr is passed through.
 */
export async function startSocklab(args: string[], options: { until?: RegExp; cpu?: number } = {}): Promise<Started> {
  const until = options.until ?? /listening on (?:udp )?\S+:(\d+)/;
  const [command, argv]: [string, string[]] = options.cpu === undefined ? [process.execPath, [CLI, ...args]] : pinned(options.cpu, process.execPath, [CLI, ...args]);
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let out = '';
    let found: RegExpExecArray | null = null;
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`socklab ${args.join(' ')} ${why}: ${out}`));
    };
    const onExit = (code: number | null): void => fail(`exited ${code} before listening`);
    const timer = setTimeout(() => fail('did not start within 10 s'), 10_000);
    child.once('exit', onExit);
    // Read to the end (dropped once found), so that a server that keeps printing never blocks on a full pipe.
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      if (found) return;
      out += text;
      found = until.exec(out);
      if (!found) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(found);
    });
  });
  return { child, port: Number(match[1]), match };
}

export async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill('SIGKILL');
  await new Promise((resolve) => server.child.once('exit', resolve));
}

export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)![1]);
}

/** Runs `socklab bench … --json` on CPU 1 and returns its result. */
export async function bench(args: string[], options: { fdLimit?: number } = {}): Promise<BenchResult> {
  let [cmd, argv] = pinned(1, process.execPath, [CLI, 'bench', ...args, '--json']);
  if (options.fdLimit !== undefined) [cmd, argv] = ['sh', ['-c', `ulimit -n ${options.fdLimit} && exec "$@"`, 'sh', cmd, ...argv]];
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return benchResultOf(out);
}

/** The result of `socklab bench --json`: the `summary` line that ends its output (interval lines come first). */
export function benchResultOf(stdout: string): BenchResult {
  const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as { event?: string; totals?: BenchResult };
  if (last.event !== 'summary' || last.totals === undefined) throw new Error(`bench --json ended without a summary line: ${stdout.slice(-200)}`);
  return last.totals;
}

/** The hard limit on open files this process may raise itself to (`ulimit -Hn`). */
export function hardFdLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Number(readFileSync('/proc/sys/fs/nr_open', 'utf8')) : Number(out);
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export interface Row {
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

export function summariseRuns(name: string, results: BenchResult[]): Row {
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

/**
 * The machine drifts between slow and fast phases within minutes, so a ratio of two separate medians can
 * mislead. Each run of one server is paired with the other server's run right next to it; the median of those
 * ratios is what targets compare.
 */
export const pairRatios = (a: number[], b: number[]): number[] => a.map((value, i) => value / b[i]!);
export const paired = (a: number[], b: number[]): number => median(pairRatios(a, b));
export const pairedText = (a: number[], b: number[]): string =>
  `${paired(a, b).toFixed(2)}× (runs: ${pairRatios(a, b).map((ratio) => ratio.toFixed(2)).join(', ')})`;

/** A target "a ≥ wanted × b" (or ≤ with `atMost`) from paired runs. */
export function ratioTarget(target: string, a: number[], b: number[], wanted: number, atMost = false): Target {
  const value = paired(a, b);
  return { target, wanted: `${wanted}×`, measured: pairedText(a, b), met: atMost ? value <= wanted : value >= wanted };
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const msOf = (us: number): string => (us / 1000).toFixed(2);

export function rateTable(rows: Row[], unit = 'requests/s'): string {
  return [
    `| server | ${unit} | p50 ms | p99 ms | errors | bench CPU % |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.perSec)} | ${msOf(r.p50Us)} | ${msOf(r.p99Us)} | ${r.errors} | ${r.benchCpu} |`),
  ].join('\n');
}

export function targetsTable(targets: Target[]): string {
  return [
    '| target | wanted | measured | |',
    '| --- | ---: | ---: | --- |',
    ...targets.map((t) => `| ${t.target} | ${t.wanted} | ${t.measured} | ${t.met ? 'met' : '**missed**'} |`),
  ].join('\n');
}

/** Lets a suite module run on its own: `node dist/scripts/bench/<topic>.js` prints its markdown. */
export async function runStandalone(moduleUrl: string, suite: BenchSuite): Promise<void> {
  if (process.argv[1] === undefined || new URL(`file://${process.argv[1]}`).href !== moduleUrl) return;
  const { targets, markdown } = await suite();
  process.stdout.write(`${targetsTable(targets)}\n\n${markdown}\n`);
}

/** User + system CPU so far, in µs, of a process a suite started (bench's own /proc reader); it must still run. */
export function cpuUsOf(pid: number): number {
  const us = processCpuUs(pid);
  if (us === undefined) throw new Error(`process ${pid} is gone: no /proc/${pid}/stat to read its CPU from`);
  return us;
}
