/**
 * What `import 'socklab'` costs a program: a fresh Node process that imports the package (by its name, through
 * package.json's exports, as an installed copy would) against one that imports only node:net, node:dgram and
 * node:tls, alternated in one run so both see the same phase of a shared machine. Also checks that none of the
 * heavy optional packages is loaded by the import. Run alone: node dist/scripts/bench/import.js
 */
import { spawnSync } from 'node:child_process';
import { ROOT, fmt, log, median, runStandalone, type SuiteResult } from './_harness.js';

const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 41);
const HEAVY = ['ioredis', 'prom-client', 'selfsigned', 'uplot', 'cli-progress', 'hdr-histogram-js'];
const BASE = "await import('node:net'); await import('node:dgram'); await import('node:tls');";
const SOCKLAB = "await import('socklab');";

/** Wall time of one fresh `node` that runs `code`, and the import's own time as the process measured it. */
function time(code: string): { wallMs: number; importMs: number } {
  const started = performance.now();
  const out = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `const t = performance.now(); ${code} process.stdout.write(String(performance.now() - t));`],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const wallMs = performance.now() - started;
  if (out.status !== 0) throw new Error(`node -e "${code}" failed: ${out.stderr}`);
  return { wallMs, importMs: Number(out.stdout) };
}

/** The packages under node_modules that `import 'socklab'` resolves (a resolve hook sees ESM imports; require.cache the CommonJS ones, such as a createRequire inside socklab). */
function loadedPackages(): string[] {
  const hook = "export async function resolve(s, c, n) { const r = await n(s, c); if (r.url.includes('/node_modules/')) console.log('LOADED ' + r.url); return r; }";
  const code = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)})); await import('socklab'); const { createRequire } = await import('node:module'); for (const k of Object.keys(createRequire(import.meta.url).cache)) console.log('LOADED ' + k);`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`listing loaded packages failed: ${out.stderr}`);
  const names = new Set<string>();
  for (const match of out.stdout.matchAll(/LOADED .*?\/node_modules\/((?:@[^/]+\/)?[^/]+)/g)) names.add(match[1]!);
  return [...names];
}

export default async function run(): Promise<SuiteResult> {
  log(`import cost: ${RUNS} alternated pairs`);
  time(SOCKLAB); // the first run reads the files from disk; both sides should start warm
  const base: { wallMs: number; importMs: number }[] = [];
  const ours: { wallMs: number; importMs: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    base.push(time(BASE));
    ours.push(time(SOCKLAB));
  }
  const extraMs = median(ours.map((o, i) => o.wallMs - base[i]!.wallMs));
  const baseWall = median(base.map((b) => b.wallMs));
  const oursWall = median(ours.map((o) => o.wallMs));
  const baseImport = median(base.map((b) => b.importMs));
  const oursImport = median(ours.map((o) => o.importMs));
  const loaded = loadedPackages();
  const heavy = loaded.filter((name) => HEAVY.includes(name));
  return {
    targets: [
      {
        target: "`import 'socklab'` costs ≤ 30 ms more than node:net + dgram + tls",
        wanted: '≤ 30 ms',
        measured: `${extraMs.toFixed(1)} ms more (process ${fmt(oursWall)} vs ${fmt(baseWall)} ms, ${(oursWall / baseWall).toFixed(2)}×)`,
        met: extraMs <= 30,
      },
      {
        target: `\`import 'socklab'\` loads none of ${HEAVY.join(', ')}`,
        wanted: 'none',
        measured: heavy.length === 0 ? `none (packages loaded: ${loaded.length === 0 ? 'none' : loaded.join(', ')})` : heavy.join(', '),
        met: heavy.length === 0,
      },
    ],
    markdown: `## Import cost

A fresh \`node\` importing \`socklab\` by name (package.json \`exports\`, as an installed copy resolves it) against one
importing only \`node:net\`, \`node:dgram\` and \`node:tls\`, alternated ${RUNS} times in one run. The extra cost is the
median of the pairs' differences in wall time (process start to exit).

| | process wall time (median) | the import itself, timed inside the process (median) |
| --- | --- | --- |
| node:net + dgram + tls | ${baseWall.toFixed(1)} ms | ${baseImport.toFixed(1)} ms |
| \`import 'socklab'\` | ${oursWall.toFixed(1)} ms | ${oursImport.toFixed(1)} ms |
| socklab's own share (median of differences) | ${extraMs.toFixed(1)} ms | |

Packages under node_modules loaded by the import: ${loaded.length === 0 ? 'none' : loaded.join(', ')}. ioredis (with a RedisState), prom-client (with
\`--metrics\`), selfsigned (a self-signed certificate), uplot (a dashboard page), cli-progress and hdr-histogram-js
(\`socklab bench\`) load when the feature that needs them is used.`,
  };
}

await runStandalone(import.meta.url, run);
