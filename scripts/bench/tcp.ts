/**
 * TCP request/response at 100 and 1,000 connections: `socklab serve` (quiet, and logging every message to a file
 * and to a pipe) against a bare node:net server and a seed-like Python server, runs interleaved.
 * Run alone: node dist/scripts/bench/tcp.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '../../src/bench/report.js';
import {
  BARE_TCP,
  CLI,
  DURATION_MS,
  ROOT,
  RUNS,
  bench,
  log,
  rateTable,
  ratioTarget,
  runStandalone,
  startServer,
  stopServer,
  summariseRuns,
  type Output,
  type Row,
  type SuiteResult,
  type Target,
} from './_harness.js';

interface Spec {
  name: string;
  command: string;
  args: string[];
  benchArgs: string[];
  output?: Output;
}

function specs(logFile: string): Spec[] {
  const serve = [CLI, 'serve', '--port', '{port}', '--max-connections', '20000'];
  return [
    { name: 'socklab serve --quiet', command: process.execPath, args: [...serve, '--quiet'], benchArgs: [] },
    { name: 'socklab serve (log to a file)', command: process.execPath, args: serve, benchArgs: [], output: { file: logFile } },
    { name: 'socklab serve (log to a pipe)', command: process.execPath, args: serve, benchArgs: [], output: 'pipe' },
    { name: 'bare node:net', command: process.execPath, args: [BARE_TCP, '{port}'], benchArgs: [] },
    {
      name: 'Python, seed-like (log to /dev/null)',
      command: 'python3',
      args: [`${ROOT}test/peers/seed_async_server.py`, '{port}'],
      benchArgs: ['--no-greeting', '--reply-framing', 'read'],
    },
  ];
}

/** Request/response at `connections`, every server, RUNS interleaved rounds. */
async function requestResponse(connections: number, list: Spec[]): Promise<Row[]> {
  const servers = await Promise.all(list.map((s) => startServer(s.name, s.command, s.args, { output: s.output ?? 'null' })));
  const results = servers.map((): BenchResult[] => []);
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const [index, server] of servers.entries()) {
        const args = ['tcp', '127.0.0.1', String(server.port), '-c', String(connections), '-d', String(DURATION_MS), '--warmup-ms', '1000'];
        const result = await bench([...args, ...list[index]!.benchArgs]);
        results[index]!.push(result);
        log(`  tcp c=${connections} run ${run} ${server.name}: ${Math.round(result.perSec)}/s p99 ${result.latencyUs.p99} µs`);
      }
    }
  } finally {
    await Promise.all(servers.map(stopServer));
  }
  return servers.map((s, i) => summariseRuns(s.name, results[i]!));
}

function targetsFor(label: string, rows: Row[]): Target[] {
  const [quiet, file, pipe, bare, python] = rows as [Row, Row, Row, Row, Row];
  return [
    ratioTarget(`TCP r/r ${label} conns: socklab --quiet ≥ 1.0× bare node:net`, quiet.runs, bare.runs, 1.0),
    ratioTarget(`TCP r/r ${label} conns: p99 ≤ 1.1× bare node:net`, quiet.p99Runs, bare.p99Runs, 1.1, true),
    ratioTarget(`TCP r/r ${label} conns: socklab ≥ 2.5× seed-like Python`, quiet.runs, python.runs, 2.5),
    ratioTarget(`TCP r/r ${label} conns: logging to a file ≥ 0.9× --quiet`, file.runs, quiet.runs, 0.9),
    ratioTarget(`TCP r/r ${label} conns: logging to a pipe ≥ 0.9× --quiet`, pipe.runs, quiet.runs, 0.9),
  ];
}

export default async function run(): Promise<SuiteResult> {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-'));
  try {
    const list = specs(join(dir, 'serve.log'));
    log('TCP request/response, 100 connections');
    const rr100 = await requestResponse(100, list);
    log('TCP request/response, 1,000 connections');
    const rr1000 = await requestResponse(1000, list);
    const markdown = `## TCP request/response, 100 connections (closed loop, one request in flight per connection)

${rateTable(rr100)}

## TCP request/response, 1,000 connections

${rateTable(rr1000)}

Logging: "log to a file" writes every connect, message and close line to a file on disk; "log to a pipe" sends them
through a pipe that the bench process reads and discards (like \`socklab serve | grep …\`). Lines are gathered per
event-loop turn and written once (src/cli/log-writer.ts).`;
    return { targets: [...targetsFor('100', rr100), ...targetsFor('1,000', rr1000)], markdown };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await runStandalone(import.meta.url, run);
