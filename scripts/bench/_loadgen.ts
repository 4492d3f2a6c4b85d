/**
 * The C load generator (scripts/bench-c/loadgen.c) and the server's own CPU per operation. `socklab bench` is a
 * Node process that tops out near the rate of a bare Node server, so both servers showed its rate whatever each
 * cost; this generator keeps the server's core busy, and the server's user+system time from /proc/PID/stat over
 * the measured window, divided by the operations completed in it, is the figure (it holds whether or not either
 * side was the bottleneck). The generator's own CPU is reported beside it: at ≥ 95% it was saturated, and a rate
 * ratio from that run says nothing about the server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { ROOT, cpuUsOf, median, pinned } from './_harness.js';

const SOURCE = `${ROOT}scripts/bench-c/loadgen.c`;
const BINARY = `${ROOT}dist/bench-c/loadgen`;
/** The generator's CPU share at which it, not the server, may have been what limited the rate. */
export const SATURATED_PERCENT = 95;

let compiled = false;

/** Compiles the generator with gcc into dist/ (at bench time only; no test needs it). */
export function loadgenBinary(): string {
  if (compiled) return BINARY;
  mkdirSync(`${ROOT}dist/bench-c`, { recursive: true });
  const fresh = (() => {
    try {
      const built = statSync(BINARY).mtimeMs;
      return built >= statSync(SOURCE).mtimeMs && built >= statSync(SOURCE.replace(/loadgen\.c$/, 'clock-and-histogram.h')).mtimeMs;
    } catch {
      return false;
    }
  })();
  if (!fresh) {
    const gcc = spawnSync('gcc', ['-O2', '-Wall', '-o', BINARY, SOURCE], { encoding: 'utf8' });
    if (gcc.error) throw new Error('gcc not found: the C load generator needs it (apt-get install -y gcc)');
    if (gcc.status !== 0) throw new Error(`gcc failed on ${SOURCE}: ${gcc.stderr}`);
  }
  compiled = true;
  return BINARY;
}


/** One measured window of the generator against one server. */
export interface LoadRun {
  completed: number;
  perSec: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  /** The generator's own CPU over the window, % of one core. */
  loadgenCpu: number;
  /** The server's CPU over the window, % of one core. */
  serverCpu: number;
  /** The server's user+system µs per completed operation. */
  serverUsPerOp: number;
}

/**
 * Runs `loadgen MODE 127.0.0.1 PORT ARGS` on CPU 1 and reads the server's CPU when the generator opens and closes
 * its measured window ("start" and "stop" on its stdout).
 */
export async function loadgen(mode: string, port: number, serverPid: number, args: string[], options: { fdLimit?: number } = {}): Promise<LoadRun> {
  let [cmd, argv] = pinned(1, loadgenBinary(), [mode, '127.0.0.1', String(port), ...args]);
  if (options.fdLimit !== undefined) [cmd, argv] = ['sh', ['-c', `ulimit -n ${options.fdLimit} && exec "$@"`, 'sh', cmd, ...argv]];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let startCpu = 0;
  let startAt = 0;
  let serverCpuUs = 0;
  let windowMs = 0;
  let out = '';
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    pending += text;
    let end: number;
    while ((end = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      if (line === 'start') {
        startCpu = cpuUsOf(serverPid);
        startAt = performance.now();
      } else if (line === 'stop') {
        serverCpuUs = cpuUsOf(serverPid) - startCpu;
        windowMs = performance.now() - startAt;
      } else out += `${line}\n`;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`loadgen ${mode} exited ${code}: ${out}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as { completed: number; perSec: number; p50Us: number; p99Us: number; errors: number; cpuPercent: number };
  return {
    completed: result.completed,
    perSec: result.perSec,
    p50Us: result.p50Us,
    p99Us: result.p99Us,
    errors: result.errors,
    loadgenCpu: result.cpuPercent,
    serverCpu: windowMs > 0 ? (serverCpuUs / (windowMs * 1000)) * 100 : 0,
    serverUsPerOp: result.completed > 0 ? serverCpuUs / result.completed : Infinity,
  };
}

/** `loadgen hold`: opens `connections`, says so ("opened N"), holds them `holdMs`, then one request each. */
export async function loadgenHold(
  port: number,
  connections: number,
  holdMs: number,
  fdLimit: number,
  onOpened: () => void,
): Promise<{ opened: number; answered: number; errors: number }> {
  const [cmd, argv] = pinned(1, loadgenBinary(), ['hold', '127.0.0.1', String(port), '-c', String(connections), '-d', String(holdMs)]);
  const child = spawn('sh', ['-c', `ulimit -n ${fdLimit} && exec "$@"`, 'sh', cmd, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let told = false;
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    out += text;
    if (!told && /^opened \d+$/m.test(out)) {
      told = true;
      onOpened();
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`loadgen hold exited ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as { opened: number; answered: number; errors: number };
}

/** Median of per-pair ratios a[i]/b[i], with the lowest and highest: "1.04× (0.98–1.10)". */
export function ratioSpread(a: number[], b: number[]): { median: number; text: string } {
  const ratios = a.map((value, i) => value / b[i]!);
  const m = median(ratios);
  return { median: m, text: `${m.toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` };
}
