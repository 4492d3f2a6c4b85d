/**
 * What the dashboard costs: request/response throughput of `socklab serve` with `--dashboard` on and a page's
 * event stream connected (updating every 500 ms, with every connection listed and its last message kept), against
 * the same server without it. Each pair runs both at the same time (servers on one core, load on the other), so
 * load from elsewhere falls on both alike; the result is the median of the pair ratios. Target: >= 0.95.
 *
 * Run on its own: npm run build && node dist/scripts/bench/dashboard.js   (DASHBOARD_BENCH_RUNS, default 7)
 */
import { get } from 'node:http';
import type { BenchResult } from '../../src/bench/report.js';
import { bench, cpuUsOf, log, median, paired, pairRatios, PIN, runStandalone, startSocklab, type SuiteResult } from './_harness.js';

const RUNS = Number(process.env.DASHBOARD_BENCH_RUNS ?? 7);
const DURATION_MS = Number(process.env.DASHBOARD_BENCH_DURATION_MS ?? 2000);
const CONNECTIONS = 50;

/** One closed-loop run from CPU 1; a run with errors or losses (for which `socklab bench` exits 1) fails the suite. */
async function runBench(port: number): Promise<BenchResult> {
  const result = await bench(['tcp', '127.0.0.1', String(port), '-c', String(CONNECTIONS), '--duration-ms', String(DURATION_MS), '--warmup-ms', '500']);
  if (result.errors > 0 || result.lost > 0) throw new Error(`bench on port ${port}: ${result.errors} errors, ${result.lost} lost`);
  return result;
}

const cpuMs = (pid: number): number => cpuUsOf(pid) / 1000;

export default async function run(): Promise<SuiteResult> {
  // On CPU 0; the port, and the dashboard's URL, as each prints them.
  const serve = ['serve', '--port', '0', '--quiet'];
  const plain = await startSocklab(serve, { cpu: 0 });
  const watched = await startSocklab([...serve, '--dashboard', '0'], { cpu: 0, until: /listening on \S+:(\d+)[\s\S]*dashboard on (\S+)/ });
  const url = watched.match[2]!;
  // A page's worth of watching: the event stream stays open and every update is read.
  let updates = 0;
  let bytes = 0;
  const stream = get(`${url}events`, (res) => {
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      for (let at = chunk.indexOf('\n\n'); at !== -1; at = chunk.indexOf('\n\n', at + 2)) updates++;
    });
  });
  stream.on('error', () => {});
  const rates = { plain: [] as number[], watched: [] as number[] };
  // Server CPU per request is far less sensitive than throughput to other load on a shared machine.
  const cpuUsPerRequest = { plain: [] as number[], watched: [] as number[] };
  try {
    for (let i = 0; i < RUNS; i++) {
      // Both at once, servers sharing CPU 0 and load generators CPU 1: whatever else runs on the machine hits
      // both sides of a pair at the same moment, and two CPU-bound servers on one core get equal time, so
      // the throughput ratio is the inverse of their cost per request.
      const servers = { plain, watched };
      const before = { plain: cpuMs(plain.child.pid!), watched: cpuMs(watched.child.pid!) };
      const [a, b] = await Promise.all([runBench(plain.port), runBench(watched.port)]);
      for (const [name, result] of [['plain', a], ['watched', b]] as const) {
        rates[name].push(result.perSec);
        // Includes the warm-up, whose requests are not counted: the same bias on both sides.
        cpuUsPerRequest[name].push(((cpuMs(servers[name].child.pid!) - before[name]) * 1000) / (result.perSec * ((DURATION_MS + 500) / 1000)));
      }
      log(`dashboard bench ${i + 1}/${RUNS}: plain ${Math.round(a.perSec)}/s, watched ${Math.round(b.perSec)}/s`);
    }
  } finally {
    stream.destroy();
    plain.child.kill('SIGTERM');
    watched.child.kill('SIGTERM');
  }
  const pairs = pairRatios(rates.watched, rates.plain);
  // The median of the pair ratios: an unlucky pair does not move it.
  const ratio = paired(rates.watched, rates.plain);
  const cpuRatio = median(cpuUsPerRequest.watched) / median(cpuUsPerRequest.plain);
  const markdown = [
    '## Dashboard cost',
    '',
    `\`socklab serve\` with \`--dashboard\` and a connected event stream (a page's updates every 500 ms: ${updates} received, ${Math.round(bytes / 1024)} KiB, each listing all ${CONNECTIONS} connections with their last message) against the same server without it. Closed-loop request/response, ${CONNECTIONS} connections, ${DURATION_MS / 1000} s per run, ${RUNS} pairs, the two halves of a pair run at the same time${PIN ? ' (both servers sharing CPU 0, both load generators on CPU 1, so the servers get equal CPU time and the ratio of their throughputs is the inverse of their cost per request)' : ''}.`,
    '',
    '| server | median requests/s | server CPU per request | runs (requests/s) |',
    '| --- | ---: | ---: | --- |',
    `| serve | ${Math.round(median(rates.plain))} | ${median(cpuUsPerRequest.plain).toFixed(2)} µs | ${rates.plain.map(Math.round).join(', ')} |`,
    `| serve --dashboard (page open) | ${Math.round(median(rates.watched))} | ${median(cpuUsPerRequest.watched).toFixed(2)} µs | ${rates.watched.map(Math.round).join(', ')} |`,
    '',
    `Median of the pair ratios (with / without): **${ratio.toFixed(3)}** (pair by pair: ${pairs.map((r) => r.toFixed(2)).join(', ')}; ratio of medians ${(median(rates.watched) / median(rates.plain)).toFixed(3)}). Server CPU per request with / without: ${cpuRatio.toFixed(3)} (a cost of ${((cpuRatio - 1) * 100).toFixed(1)}%).`,
    '',
  ].join('\n');
  return {
    targets: [
      { target: 'r/r throughput with the dashboard open', wanted: '>= 0.95x without', measured: `${ratio.toFixed(3)}x`, met: ratio >= 0.95 },
      { target: 'server CPU per request with the dashboard open', wanted: '<= 1.05x without', measured: `${cpuRatio.toFixed(3)}x`, met: cpuRatio <= 1.05 },
    ],
    markdown,
  };
}

await runStandalone(import.meta.url, run);
