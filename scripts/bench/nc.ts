/**
 * `socklab nc` against Debian's ncat, in the same run: 1 GiB over loopback (sender and receiver both the netcat
 * under test, the receiver's stdout to /dev/null, the sender fed by `head -c` from /dev/zero), pairs alternated so
 * both see the same phase of a shared machine; and the start-up time from spawn to listening (`--test`'s
 * `NCAT TEST: LISTEN` line, which both print). CPU is the two netcat processes' user+system time from
 * getrusage (the `head` feeding the sender is not counted). Run alone: node dist/scripts/bench/nc.js
 */
import { spawn, spawnSync } from 'node:child_process';
import { CLI, freePort, log, median, pinned, runStandalone, type SuiteResult } from './_harness.js';

const BYTES = 1024 ** 3;
const PAIRS = Number(process.env.BENCH_NC_PAIRS ?? 3);
type Netcat = 'ncat' | 'socklab';

function argv(which: Netcat, args: string[]): [string, string[]] {
  return which === 'ncat' ? ['ncat', args] : [process.execPath, [CLI, 'nc', ...args]];
}

/** Spawns a netcat and resolves once it has printed `NCAT TEST: LISTEN`, with the time that took. */
function listen(which: Netcat, port: number, cpu: number): Promise<{ ms: number; stop: () => Promise<void> }> {
  const [command, args] = argv(which, ['--test', '-l', '127.0.0.1', String(port)]);
  const [cmd, full] = pinned(cpu, command, args);
  const started = performance.now();
  // stdin stays open (a pipe we never end): the receiver exits at the sender's FIN, as it would in use.
  const child = spawn(cmd, full, { stdio: ['pipe', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('NCAT TEST: LISTEN')) resolve({ ms: performance.now() - started, stop: () => (child.kill('SIGKILL'), exited) });
    });
    child.once('exit', (code) => reject(new Error(`${which} -l exited (${code}) before listening: ${text}`)));
  });
}

/** One 1 GiB transfer; wall seconds and the CPU seconds of both netcats (from `time` of each). */
async function transfer(which: Netcat): Promise<{ seconds: number; cpuSeconds: number }> {
  const port = await freePort('tcp');
  const [command, args] = argv(which, ['-l', '127.0.0.1', String(port)]);
  const receiverCmd = pinned(0, '/usr/bin/time', ['-f', '%U %S', command, ...args]);
  const receiver = spawn(receiverCmd[0], receiverCmd[1], { stdio: ['pipe', 'ignore', 'pipe'] });
  let receiverTimes = '';
  receiver.stderr.setEncoding('utf8').on('data', (text: string) => (receiverTimes += text));
  const receiverDone = new Promise<void>((resolve) => receiver.once('exit', () => resolve()));
  // Wait until it listens (/proc/net/tcp), without connecting to the one-shot listener.
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`;
  while (!spawnSync('cat', ['/proc/net/tcp'], { encoding: 'utf8' }).stdout.includes(hex)) await new Promise((resolve) => setTimeout(resolve, 10));
  const [sendCommand, sendArgs] = argv(which, ['127.0.0.1', String(port)]);
  const quoted = [sendCommand, ...sendArgs].map((word) => `'${word}'`).join(' ');
  const started = performance.now();
  const [shell, shellArgs] = pinned(1, 'sh', ['-c', `head -c ${BYTES} /dev/zero | /usr/bin/time -f '%U %S' ${quoted}`]);
  const sender = spawnSync(shell, shellArgs, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  await receiverDone;
  const seconds = (performance.now() - started) / 1000;
  const cpu = (text: string): number => {
    const [user = 0, system = 0] = text.trim().split('\n').at(-1)!.split(' ').map(Number);
    return user + system;
  };
  return { seconds, cpuSeconds: cpu(sender.stderr) + cpu(receiverTimes) };
}

export default async function run(): Promise<SuiteResult> {
  const results: Record<Netcat, { seconds: number; cpuSeconds: number }[]> = { ncat: [], socklab: [] };
  for (let pair = 1; pair <= PAIRS; pair++) {
    for (const which of (pair % 2 === 1 ? ['ncat', 'socklab'] : ['socklab', 'ncat']) as Netcat[]) {
      const result = await transfer(which);
      results[which].push(result);
      log(`  1 GiB through ${which}: ${result.seconds.toFixed(2)} s, ${result.cpuSeconds.toFixed(2)} CPU s`);
    }
  }
  const startup: Record<Netcat, number[]> = { ncat: [], socklab: [] };
  for (let i = 0; i < 15; i++) {
    for (const which of ['ncat', 'socklab'] as Netcat[]) {
      const { ms, stop } = await listen(which, await freePort('tcp'), 0);
      await stop();
      startup[which].push(ms);
    }
  }
  const rate = (which: Netcat): number => median(results[which].map((r) => BYTES / r.seconds / 2 ** 20));
  const cpuPerGiB = (which: Netcat): number => median(results[which].map((r) => r.cpuSeconds));
  const ratio = rate('socklab') / rate('ncat');
  const startMs = { ncat: median(startup.ncat), socklab: median(startup.socklab) };
  return {
    targets: [
      { target: '1 GiB through socklab nc ≥ 0.9× ncat\'s throughput', wanted: '0.9×', measured: `${ratio.toFixed(2)}×`, met: ratio >= 0.9 },
      { target: '`socklab nc -l` listening ≤ 150 ms after spawn', wanted: '150 ms', measured: `${startMs.socklab.toFixed(0)} ms (ncat ${startMs.ncat.toFixed(0)} ms)`, met: startMs.socklab <= 150 },
    ],
    markdown: `## socklab nc against ncat

1 GiB from \`head -c\` of /dev/zero through \`<netcat> 127.0.0.1 PORT\` to \`<netcat> -l 127.0.0.1 PORT > /dev/null\` over loopback, ${PAIRS} pairs alternated (receiver on CPU 0, sender on CPU 1); medians. CPU: both netcats' user+system seconds for the GiB (not \`head\`).

| netcat | MiB/s | CPU s per GiB (both sides) |
| --- | ---: | ---: |
| ncat | ${rate('ncat').toFixed(0)} | ${cpuPerGiB('ncat').toFixed(2)} |
| socklab nc | ${rate('socklab').toFixed(0)} | ${cpuPerGiB('socklab').toFixed(2)} |

Throughput ratio socklab/ncat: ${ratio.toFixed(2)}×; CPU per GiB ratio: ${(cpuPerGiB('socklab') / cpuPerGiB('ncat')).toFixed(2)}×. On a shared 2-core machine the wall-clock ratio swings from run to run (other processes take the cores); CPU per GiB is the steadier figure.

Start-up, spawn to \`NCAT TEST: LISTEN\` (the socket listens), median of 15 alternated: ncat ${startMs.ncat.toFixed(0)} ms, \`socklab nc -l\` ${startMs.socklab.toFixed(0)} ms (most of it Node's own start-up).`,
  };
}

await runStandalone(import.meta.url, run);
