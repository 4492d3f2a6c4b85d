/**
 * The benchmark suite: every module in scripts/bench/ (a file not starting with `_`) is one suite whose default
 * export returns `{ targets, markdown }` (see scripts/bench/_harness.ts). socklab's servers run side by side with a
 * bare node:net / node:dgram server (the ceiling for Node) and Python servers that behave like the seed's (the
 * baseline), on this machine, in one run, servers pinned to CPU 0 and the load generator to CPU 1.
 *
 * BENCHMARKS.md keeps one block per suite, so a partial run replaces only its suites' blocks:
 *   npm run bench                       # every suite (about 15 minutes on 2 cores)
 *   BENCH_ONLY=tcp,hold npm run bench   # just these
 *   BENCH_RUNS=9 BENCH_DURATION_MS=2000 # the defaults: more, shorter pairs resist a shared machine's drift
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { DURATION_MS, PIN, ROOT, RUNS, log, machine, targetsTable, type SuiteResult } from './bench/_harness.js';

/** socklab's own suites first, in this order; suites other modules add follow by name. */
const CORE_ORDER = ['tcp', 'hold', 'connect', 'udp', 'startup'];
const DOC = `${ROOT}BENCHMARKS.md`;
const FINDINGS = `${ROOT}scripts/bench/findings.md`;

function suiteNames(): string[] {
  const dir = new URL('./bench/', import.meta.url).pathname;
  const found = readdirSync(dir)
    .filter((file) => file.endsWith('.js') && !file.startsWith('_') && !file.endsWith('.test.js'))
    .map((file) => file.slice(0, -'.js'.length));
  const rank = (name: string): number => (CORE_ORDER.includes(name) ? CORE_ORDER.indexOf(name) : CORE_ORDER.length);
  return found.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function selected(all: string[]): string[] {
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim()).filter(Boolean);
  if (only === undefined || only.length === 0) return all;
  const unknown = only.filter((name) => !all.includes(name));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY names unknown suites: ${unknown.join(', ')} (known: ${all.join(', ')})`);
  return all.filter((name) => only.includes(name));
}

const open = (name: string): string => `<!-- bench:${name} -->`;
const close = (name: string): string => `<!-- /bench:${name} -->`;

/** The blocks of the existing BENCHMARKS.md, by suite, so that a partial run keeps the others. */
function previousBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  if (!existsSync(DOC)) return blocks;
  for (const match of readFileSync(DOC, 'utf8').matchAll(/<!-- bench:([\w-]+) -->\n([\s\S]*?)\n<!-- \/bench:\1 -->/g)) {
    blocks.set(match[1]!, match[2]!);
  }
  return blocks;
}

function block(name: string, result: SuiteResult, date: string): string {
  return `<!-- suite ${name}, measured ${date} -->\n### Targets: ${name}\n\n${targetsTable(result.targets)}\n\n${result.markdown.trim()}`;
}

async function main(): Promise<void> {
  spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  const all = suiteNames();
  const names = selected(all);
  const date = new Date().toISOString().slice(0, 10);
  const description = machine();
  log(`machine: ${description}; pinned: ${PIN}; runs: ${RUNS}; duration: ${DURATION_MS} ms; suites: ${names.join(', ')}`);
  const blocks = previousBlocks();
  const missed: string[] = [];
  for (const name of names) {
    log(`suite ${name}`);
    const suite = (await import(`./bench/${name}.js`)) as { default: () => Promise<SuiteResult> };
    const result = await suite.default();
    blocks.set(name, block(name, result, date));
    missed.push(...result.targets.filter((t) => !t.met).map((t) => `${name}: ${t.target}`));
    // Written after every suite, so an interrupted run keeps what it measured.
    writeFileSync(DOC, document(all, blocks, description, date));
  }
  log(readFileSync(DOC, 'utf8'));
  log(missed.length === 0 ? 'every target met' : `missed:\n  ${missed.join('\n  ')}`);
}

function document(all: string[], blocks: Map<string, string>, description: string, date: string): string {
  const findings = existsSync(FINDINGS) ? `\n${readFileSync(FINDINGS, 'utf8').trim()}\n` : '';
  const ordered = [...all, ...[...blocks.keys()].filter((name) => !all.includes(name))].filter((name) => blocks.has(name));
  return `# Benchmarks

Written by \`npm run bench\` (scripts/bench.ts, one suite per module in scripts/bench/); last run ${date}. Each suite's
block says when it was measured; \`BENCH_ONLY=<suite>,… npm run bench\` refreshes only those.

**Machine:** ${description}. Servers ${PIN ? 'pinned to CPU 0 and the load generator to CPU 1 with `taskset`' : 'not pinned (no taskset or one CPU)'}.
**Method:** each figure is the median of ${RUNS} runs of ${DURATION_MS / 1000} s measured after a warm-up, with the servers' runs
interleaved. The machine drifts between slow and fast phases within minutes (and is shared with other work), so each
target compares pairs: run i of socklab against run i of the other server, taken next to each other, and the median
of those ratios is the figure, with every run's ratio listed. Load comes from \`socklab bench\` over loopback. The bare
servers are in scripts/bench-servers/; the Python ones are test/peers/seed_async_server.py and seed_udp_server.py.
${findings}
${ordered.map((name) => `${open(name)}\n${blocks.get(name)}\n${close(name)}`).join('\n\n')}
`;
}

await main();
