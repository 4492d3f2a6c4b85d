/**
 * The load generator itself (issue 20): `socklab bench tcp` against redis-server beside redis-benchmark, closed
 * loop, pipelined and at fixed rates; its own ceiling against the bare node:net server with 1 and 2 workers; and
 * `bench throughput` beside iperf3 on loopback. Runs are interleaved (ours, theirs, ours, …) and compared as
 * medians of paired ratios, because the machine is shared and its speed drifts.
 * Run alone: node dist/scripts/bench/loadgen.js
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuUs } from '../../src/bench/server-cpu.js';
import type { BenchResult } from '../../src/bench/report.js';
import { BARE_TCP, CLI, DURATION_MS, PIN, bench, benchResultOf, fmt, log, median, msOf, paired, pinned, runStandalone, startServer, stopServer, type SuiteResult, type Target } from './_harness.js';

const RUNS = Math.min(Number(process.env.BENCH_RUNS ?? 3), 5);
const SECONDS = DURATION_MS / 1000;
const CONNECTIONS = 50;

/** Runs a program to completion (pinned to CPU 1 like the bench), returning its stdout. */
async function runTool(command: string, args: string[]): Promise<string> {
  const [cmd, argv] = pinned(1, command, args);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return out;
}

/** redis-benchmark's CSV line for one test: requests/s and its p50/p99 in ms. */
function redisBenchmarkCsv(out: string): { perSec: number; p50Ms: number; p99Ms: number } {
  const line = out.trim().split('\n').find((l) => !l.startsWith('"test"'))!;
  const fields = line.split(',').map((f) => Number(f.replace(/"/g, '')));
  return { perSec: fields[1]!, p50Ms: fields[4]!, p99Ms: fields[6]! };
}

interface Pair {
  name: string;
  ours: BenchResult[];
  theirs: { perSec: number; p50Ms: number; p99Ms: number; serverUsPerOp: number }[];
}

async function redisSection(): Promise<{ rows: string[]; targets: Target[]; rateRows: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-redis-'));
  const server = await startServer('redis-server', 'redis-server', ['--port', '{port}', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  const port = String(server.port);
  const rows: string[] = [];
  const targets: Target[] = [];
  const rateRows: string[] = [];
  try {
    const pairs: Pair[] = [];
    for (const [name, pipeline] of [['closed loop, 1 in flight per connection', 1], ['pipelined, 16 in flight per connection', 16]] as const) {
      const pair: Pair = { name, ours: [], theirs: [] };
      for (let run = 1; run <= RUNS; run++) {
        pair.ours.push(await bench(['tcp', '127.0.0.1', port, '--reply-framing', 'resp', '--payload', 'PING', '-c', String(CONNECTIONS), '--inflight', String(pipeline), '-d', String(DURATION_MS), '--warmup-ms', '500']));
        // redis-benchmark runs a request count, not a time: as many as ours answered in the same time.
        const requests = Math.max(10_000, Math.round(pair.ours.at(-1)!.perSec * SECONDS));
        const before = processCpuUs(server.pid) ?? 0;
        const out = await runTool('redis-benchmark', ['-p', port, '-t', 'ping_mbulk', '-c', String(CONNECTIONS), '-P', String(pipeline), '-n', String(requests), '--csv']);
        const serverUs = (processCpuUs(server.pid) ?? 0) - before;
        pair.theirs.push({ ...redisBenchmarkCsv(out), serverUsPerOp: serverUs / requests });
        log(`  loadgen redis ${name} run ${run}: socklab ${fmt(pair.ours.at(-1)!.perSec)}/s, redis-benchmark ${fmt(pair.theirs.at(-1)!.perSec)}/s`);
      }
      pairs.push(pair);
    }
    for (const pair of pairs) {
      const ratio = paired(pair.ours.map((r) => r.perSec), pair.theirs.map((r) => r.perSec));
      const ours = (key: (r: BenchResult) => number): number => median(pair.ours.map(key));
      const theirs = (key: (r: Pair['theirs'][number]) => number): number => median(pair.theirs.map(key));
      rows.push(
        `| ${pair.name} | ${fmt(ours((r) => r.perSec))} | ${fmt(theirs((r) => r.perSec))} | **${ratio.toFixed(2)}** | ${msOf(ours((r) => r.latencyUs.p50))} / ${msOf(ours((r) => r.latencyUs.p99))} | ${theirs((r) => r.p50Ms).toFixed(2)} / ${theirs((r) => r.p99Ms).toFixed(2)} | ${ours((r) => r.serverCpu?.usPerOp ?? 0).toFixed(2)} | ${theirs((r) => r.serverUsPerOp).toFixed(2)} | ${ours((r) => r.generatorUsPerOp ?? 0).toFixed(2)} |`,
      );
      targets.push({ target: `redis PING, ${pair.name}: socklab bench ÷ redis-benchmark requests/s`, wanted: '≥ 0.5', measured: ratio.toFixed(2), met: ratio >= 0.5 });
    }
    // Open loop: fixed rates below and near the closed-loop ceiling, latency from the intended time.
    const ceiling = median(pairs[0]!.ours.map((r) => r.perSec));
    for (const fraction of [0.25, 0.5, 0.9]) {
      const rate = Math.max(1000, Math.round((ceiling * fraction) / 1000) * 1000);
      const result = await bench(['tcp', '127.0.0.1', port, '--reply-framing', 'resp', '--payload', 'PING', '-c', String(CONNECTIONS), '--rate', String(rate), '-d', String(DURATION_MS), '--warmup-ms', '500']);
      rateRows.push(
        `| ${fmt(rate)} (${Math.round(fraction * 100)}% of closed-loop) | ${fmt(result.perSec)} | ${msOf(result.latencyUs.p50)} / ${msOf(result.latencyUs.p99)} / ${msOf(result.latencyUs.p999)} | ${msOf(result.serviceTimeUs!.p50)} / ${msOf(result.serviceTimeUs!.p99)} / ${msOf(result.serviceTimeUs!.p999)} | ${msOf(result.sendLagUs!.p99)} | ${(result.serverCpu?.usPerOp ?? 0).toFixed(2)} | ${(result.generatorUsPerOp ?? 0).toFixed(2)} | ${result.failed ? 'failed' : 'ok'}${(result.warnings ?? []).length > 0 ? ` (${result.warnings!.map((w) => w.split(':')[0]).join(', ')})` : ''} |`,
      );
    }
  } finally {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, targets, rateRows };
}

/** The generator's own ceiling: the bare node:net server answers as fast as Node can, so the limit is ours. */
async function ceilingSection(): Promise<{ rows: string[]; target: Target }> {
  const server = await startServer('bare node:net', process.execPath, [BARE_TCP, '{port}']);
  const byWorkers = new Map<number, BenchResult[]>([[1, []], [2, []]]);
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const workers of [1, 2]) {
        // Two workers need two cores: not pinned, they share the machine with the server (pinned to CPU 0).
        const args = ['bench', 'tcp', '127.0.0.1', String(server.port), '--no-greeting', '-c', String(CONNECTIONS), '--workers', String(workers), '-d', String(DURATION_MS), '--warmup-ms', '500', '--json'];
        const result = workers === 1 ? await bench(args.slice(1, -1)) : benchResultOf(await runUnpinned(process.execPath, [CLI, ...args]));
        byWorkers.get(workers)!.push(result);
        log(`  loadgen ceiling ${workers} worker(s) run ${run}: ${fmt(result.perSec)}/s, bench CPU ${result.cpuPercent}%`);
      }
    }
  } finally {
    await stopServer(server);
  }
  const rows = [...byWorkers].map(([workers, results]) => {
    const m = (key: (r: BenchResult) => number): number => median(results.map(key));
    return `| ${workers} | ${fmt(m((r) => r.perSec))} | ${msOf(m((r) => r.latencyUs.p50))} / ${msOf(m((r) => r.latencyUs.p99))} | ${m((r) => r.cpuPercent).toFixed(0)} | ${m((r) => r.generatorUsPerOp ?? 0).toFixed(2)} | ${m((r) => r.serverCpu?.usPerOp ?? 0).toFixed(2)} |`;
  });
  const ratio = paired(byWorkers.get(2)!.map((r) => r.perSec), byWorkers.get(1)!.map((r) => r.perSec));
  return { rows, target: { target: 'generator ceiling vs bare node:net: 2 workers ÷ 1 worker requests/s', wanted: '> 1', measured: ratio.toFixed(2), met: ratio > 1 } };
}

async function runUnpinned(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return out;
}

/** Bulk transfer on loopback: socklab bench throughput into serve --mode discard, beside iperf3 into iperf3 -s. */
async function throughputSection(): Promise<{ rows: string[]; target: Target }> {
  const discard = await startServer('socklab serve --mode discard', process.execPath, [CLI, 'serve', '--mode', 'discard', '--port', '{port}']);
  const iperf = await startServer('iperf3 -s', 'iperf3', ['-s', '-p', '{port}', '-B', '127.0.0.1']);
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const result = benchResultOf(await runTool(process.execPath, [CLI, 'bench', 'throughput', '127.0.0.1', String(discard.port), '-P', '1', '-d', String(DURATION_MS), '--warmup-ms', '500', '--json'])) as unknown as { sentMBps: number };
      ours.push(result.sentMBps);
      const json = JSON.parse(await runTool('iperf3', ['-c', '127.0.0.1', '-p', String(iperf.port), '-t', String(Math.max(1, Math.round(SECONDS))), '-O', '1', '-J'])) as { end: { sum_received: { bits_per_second: number } } };
      theirs.push(json.end.sum_received.bits_per_second / 8 / 1e6);
      log(`  loadgen throughput run ${run}: socklab ${ours.at(-1)!.toFixed(0)} MB/s, iperf3 ${theirs.at(-1)!.toFixed(0)} MB/s`);
      await sleep(200);
    }
  } finally {
    await stopServer(discard);
    await stopServer(iperf);
  }
  const ratio = paired(ours, theirs);
  return {
    rows: [`| 1 stream, client → sink | ${fmt(median(ours))} | ${fmt(median(theirs))} | **${ratio.toFixed(2)}** |`],
    target: { target: 'bench throughput ÷ iperf3 MB/s, 1 stream on loopback', wanted: '≥ 0.3', measured: ratio.toFixed(2), met: ratio >= 0.3 },
  };
}

