/**
 * The cost suite's profiles: a server run under `node --cpu-prof` while the C generator loads it, its samples
 * summed by function (self time), so BENCHMARKS.md shows where socklab's CPU per operation goes beside bare Node's.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startServer } from './_harness.js';
import { loadgen, type LoadRun } from './_loadgen.js';
import type { Side } from './_cost-measure.js';

/** Makes the profiled server exit (and so write its profile) on SIGINT, whatever it does with the signal itself. */
const EXIT_ON_SIGINT = `${ROOT}scripts/bench-servers/exit-on-sigint.mjs`;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by function, as shares of the busy (not idle) time of the whole profile. */
export interface ProfileReading {
  run: LoadRun;
  /** function → share of busy samples (0-1) */
  shares: Map<string, number>;
}

/** Runs `side` under --cpu-prof through one window of `mode` and sums its profile. */
export async function profileSide(side: Side, mode: string, args: string[]): Promise<ProfileReading> {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-prof-'));
  try {
    const [script, ...rest] = side.args;
    const server = await startServer(side.name, side.command, ['--cpu-prof', '--cpu-prof-dir', dir, '--import', EXIT_ON_SIGINT, script!, ...rest]);
    const run = await loadgen(mode, server.port, server.pid, args);
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGINT');
    await exited;
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`${side.name} wrote no profile`);
    return { run, shares: selfShares(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function selfShares(profile: CpuProfile): Map<string, number> {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const time = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id)!;
    if (frame.functionName === '(idle)') return;
    const where = frame.url === '' ? '' : ` ${frame.url.replace(/^file:\/\/.*?\/(dist\/|scripts\/)/, '$1').replace(/^file:\/\//, '')}:${frame.lineNumber + 1}`;
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    const delta = profile.timeDeltas[i] ?? 0;
    time.set(key, (time.get(key) ?? 0) + delta);
    busy += delta;
  });
  return new Map([...time].map(([key, t]) => [key, busy > 0 ? t / busy : 0]));
}

/**
 * The top `count` functions by self time of `ours`, each in µs per operation (its share of busy time × the
 * server's CPU per operation in that run), with the reference's figure for the same function beside it.
 */
export function profileTable(title: string, unit: string, ours: ProfileReading, reference: ProfileReading, names: [string, string], count = 15): string {
  const perOp = (reading: ProfileReading, key: string): number => (reading.shares.get(key) ?? 0) * reading.run.serverUsPerOp;
  const top = [...ours.shares.keys()].sort((a, b) => perOp(ours, b) - perOp(ours, a)).slice(0, count);
  const own = [...ours.shares.keys()].filter((key) => key.includes(' dist/')).reduce((sum, key) => sum + perOp(ours, key), 0);
  return [
    `### ${title}`,
    '',
    `${names[0]}: ${ours.run.serverUsPerOp.toFixed(2)} µs per ${unit} under the profiler, ${own.toFixed(2)} µs of it in socklab's own functions (dist/…); ${names[1]}: ${reference.run.serverUsPerOp.toFixed(2)} µs.`,
    '',
    `| function (self time) | ${names[0]}, µs per ${unit} | ${names[1]}, µs per ${unit} |`,
    '| --- | ---: | ---: |',
    ...top.map((key) => `| \`${key.replaceAll('|', '\\|')}\` | ${perOp(ours, key).toFixed(3)} | ${reference.shares.has(key) ? perOp(reference, key).toFixed(3) : '–'} |`),
  ].join('\n');
}
