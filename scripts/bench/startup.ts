/**
 * Cold start of `socklab --help` against a bare `node -e 0`, and the load generator against a bare client (so
 * that `socklab bench` is known not to be the bottleneck). Run alone: node dist/scripts/bench/startup.js
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import type { BenchResult } from '../../src/bench/report.js';
import { BARE_TCP, CLI, DURATION_MS, ROOT, RUNS, bench, fmt, freePort, log, median, pinned, runStandalone, startServer, stopServer, summariseRuns, type SuiteResult } from './_harness.js';

/** A listener to time: its command line for a port, and the line it prints once it listens. */
interface Listener {
  name: string;
  argv: (port: number) => [string, string[]];
  ready: RegExp;
}

const LISTENERS: Listener[] = [
  { name: 'socklab serve', argv: (port) => [process.execPath, [CLI, 'serve', '--port', String(port), '--quiet']], ready: /listening on/ },
  { name: 'socklab nc -l -k', argv: (port) => [process.execPath, [CLI, 'nc', '-l', '-k', '--test', '127.0.0.1', String(port)]], ready: /NCAT TEST: LISTEN/ },
  { name: 'ncat -l -k', argv: (port) => ['ncat', ['-l', '-k', '--test', '127.0.0.1', String(port)]], ready: /NCAT TEST: LISTEN/ },
  { name: 'bare node:net listen', argv: (port) => [process.execPath, ['-e', `require('net').createServer().listen(${port},'127.0.0.1',()=>console.log('listening on'))`]], ready: /listening on/ },
];

const connects = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** Spawn to its listening line, and spawn to the first connect it accepts (tried every 5 ms from the spawn on). */
async function timeListener(listener: Listener): Promise<{ lineMs: number; acceptMs: number }> {
  const port = await freePort('tcp');
  const [command, args] = listener.argv(port);
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let text = '';
  let lineMs = NaN;
  const onData = (chunk: Buffer): void => {
    text += chunk.toString();
    if (Number.isNaN(lineMs) && listener.ready.test(text)) lineMs = performance.now() - started;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let acceptMs = NaN;
  while (Number.isNaN(acceptMs) && performance.now() - started < 5000) {
    if (await connects(port)) acceptMs = performance.now() - started;
    else await new Promise((resolve) => setTimeout(resolve, 5));
  }
  while (Number.isNaN(lineMs) && performance.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 5));
  child.kill('SIGKILL');
  await exited;
  if (Number.isNaN(lineMs) || Number.isNaN(acceptMs)) throw new Error(`${listener.name} never listened: ${text}`);
  return { lineMs, acceptMs };
}

/** Every listener once per round, 15 rounds, so all see the same phase of a shared machine; medians. */
async function listenerStartup(rounds = 15): Promise<{ name: string; lineMs: number; acceptMs: number }[]> {
  const times = LISTENERS.map(() => ({ line: [] as number[], accept: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, listener] of LISTENERS.entries()) {
      const { lineMs, acceptMs } = await timeListener(listener);
      times[i]!.line.push(lineMs);
      times[i]!.accept.push(acceptMs);
    }
  }
  return LISTENERS.map((listener, i) => ({ name: listener.name, lineMs: median(times[i]!.line), acceptMs: median(times[i]!.accept) }));
}

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
  log('listeners: spawn to listening, spawn to the first accepted connect');
  const listeners = await listenerStartup();
  const ms = (name: string): { name: string; lineMs: number; acceptMs: number } => listeners.find((l) => l.name === name)!;
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
      ...['socklab serve', 'socklab nc -l -k'].map((name) => ({
        target: `\`${name}\` accepts connections ≤ 150 ms after spawn`,
        wanted: '150 ms',
        measured: `${ms(name).acceptMs.toFixed(0)} ms (ncat ${ms('ncat -l -k').acceptMs.toFixed(0)} ms, bare node ${ms('bare node:net listen').acceptMs.toFixed(0)} ms)`,
        met: ms(name).acceptMs <= 150,
      })),
      { target: "bench not the bottleneck: ≥ 0.9× a bare client's rate", wanted: '0.9×', measured: `${(socklab.perSec / bareRate).toFixed(2)}×`, met: socklab.perSec >= 0.9 * bareRate },
    ],
    markdown: `## Cold start and the load generator itself

- \`node bin/socklab.cjs --help\`: ${helpMs.toFixed(0)} ms median of 31, alternated with a bare \`node -e 0\`: ${nodeMs.toFixed(0)} ms; socklab's own share (median of the pairs' differences) ${ownMs.toFixed(0)} ms.
- Listeners, spawned in turn 15 times (medians): spawn to the listening line, and spawn to the first connect accepted (tried every 5 ms from the spawn on).

| listener | listening line | first accepted connect |
| --- | ---: | ---: |
${listeners.map((l) => `| ${l.name} | ${l.lineMs.toFixed(0)} ms | ${l.acceptMs.toFixed(0)} ms |`).join('\n')}

- \`socklab bench tcp -c 100\` against the bare server: ${fmt(socklab.perSec)} req/s using ${socklab.benchCpu}% of a core; a bare client with no histogram or progress (scripts/bench-servers/bare-client.mjs): ${fmt(bareRate)} req/s using ${median(bare.map((b) => b.cpuPercent))}% of a core.`,
  };
}

await runStandalone(import.meta.url, run);