export default async function run(): Promise<SuiteResult> {
  for (const tool of ['redis-server', 'redis-benchmark', 'iperf3']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: apt-get install -y redis-server redis-tools iperf3`);
  }
  log('loadgen: bench tcp vs redis-benchmark, the generator ceiling, bench throughput vs iperf3');
  const redis = await redisSection();
  const ceiling = await ceilingSection();
  const throughput = await throughputSection();
  return {
    targets: [...redis.targets, ceiling.target, throughput.target],
    markdown: `## The load generator: socklab bench beside redis-benchmark and iperf3

${RUNS} interleaved runs of ${SECONDS} s each (after 0.5 s of warm-up), medians; ratios are medians of the runs'
paired ratios. Servers ${PIN ? 'pinned to CPU 0, generators to CPU 1 (except --workers 2, which needs both)' : 'not pinned (taskset missing or one CPU)'}. The
machine was shared with other builds while this ran, so absolute figures are noisy; the ratios and the CPU per
request are what to read. Server µs/request is redis-server's user+system CPU (from /proc) over the run divided by
the requests it answered; for socklab the window also covers the warm-up, for redis-benchmark the whole run.

### redis-server PING (RESP), ${CONNECTIONS} connections

| load | socklab bench/s | redis-benchmark/s | ratio | socklab p50 / p99 ms | redis-benchmark p50 / p99 ms | redis µs/req (socklab load) | redis µs/req (redis-benchmark load) | socklab CPU µs/req |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${redis.rows.join('\n')}

### redis-server PING at fixed rates (open loop, socklab only: redis-benchmark has no fixed-rate mode)

Latency from the intended send time (coordinated-omission corrected) beside the service time from the actual write.

| rate/s | answered/s | latency p50 / p99 / p99.9 ms | service time p50 / p99 / p99.9 ms | send lag p99 ms | redis µs/req | socklab CPU µs/req | verdict |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${redis.rateRows.join('\n')}

### The generator's own ceiling: bench tcp against the bare node:net server (scripts/bench-servers/bare-tcp.mjs)

| --workers | requests/s | p50 / p99 ms | bench CPU % | bench CPU µs/req | server CPU µs/req |
| ---: | ---: | ---: | ---: | ---: | ---: |
${ceiling.rows.join('\n')}

### Bulk transfer on loopback: bench throughput into serve --mode discard, beside iperf3 into iperf3 -s

| transfer | socklab MB/s | iperf3 MB/s | ratio |
| --- | ---: | ---: | ---: |
${throughput.rows.join('\n')}`,
  };
}

await runStandalone(import.meta.url, run);
