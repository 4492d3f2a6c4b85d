/**
 * Scaling out: chat fan-out (100 clients, one sending at a fixed rate) in one process, across --workers 2 and
 * across 2 instances over Redis; and udp-serve gets/s with --redis and --state against the in-memory counter.
 * Configurations are interleaved run by run (a shared machine drifts) and reported as medians, with ratios to the
 * in-process reference measured in the same runs.
 *
 * Run: node dist/scripts/bench/chat.js   (BENCH_CHAT_RUNS=3, BENCH_CHAT_DURATION_MS=3000; about 2 minutes)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLatencyHistogram, summarise } from '../../src/bench/report.js';
import { runUdpBench } from '../../src/bench/udp.js';
import { freePort, log, median, runStandalone, startSocklab, type SuiteResult } from './_harness.js';

const RUNS = Number(process.env['BENCH_CHAT_RUNS'] ?? 3);
const DURATION_MS = Number(process.env['BENCH_CHAT_DURATION_MS'] ?? 3000);
const CLIENTS = 100;
const SEND_RATE = 200;

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A redis-server for the run: loopback, a free port, a temp dir, no persistence. */
async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort('tcp');
  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (text: string) => {
      out += text;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', () => reject(new Error('redis-server exited (is it installed? apt-get install -y redis-server)')));
  });
  return {
    url: `redis://127.0.0.1:${port}/0`,
    stop: async () => {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface FanOut {
  deliveriesPerSec: number;
  p99Ms: number;
  p50Ms: number;
  expected: number;
  delivered: number;
}

/** 100 chat clients over `ports` (round robin); client 0 sends SEND_RATE lines/s stamped with the send time. */
async function chatFanOut(ports: number[]): Promise<FanOut> {
  const histogram = createLatencyHistogram();
  const sockets: Socket[] = [];
  let delivered = 0;
  let measuring = false;
  for (let i = 0; i < CLIENTS; i++) {
    const socket = connect({ port: ports[i % ports.length]!, host: '127.0.0.1' });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      pending += text;
      let end: number;
      while ((end = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        const stamp = / t(\d+\.\d+)$/.exec(line);
        if (stamp && measuring) {
          delivered++;
          histogram.recordValue(Math.max(1, Math.round((performance.now() - Number(stamp[1])) * 1000)));
        }
      }
    });
    sockets.push(socket);
  }
  // Joins on other instances travel too: let them settle before measuring.
  await sleep(500);
  const sender = sockets[0]!;
  measuring = true;
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < DURATION_MS) {
    const due = Math.floor(((performance.now() - started) * SEND_RATE) / 1000);
    for (; sent < due; sent++) sender.write(`m${sent} t${performance.now().toFixed(3)}\n`);
    await sleep(1);
  }
  const elapsedS = (performance.now() - started) / 1000;
  // The last lines are still on their way: wait for them, but rate over the sending time only.
  await sleep(300);
  measuring = false;
  for (const socket of sockets) socket.destroy();
  const latency = summarise(histogram);
  return { deliveriesPerSec: delivered / elapsedS, p99Ms: latency.p99 / 1000, p50Ms: latency.p50 / 1000, expected: sent * (CLIENTS - 1), delivered };
}

interface UdpRun {
  perSec: number;
  lost: number;
  p99Ms: number;
}

async function udpRate(port: number): Promise<UdpRun> {
  const load = { host: '127.0.0.1', port, sockets: 4, ratePerSec: 20_000, maxOutstanding: 12_000, timeoutMs: 2000, warmupMs: 0, payload: 'get' };
  // Warm-up as a run of its own: inside the measured run its replies would land in the window and read above
  // the offered rate. Measured with no warm-up, every reply counted answers a request sent in the window.
  await runUdpBench({ ...load, durationMs: 1000 });
  const result = await runUdpBench({ ...load, durationMs: DURATION_MS });
  return { perSec: result.perSec, lost: result.lost, p99Ms: result.latencyUs.p99 / 1000 };
}

