/**
 * The UDP counter at 20,000 gets/s with up to 10,000 awaiting their 500 ms reply: `socklab udp-serve --quiet`,
 * a bare node:dgram server and a seed-like Python server, one after the other (they share the kernel's buffers).
 * Run alone: node dist/scripts/bench/udp.js
 */
import { readFileSync } from 'node:fs';
import type { BenchResult } from '../../src/bench/report.js';
import { CLI, DURATION_MS, ROOT, RUNS, bench, fmt, log, msOf, runStandalone, startServer, stopServer, summariseRuns, type Row, type SuiteResult } from './_harness.js';

function rcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/);
  return Number(lines[1]!.split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

const SPECS: [string, string, string[]][] = [
  ['socklab udp-serve --quiet', process.execPath, [CLI, 'udp-serve', '--port', '{port}', '--quiet']],
  ['bare node:dgram', process.execPath, [`${ROOT}scripts/bench-servers/bare-udp.mjs`, '{port}']],
  ['Python, seed-like (log to /dev/null)', 'python3', [`${ROOT}test/peers/seed_udp_server.py`, '{port}', '0.5']],
];

export default async function run(): Promise<SuiteResult> {
  log('UDP counter, 20,000 gets/s, 10,000 outstanding');
  const rows: (Row & { rcvbufErrors: number })[] = [];
  const runs = Math.min(RUNS, 3);
  for (const [name, cmd, args] of SPECS) {
    const server = await startServer(name, cmd, args, { kind: 'udp' });
    const results: BenchResult[] = [];
    const dropsBefore = rcvbufErrors();
    try {
      for (let run = 1; run <= runs; run++) {
        const result = await bench(['udp', '127.0.0.1', String(server.port), '--rate', '20000', '--outstanding', '10000', '--timeout-ms', '1000', '-d', String(DURATION_MS + 2000), '--warmup-ms', '1000']);
        results.push(result);
        log(`  udp run ${run} ${name}: lost ${result.lost} p99 ${result.latencyUs.p99} µs`);
      }
    } finally {
      await stopServer(server);
    }
    rows.push({ ...summariseRuns(name, results), rcvbufErrors: rcvbufErrors() - dropsBefore });
  }
  const ours = rows[0]!;
  return {
    targets: [
      { target: 'UDP 20,000 gets/s, 10,000 outstanding: zero lost', wanted: '0', measured: `${ours.lost}`, met: ours.lost === 0 },
      { target: 'UDP: p99 ≤ 510 ms (500 ms delay)', wanted: '510 ms', measured: `${msOf(ours.p99Us)} ms`, met: ours.p99Us <= 510_000 },
    ],
    markdown: `## UDP counter: 20,000 gets/s, up to 10,000 awaiting their 500 ms reply, 1 s reply timeout

${runs} runs of ${(DURATION_MS + 2000) / 1000} s per server.

| server | replies/s | p50 ms | p99 ms | lost (all runs) | kernel RcvbufErrors |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows.map((r) => `| ${r.name} | ${fmt(r.perSec)} | ${msOf(r.p50Us)} | ${msOf(r.p99Us)} | ${fmt(r.lost)} | ${fmt(r.rcvbufErrors)} |`).join('\n')}`,
  };
}

await runStandalone(import.meta.url, run);
