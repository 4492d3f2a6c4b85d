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
  ratioTarget,
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
  /** Settled: after V8's memory reducer ran. */
  perConnBytes: number;
  /** Just after opening. */
  openedPerConnBytes: number;
  answered: number;
  opened: number;
  baselineKiB: number;
  heldKiB: number;
}

const SERVERS: [string, string[]][] = [
  ['socklab serve --quiet', [CLI, 'serve', '--port', '{port}', '--quiet', '--max-connections', 'Infinity']],
  ['bare node:net', [BARE_TCP, '{port}']],
];

/**
 * Holds `connections`: RSS before, RSS just after opening, RSS settled, and every connection answered after.
 * Measured (scripts/bench/findings.md): the connect burst grows V8's heap, and V8's memory reducer gives the
 * unused part back 9 to 24 s into an idle period, in both servers. "Opened" is the median of samples from 3 s
 * after the last connect for 5 s; "settled" the median of samples from 26 s on. Targets use the settled figure:
 * it is what a server holding idle clients keeps paying.
 */
async function hold(name: string, args: string[], connections: number, fdLimit: number): Promise<Hold> {
  const server = await startServer(name, process.execPath, args, { fdLimit });
  try {
    await sleep(1000);
    const baselineKiB = rssKiB(server.pid);
    // Opening takes about a second per 5,000 connections here.
    const openMs = 1000 + connections / 5;
    const holdMs = Math.max(DURATION_MS, openMs + 30_000);
    const early: number[] = [];
    const settled: number[] = [];
    const startedAt = performance.now();
    const sampler = setInterval(() => {
      const at = performance.now() - startedAt - openMs;
      if (at > 3000 && at < 8000) early.push(rssKiB(server.pid));
      if (at > 26_000 && at < holdMs - openMs - 500) settled.push(rssKiB(server.pid));
    }, 250);
    const timeoutMs = Math.max(20_000, connections);
    const result = await bench(['hold', '127.0.0.1', String(server.port), '-c', String(connections), '-d', String(holdMs), '--timeout-ms', String(timeoutMs)], { fdLimit });
    clearInterval(sampler);
    const perConn = (kib: number): number => Math.round(((kib - baselineKiB) * 1024) / connections);
    const openedKiB = median(early.length > 0 ? early : [rssKiB(server.pid)]);
    const heldKiB = median(settled.length > 0 ? settled : [rssKiB(server.pid)]);
    return {
      name,
      connections,
      perConnBytes: perConn(heldKiB),
      openedPerConnBytes: perConn(openedKiB),
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
  log(`held connections: ${pairs} interleaved pairs of 10,000 (about 35 s each)`);
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
    { target: 'server RSS per held connection (settled) ≤ 1.05× bare node:net', wanted: '1.05×', measured: pairedText(perConn, bareConn), met: paired(perConn, bareConn) <= 1.05 },
    ratioTarget('server RSS per connection just after opening 10,000 ≤ 1.05× bare node:net', ours.map((h) => h.openedPerConnBytes), bare.map((h) => h.openedPerConnBytes), 1.05, true),
    { target: 'server RSS per held connection ≤ 4 KB', wanted: '4,096 B', measured: `${fmt(median(perConn))} B (bare: ${fmt(median(bareConn))} B)`, met: median(perConn) <= 4096 },
    {
      target: '100,000 held connections, all answered',
      wanted: '100,000',
      measured: `${fmt(largeOurs.answered)} of ${fmt(largeOurs.connections)} at ${fmt(largeOurs.perConnBytes)} B each${most < 100_000 ? ` (fd hard limit ${fmt(hardLimit)}: raising it needs CAP_SYS_RESOURCE)` : ''}`,
      met: largeOurs.connections >= 100_000 && largeOurs.answered === largeOurs.connections,
    },
  ];
  const rows = [...ours, ...bare, ...large].map(
    (h) => `| ${h.name} | ${fmt(h.connections)} | ${fmt(h.opened)} | ${fmt(h.answered)} | ${fmt(h.baselineKiB)} KiB | ${fmt(h.openedPerConnBytes)} B | ${fmt(h.heldKiB)} KiB | ${fmt(h.perConnBytes)} B |`,
  );
  const markdown = `## Held idle connections

${pairs} interleaved pairs of 10,000, then ${fmt(most)} each (the most the file-descriptor hard limit of ${fmt(hardLimit)} allows
both the server and the load generator). Each hold lasts 30 s after the last connect: "just after opening" is the
median RSS 3-8 s after it, "settled" from 26 s on, once V8's memory reducer has (usually) returned the connect burst's
spare heap; a run where it had not yet shows "settled" equal to "just after opening".

| server | connections | opened | answered after the hold | RSS before | per connection just after opening | RSS settled | per connection settled |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}`;
  return { targets, markdown };
}

await runStandalone(import.meta.url, run);
