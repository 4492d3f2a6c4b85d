/**
 * What a connection and a message cost the server: CPU per operation (user+system µs from /proc/PID/stat over the
 * measured window ÷ operations completed) for socklab against its bare Node reference, under the C load generator
 * (scripts/bench-c/loadgen.c) on the other core, which keeps the server's core busy. Pairs interleaved (the order
 * alternates run by run), the generator's own CPU beside each pair. Also RSS per held connection and idle RSS.
 * Run alone: node dist/scripts/bench/cost.js   (BENCH_COST_RUNS=5, BENCH_COST_DURATION_MS=2000; about 5 minutes)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, ROOT, fmt, hardFdLimit, log, median, rssKiB, runStandalone, startServer, stopServer, type SuiteResult, type Target } from './_harness.js';
import { SATURATED_PERCENT, loadgenHold, ratioSpread } from './_loadgen.js';
import { guaranteeCosts } from './_cost-guarantees.js';
import { BARE, LIBRARY, RETRIES, RUNS, STARVED_PERCENT, WINDOW_MS, cpuTarget, measure, serve, starvedNote, tableOf, us, type Side } from './_cost-measure.js';

const HOLD_CONNECTIONS = 10_000;

interface HoldReading {
  baselineKiB: number;
  openedPerConn: number;
  settledPerConn: number;
  answered: number;
}

/** Holds HOLD_CONNECTIONS on a server for 30 s, sampling its RSS (see hold.ts for why "just after" and "settled"). */
async function holdOne(side: Side, fdLimit: number): Promise<HoldReading> {
  const server = await startServer(side.name, side.command, side.args, { fdLimit });
  try {
    await sleep(1000);
    const baselineKiB = rssKiB(server.pid);
    let openedAt = 0;
    const early: number[] = [];
    const settled: number[] = [];
    const sampler = setInterval(() => {
      if (openedAt === 0) return;
      const at = performance.now() - openedAt;
      if (at > 3000 && at < 8000) early.push(rssKiB(server.pid));
      if (at > 26_000) settled.push(rssKiB(server.pid));
    }, 250);
    const result = await loadgenHold(server.port, HOLD_CONNECTIONS, 30_000, fdLimit, () => (openedAt = performance.now()));
    clearInterval(sampler);
    const perConn = (kib: number[]): number => Math.round(((median(kib) - baselineKiB) * 1024) / HOLD_CONNECTIONS);
    return { baselineKiB, openedPerConn: perConn(early), settledPerConn: perConn(settled), answered: result.answered };
  } finally {
    await stopServer(server);
  }
}