const fmt = (value: number, digits = 0): string => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export default async function run(): Promise<SuiteResult> {
  const redis = await startRedis();
  const stateDir = mkdtempSync(join(tmpdir(), 'socklab-bench-state-'));
  const chat: Record<string, FanOut[]> = { 'one process': [], '--workers 2': [], '2 instances on Redis': [] };
  const udp: Record<string, UdpRun[]> = { 'in-memory': [], '--state': [], '--redis': [], '--workers 2': [] };
  try {
    for (let runIndex = 0; runIndex < RUNS; runIndex++) {
      log(`chat/udp bench run ${runIndex + 1}/${RUNS}`);
      const chatArgs = ['serve', '--mode', 'chat', '--port', '0', '--quiet', '--max-connections', '1000'];
      for (const name of Object.keys(chat)) {
        const servers =
          name === 'one process'
            ? [await startSocklab(chatArgs)]
            : name === '--workers 2'
              ? [await startSocklab([...chatArgs, '--workers', '2'])]
              : [await startSocklab([...chatArgs, '--redis', redis.url]), await startSocklab([...chatArgs, '--redis', redis.url])];
        try {
          const result = await chatFanOut(servers.map((server) => server.port));
          log(`  chat ${name}: ${fmt(result.deliveriesPerSec)}/s, p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms`);
          chat[name]!.push(result);
        } finally {
          for (const server of servers) await stop(server.child);
        }
      }
      const udpArgs = ['udp-serve', '--port', '0', '--quiet', '--rate-limit', 'inf'];
      for (const name of Object.keys(udp)) {
        const extra = {
          'in-memory': [],
          '--state': ['--state', join(stateDir, `counter-${runIndex}`)],
          '--redis': ['--redis', redis.url],
          '--workers 2': ['--workers', '2'],
        }[name]!;
        const server = await startSocklab([...udpArgs, ...extra]);
        try {
          udp[name]!.push(await udpRate(server.port));
        } finally {
          await stop(server.child);
        }
      }
    }
  } finally {
    await redis.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }

  const chatBase = median(chat['one process']!.map((r) => r.deliveriesPerSec));
  const udpBase = median(udp['in-memory']!.map((r) => r.perSec));
  const lines = [
    '## Scaling out: chat fan-out and the shared counter',
    '',
    `Chat: ${CLIENTS} clients, one sending ${SEND_RATE} lines/s (so ${fmt(SEND_RATE * (CLIENTS - 1))} deliveries/s are due), ${DURATION_MS} ms per run,`,
    `clients spread round robin over the instances. Medians of ${RUNS} interleaved runs; ratio to one process in the same runs.`,
    'Latency is from the sender\'s write to each reader\'s line, all on one machine (load generator included), so',
    'p99 mostly shows how busy the shared machine was; the rate shows whether every delivery due was made.',
    '',
    '| chat server | deliveries/s | ratio | p50 latency | p99 latency | p99 per run | delivered of due |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(chat).map(([name, runs]) => {
      const rate = median(runs.map((r) => r.deliveriesPerSec));
      const share = median(runs.map((r) => r.delivered / Math.max(1, r.expected)));
      const p99s = runs.map((r) => fmt(r.p99Ms, 1)).join(', ');
      return `| ${name} | ${fmt(rate)} | ${fmt(rate / chatBase, 2)} | ${fmt(median(runs.map((r) => r.p50Ms)), 2)} ms | ${fmt(median(runs.map((r) => r.p99Ms)), 2)} ms | ${p99s} | ${fmt(share * 100, 1)}% |`;
    }),
    '',
    'Counter: udp-serve with the default 500 ms delay, 20,000 gets/s offered from 4 sockets (so about 10,000 replies',
    'waiting at any time), 2 s reply timeout.',
    '',
    '| counter | gets/s | ratio | lost | p99 latency |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...Object.entries(udp).map(([name, runs]) => {
      const rate = median(runs.map((r) => r.perSec));
      return `| ${name} | ${fmt(rate)} | ${fmt(rate / udpBase, 2)} | ${fmt(Math.max(...runs.map((r) => r.lost)))} | ${fmt(median(runs.map((r) => r.p99Ms)), 1)} ms |`;
    }),
    '',
  ];
  // The three: in memory, --state, --redis (--workers 2 is shown, not a target).
  const targets = Object.entries(udp).filter(([name]) => name !== '--workers 2').map(([name, runs]) => {
    const rate = median(runs.map((r) => r.perSec));
    const lost = Math.max(...runs.map((r) => r.lost));
    return {
      target: `udp-serve ${name}: 20,000 gets/s with 10,000 outstanding, 0 lost`,
      wanted: '≥ 19,800/s, 0 lost',
      measured: `${fmt(rate)}/s, ${fmt(lost)} lost`,
      met: rate >= 19_800 && lost === 0,
    };
  });
  return { targets, markdown: lines.join('\n') };
}

await runStandalone(import.meta.url, run);
