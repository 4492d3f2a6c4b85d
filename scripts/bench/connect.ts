/**
 * Connection rate: loops that each connect, read the greeting, send one request, read the reply and close, at 10
 * and 100 in flight; `socklab serve --quiet` (greeting after the first read, and --greet-at-accept) against a bare
 * node:net server, runs interleaved. Run alone: node dist/scripts/bench/connect.js
 */
import type { BenchResult } from '../../src/bench/report.js';
import {
  BARE_TCP,
  CLI,
  DURATION_MS,
  RUNS,
  bench,
  fmt,
  log,
  msOf,
  ratioTarget,
  runStandalone,
  startServer,
  stopServer,
  summariseRuns,
  type Row,
  type SuiteResult,
  type Target,
} from './_harness.js';

const SPECS: [string, string[]][] = [
  ['socklab serve --quiet', [CLI, 'serve', '--port', '{port}', '--quiet']],
  ['socklab serve --quiet --greet-at-accept', [CLI, 'serve', '--port', '{port}', '--quiet', '--greet-at-accept']],
  ['bare node:net', [BARE_TCP, '{port}']],
];

async function connectRate(inFlight: number): Promise<Row[]> {
  const servers = await Promise.all(SPECS.map(([name, args]) => startServer(name, process.execPath, args)));
  const results = servers.map((): BenchResult[] => []);
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const [index, server] of servers.entries()) {
        const result = await bench(['connect', '127.0.0.1', String(server.port), '-c', String(inFlight), '-d', String(DURATION_MS), '--warmup-ms', '500']);
        results[index]!.push(result);
        log(`  connect ×${inFlight} run ${run} ${server.name}: ${Math.round(result.perSec)}/s p99 ${result.latencyUs.p99} µs`);
      }
    }
  } finally {
    await Promise.all(servers.map(stopServer));
  }
  return servers.map((s, i) => summariseRuns(s.name, results[i]!));
}

function table(rows: Row[]): string {
  return [
    '| server | connections/s | p50 ms | p99 ms | errors |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.perSec)} | ${msOf(r.p50Us)} | ${msOf(r.p99Us)} | ${r.errors} |`),
  ].join('\n');
}

export default async function run(): Promise<SuiteResult> {
  const targets: Target[] = [];
  const sections: string[] = [];
  for (const inFlight of [10, 100]) {
    log(`connection rate, ${inFlight} in flight`);
    const [ours, atAccept, bare] = (await connectRate(inFlight)) as [Row, Row, Row];
    targets.push(
      ratioTarget(`connection rate, ${inFlight} in flight (greeting after the first read) ≥ 0.95× bare node:net`, ours.runs, bare.runs, 0.95),
      ratioTarget(`connection rate, ${inFlight} in flight, --greet-at-accept ≥ 0.95× bare node:net`, atAccept.runs, bare.runs, 0.95),
      ratioTarget(`connection cycle p99, ${inFlight} in flight ≤ 1.1× bare node:net`, ours.p99Runs, bare.p99Runs, 1.1, true),
    );
    sections.push(`## Connection rate, ${inFlight} in flight (each: connect, greeting, request, reply, close)\n\n${table([ours, atAccept, bare])}`);
  }
  return { targets, markdown: sections.join('\n\n') };
}

await runStandalone(import.meta.url, run);
