/**
 * Cold start of `socklab --help` against a bare `node -e 0`, and the load generator against a bare client (so
 * that `socklab bench` is known not to be the bottleneck). Run alone: node dist/scripts/bench/startup.js
 */
import { spawnSync } from 'node:child_process';
import type { BenchResult } from '../../src/bench/report.js';
import { BARE_TCP, CLI, DURATION_MS, ROOT, RUNS, bench, fmt, log, median, pinned, runStandalone, startServer, stopServer, summariseRuns, type SuiteResult } from './_harness.js';

/** Alternated so both see the same phase of a drifting machine; `ownMs` is the median of per-pair differences. */
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

export default async function run(): Promise<SuiteResult> {
  log('cold start');
  const { helpMs, nodeMs, ownMs } = coldStart();
  log('load generator against a bare client');
  const server = await startServer('bare node:net', process.execPath, [BARE_TCP, '{port}']);
  const ours: BenchResult[] = [];
  const bare: { perSec: number; cpuPercent: number }[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      ours.push(await bench(['tcp', '127.0.0.1', String(server.port), '-c', '100', '-d', String(DURATION_MS), '--warmup-ms', '1000']));
      const [cmd, argv] = pinned(1, process.execPath, [`${ROOT}scripts/bench-servers/bare-client.mjs`, String(server.port), '100', String(DURATION_MS)]);
      bare.push(JSON.parse(spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8' }).stdout) as { perSec: number; cpuPercent: number });
      log(`  client run ${run}: socklab bench ${Math.round(ours.at(-1)!.perSec)}/s, bare client ${Math.round(bare.at(-1)!.perSec)}/s`);
    }
  } finally {
    await stopServer(server);
  }
  const socklab = summariseRuns('socklab bench', ours);
  const bareRate = median(bare.map((b) => b.perSec));
  return {
    targets: [
      { target: '`socklab --help` cold start ≤ 120 ms', wanted: '120 ms', measured: `${helpMs.toFixed(0)} ms (bare node: ${nodeMs.toFixed(0)} ms; socklab's own share ${ownMs.toFixed(0)} ms)`, met: helpMs <= 120 },
      { target: "bench not the bottleneck: ≥ 0.9× a bare client's rate", wanted: '0.9×', measured: `${(socklab.perSec / bareRate).toFixed(2)}×`, met: socklab.perSec >= 0.9 * bareRate },
    ],
    markdown: `## Cold start and the load generator itself

- \`node bin/socklab.cjs --help\`: ${helpMs.toFixed(0)} ms median of 31, alternated with a bare \`node -e 0\`: ${nodeMs.toFixed(0)} ms; socklab's own share (median of the pairs' differences) ${ownMs.toFixed(0)} ms.
- \`socklab bench tcp -c 100\` against the bare server: ${fmt(socklab.perSec)} req/s using ${socklab.benchCpu}% of a core; a bare client with no histogram or progress (scripts/bench-servers/bare-client.mjs): ${fmt(bareRate)} req/s using ${median(bare.map((b) => b.cpuPercent))}% of a core.`,
  };
}

await runStandalone(import.meta.url, run);