export default async function run(): Promise<SuiteResult> {
  const targets: Target[] = [];
  const sections: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-cost-'));
  try {
    for (const connections of [100, 1000]) {
      log(`cost: request/response, ${connections} connections`);
      const sides = [serve(), BARE];
      const runs = await measure(sides, 'rr', ['-c', String(connections), '-w', '1000']);
      targets.push(cpuTarget(`CPU per request, ${fmt(connections)} connections ≤ 1.05× bare node:net`, runs[0]!, runs[1]!, 1.05));
      sections.push(tableOf(`Request/response, ${fmt(connections)} connections (one request in flight on each)`, 'request', sides, runs));
    }
    for (const inFlight of [10, 100]) {
      log(`cost: connection cycles, ${inFlight} in flight`);
      // Beside the two compared, what each guarantee costs: the greeting held until the first read, the
      // connected/closed lines --quiet still prints, the idle and slow-sender timeouts.
      const sides = [serve(), serve('--greet-at-accept'), serve('--idle-timeout-ms', 'Infinity', '--message-timeout-ms', 'Infinity'), LIBRARY, BARE];
      const runs = await measure(sides, 'cycle', ['-c', String(inFlight), '-w', '500']);
      const [ours, bare] = [runs[0]!, runs[sides.length - 1]!];
      targets.push(cpuTarget(`CPU per connection cycle, ${inFlight} in flight ≤ 1.1× bare node:net`, ours, bare, 1.1));
      if (inFlight === 100) {
        const p99 = ratioSpread(ours.map((r) => r.p99Us), bare.map((r) => r.p99Us));
        targets.push({ target: 'connection cycle p99, 100 in flight ≤ 1.2× bare node:net', wanted: '≤ 1.2×', measured: p99.text, met: p99.median <= 1.2 });
      }
      const costs = sides.slice(1, -1).map((side, i) => `${side.name}: ${ratioSpread(us(runs[i + 1]!), us(bare)).text} of bare`);
      sections.push(`${tableOf(`Connection cycles, ${inFlight} in flight (connect, greeting, one request, reply, close)`, 'cycle', sides, runs)}\n\nCPU per cycle against bare, same pairs: ${costs.join('; ')}.`);
    }

    sections.push(await guaranteeCosts());

    log('cost: session log (--log FILE) at 100 connections');
    const formats = ['text', 'jsonl', 'hex'] as const;
    const logSides = [...formats.map((format) => ({ ...serve('--log', join(dir, `session.${format}`), '--log-format', format), name: `socklab serve --quiet --log FILE --log-format ${format}` })), serve()];
    const logRuns = await measure(logSides, 'rr', ['-c', '100', '-w', '1000']);
    const none = logRuns[formats.length]!;
    const logLines = formats.map((format, i) => {
      // Throughput at equal CPU: the server without a log does 1/x requests for each one with it.
      const ratio = ratioSpread(us(none), us(logRuns[i]!));
      const wanted = format === 'text' ? 0.9 : 0.85;
      targets.push({ target: `--log FILE --log-format ${format}: CPU per request without a log ÷ with ≥ ${wanted}`, wanted: `≥ ${wanted}×`, measured: `${ratio.text}${starvedNote(none, logRuns[i]!)}`, met: ratio.median >= wanted });
      return `- ${format}: ${ratio.text} of the requests per CPU-second of the server without a log`;
    });
    sections.push(`${tableOf('Session log (`serve --quiet --log FILE`, every byte), request/response at 100 connections', 'request', logSides, logRuns)}\n\n${logLines.join('\n')}`);

    log('cost: UDP counter (--delay-ms 0, closed loop)');
    const udpSides: Side[] = [
      { name: 'socklab udp-serve --quiet --delay-ms 0 --rate-limit inf', command: process.execPath, args: [CLI, 'udp-serve', '--port', '{port}', '--quiet', '--delay-ms', '0', '--rate-limit', 'inf'], kind: 'udp' },
      { name: 'bare node:dgram (setTimeout 0 per reply)', command: process.execPath, args: [`${ROOT}scripts/bench-servers/bare-udp.mjs`, '{port}', '0'], kind: 'udp' },
    ];
    const udpRuns = await measure(udpSides, 'udp', ['-c', '4', '-k', '64', '-w', '500']);
    targets.push(cpuTarget('UDP counter: CPU per reply ≤ 1.05× bare node:dgram', udpRuns[0]!, udpRuns[1]!, 1.05));
    sections.push(tableOf('UDP counter: "get" from 4 sockets, 64 outstanding on each, replies at once', 'reply', udpSides, udpRuns, 'A lost datagram costs its socket a 500 ms wait (counted under errors).'));

    log('cost: chat fan-out, 100 clients');
    const chatSides: Side[] = [
      { name: 'socklab serve --mode chat --quiet', command: process.execPath, args: [CLI, 'serve', '--mode', 'chat', '--port', '{port}', '--quiet', '--max-connections', '1000'] },
      { name: 'bare node:net broadcast loop', command: process.execPath, args: [`${ROOT}scripts/bench-servers/bare-chat.mjs`, '{port}'] },
    ];
    const chatRuns = await measure(chatSides, 'chat', ['-c', '100', '-k', '32', '-w', '500']);
    targets.push(cpuTarget('chat: CPU per delivered line ≤ 1.05× a bare node:net broadcast loop', chatRuns[0]!, chatRuns[1]!, 1.05));
    sections.push(tableOf('Chat fan-out: 100 clients, one sending, 32 lines ahead of the room', 'delivery', chatSides, chatRuns, 'p99 is not measured here (0).'));

    log(`cost: ${fmt(HOLD_CONNECTIONS)} held connections, socklab and bare side by side, 2 pairs of 30 s`);
    const fdLimit = Math.min(hardFdLimit(), 20_000);
    const holdSides = [serve('--max-connections', 'Infinity'), BARE];
    const holds: HoldReading[][] = [[], []];
    for (let pair = 0; pair < 2; pair++) {
      const [a, b] = await Promise.all(holdSides.map((side) => holdOne(side, fdLimit)));
      holds[0]!.push(a!);
      holds[1]!.push(b!);
      log(`  hold pair ${pair + 1}: socklab ${a!.openedPerConn} → ${a!.settledPerConn} B, bare ${b!.openedPerConn} → ${b!.settledPerConn} B`);
    }
    const [ours, bare] = holds as [HoldReading[], HoldReading[]];
    const opened = ratioSpread(ours.map((h) => h.openedPerConn), bare.map((h) => h.openedPerConn));
    const settled = ratioSpread(ours.map((h) => h.settledPerConn), bare.map((h) => h.settledPerConn));
    const idleMiB = median(ours.map((h, i) => (h.baselineKiB - bare[i]!.baselineKiB) / 1024));
    targets.push(
      { target: `RSS per held connection just after opening ${fmt(HOLD_CONNECTIONS)} ≤ 1.05× bare node:net`, wanted: '≤ 1.05×', measured: opened.text, met: opened.median <= 1.05 },
      { target: 'RSS per held connection, settled ≤ 1.0× bare node:net', wanted: '≤ 1.0×', measured: settled.text, met: settled.median <= 1.0 },
      { target: 'idle RSS of socklab serve within 10 MiB of bare node:net', wanted: '≤ 10 MiB', measured: `${idleMiB.toFixed(1)} MiB more`, met: idleMiB <= 10 },
      { target: `every held connection answered after the hold`, wanted: fmt(HOLD_CONNECTIONS), measured: ours.map((h) => fmt(h.answered)).join(', '), met: ours.every((h) => h.answered === HOLD_CONNECTIONS) },
    );
    sections.push(
      [
        `## Held connections: ${fmt(HOLD_CONNECTIONS)} idle, 30 s, each pair side by side`,
        '',
        '| server | idle RSS | per connection 3-8 s after opening | settled (26-30 s) | answered |',
        '| --- | ---: | ---: | ---: | ---: |',
        ...holdSides.flatMap((side, i) => holds[i]!.map((h) => `| ${side.name} | ${fmt(h.baselineKiB)} KiB | ${fmt(h.openedPerConn)} B | ${fmt(h.settledPerConn)} B | ${fmt(h.answered)} |`)),
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const intro = `Server CPU per operation: user+system time of the server process (every thread) from /proc/PID/stat between the generator's "start" and "stop", divided by the operations completed in that window; ${RUNS} interleaved pairs of ${WINDOW_MS / 1000} s per figure, the order alternating; a round in which a server got less than ${STARVED_PERCENT}% of its core is run again up to ${RETRIES} times and its least starved attempt kept. Load: scripts/bench-c/loadgen.c (C, epoll, one thread) pinned to CPU 1, servers to CPU 0. "loadgen CPU" is the generator's own share of its core: at ≥ ${SATURATED_PERCENT}% the generator, not the server, set the rate. The machine was shared with other work while this ran.`;
  return { targets, markdown: `${intro}\n\n${sections.join('\n\n')}` };
}

await runStandalone(import.meta.url, run);
