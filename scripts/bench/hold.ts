/**
 * Held idle connections: server RSS per connection for `socklab serve --quiet` and a bare node:net server,
 * 10,000 at a time in interleaved pairs, then the most this machine's file-descriptor limit allows (up to 100,000,
 * sources spread over 127.0.0.x past one address's ports). Every connection must still be answered after the hold.
 * Run alone: node dist/scripts/bench/hold.js
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BARE_TCP,
  CLI,
  DURATION_MS,
  RUNS,
  bench,
  fmt,
  hardFdLimit,
  log,
  median,
  paired,
  pairedText,
  rssKiB,
  runStandalone,
  startServer,
  stopServer,
  type SuiteResult,
  type Target,
} from './_harness.js';

interface Hold {
  name: string;
  connections: number;
  perConnBytes: number;
  answered: number;
  opened: number;
  baselineKiB: number;
  heldKiB: number;
}

const SERVERS: [string, string[]][] = [
  ['socklab serve --quiet', [CLI, 'serve', '--port', '{port}', '--quiet', '--max-connections', 'Infinity']],
  ['bare node:net', [BARE_TCP, '{port}']],
];

/** Holds `connections`: RSS before, RSS held (steady state, not the peak), and every connection answered after. */
async function hold(name: string, args: string[], connections: number, fdLimit: number): Promise<Hold> {
  const server = await startServer(name, process.execPath, args, { fdLimit });
  try {
    await sleep(1000);
    const baselineKiB = rssKiB(server.pid);
    // The connect burst leaves garbage that the next GC returns: samples from the second half of the hold are
    // the held connections' own cost.
    // Opening takes about a second per 5,000 connections here; the hold lasts long enough that its second half
    // starts after the last one opened.
    const holdMs = Math.max(DURATION_MS, 6000, 4000 + connections / 2.5);
    const samples: number[] = [];
    const startedAt = performance.now();
    const sampler = setInterval(() => {
      if (performance.now() - startedAt > holdMs / 2) samples.push(rssKiB(server.pid));
    }, 200);
    const timeoutMs = Math.max(20_000, connections);
    const result = await bench(['hold', '127.0.0.1', String(server.port), '-c', String(connections), '-d', String(holdMs), '--timeout-ms', String(timeoutMs)], { fdLimit });
    clearInterval(sampler);
    // The last samples may already include the answering phase.
    const heldKiB = median(samples.length > 4 ? samples.slice(0, -2) : samples.length > 0 ? samples : [rssKiB(server.pid)]);
    return {
      name,
      connections,
      perConnBytes: Math.round(((heldKiB - baselineKiB) * 1024) / connections),
      answered: result.extra.answered ?? 0,
      opened: result.extra.opened ?? 0,
      baselineKiB,
      heldKiB,
    };
  } finally {
    await stopServer(server);
  }
}

export default async function run(): Promise<SuiteResult> {
  const hardLimit = hardFdLimit();
  const fdLimit = Math.min(hardLimit, 250_000);
  const pairs = Math.min(RUNS, 3);
  const holds: Hold[][] = SERVERS.map(() => []);
  log(`held connections: ${pairs} interleaved pairs of 10,000`);
  for (let run = 1; run <= pairs; run++) {
    for (const [index, [name, args]] of SERVERS.entries()) {
      const h = await hold(name, args, 10_000, fdLimit);
      holds[index]!.push(h);
      log(`  hold 10,000 run ${run} ${name}: ${h.perConnBytes} B/conn, answered ${h.answered}`);
    }
  }
  // Each side of a connection is a file descriptor in its process; keep a margin for the servers' own.
  const most = Math.min(100_000, fdLimit - 500);
  log(`held connections: the most the fd limit allows (${fmt(most)}; ulimit -Hn is ${fmt(hardLimit)})`);
  const large = [];
  for (const [name, args] of SERVERS) {
    const h = await hold(name, args, most, fdLimit);
    large.push(h);
    log(`  hold ${fmt(most)} ${name}: ${h.perConnBytes} B/conn, answered ${h.answered}`);
  }
  const [ours, bare] = holds as [Hold[], Hold[]];
  const perConn = ours.map((h) => h.perConnBytes);
  const bareConn = bare.map((h) => h.perConnBytes);
  const allAnswered = ours.every((h) => h.answered === 10_000);
  const largeOurs = large[0]!;
  const targets: Target[] = [
    { target: '10,000 idle connections all held and answered (every pair)', wanted: '10,000', measured: ours.map((h) => fmt(h.answered)).join(', '), met: allAnswered },
    { target: 'server RSS per held connection ≤ 1.05× bare node:net', wanted: '1.05×', measured: pairedText(perConn, bareConn), met: paired(perConn, bareConn) <= 1.05 },
    { target: 'server RSS per held connection ≤ 4 KB', wanted: '4,096 B', measured: `${fmt(median(perConn))} B (bare: ${fmt(median(bareConn))} B)`, met: median(perConn) <= 4096 },
    {
      target: '100,000 held connections, all answered',
      wanted: '100,000',
      measured: `${fmt(largeOurs.answered)} of ${fmt(largeOurs.connections)} at ${fmt(largeOurs.perConnBytes)} B each${most < 100_000 ? ` (fd hard limit ${fmt(hardLimit)}: raising it needs CAP_SYS_RESOURCE)` : ''}`,
      met: largeOurs.connections >= 100_000 && largeOurs.answered === largeOurs.connections,
    },
  ];
  const rows = [...ours, ...bare, ...large].map(
    (h) => `| ${h.name} | ${fmt(h.connections)} | ${fmt(h.opened)} | ${fmt(h.answered)} | ${fmt(h.baselineKiB)} KiB | ${fmt(h.heldKiB)} KiB | ${fmt(h.perConnBytes)} B |`,
  );
  const markdown = `## Held idle connections

${pairs} interleaved pairs of 10,000, then ${fmt(most)} each (the most the file-descriptor hard limit of ${fmt(hardLimit)} allows
both the server and the load generator). RSS "held" is the median of samples from the second half of the hold.

| server | connections | opened | answered after the hold | RSS before | RSS held | per connection |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}`;
  return { targets, markdown };
}

await runStandalone(import.meta.url, run);
