/**
 * What each of socklab's guarantees costs per connection cycle and per request: the library's message server built
 * the way `socklab serve --quiet` builds it (scripts/bench-servers/lib-guarantees.mjs), then the same server with
 * one guarantee switched off at a time, then with all of them off, bare node:net beside them, all in the same
 * interleaved rounds. Plus where the time goes: the top self-time functions of `--cpu-prof` profiles.
 */
import { ROOT, fmt, log, median } from './_harness.js';
import { ratioSpread, type LoadRun } from './_loadgen.js';
import { BARE, RUNS, WINDOW_MS, measure, serve, starvedNote, us, type Side } from './_cost-measure.js';
import { profileSide, profileTable } from './_cost-profile.js';

/** Fewer rounds than the headline figures: ten servers per figure. */
const ROUNDS = Number(process.env['BENCH_COST_GUARANTEE_RUNS'] ?? Math.min(RUNS, 3));

/** The guarantees lib-guarantees.mjs can switch off, with what each is. */
const GUARANTEES: [name: string, what: string][] = [
  ['event-log', 'the connected/closed lines `--quiet` still prints'],
  ['greeting-hold', 'the greeting held until bytes sent at once were read (`--greet-at-accept` gives it up)'],
  ['idle-timeout', '`idleTimeoutMs` (`--idle-timeout-ms Infinity` gives it up)'],
  ['message-timeout', '`messageTimeoutMs`, the slow-sender timeout'],
  ['line-framing', 'line framing with `maxMessageBytes` (off: `raw`, each read a message)'],
  ['output-guard', '`outputSoftLimitBytes` and `maxBufferedBytes` checked per write'],
  ['connection-limit', '`maxConnections`'],
  ['remote', '`remote` read at accept (getpeername), kept after close'],
];

const guaranteeSide = (off: string[], name: string): Side => ({
  name,
  command: process.execPath,
  args: [`${ROOT}scripts/bench-servers/lib-guarantees.mjs`, '{port}', ...off],
});

const FIGURES = [
  { mode: 'cycle', args: ['-c', '100', '-w', '500'], unit: 'cycle', title: 'connection cycle, 100 in flight' },
  { mode: 'rr', args: ['-c', '100', '-w', '1000'], unit: 'request', title: 'request/response, 100 connections' },
] as const;

/** The markdown of the guarantee-cost table and the profiles. */
export async function guaranteeCosts(): Promise<string> {
  const sides: Side[] = [
    guaranteeSide([], 'every guarantee on'),
    ...GUARANTEES.map(([name]) => guaranteeSide([name], name)),
    guaranteeSide(['all'], 'all of them off'),
    BARE,
  ];
  const results: LoadRun[][][] = [];
  for (const figure of FIGURES) {
    log(`cost: each guarantee off in turn, ${figure.title}`);
    results.push(await measure(sides, figure.mode, [...figure.args], ROUNDS));
  }
  const cell = (figure: number, side: number): string => {
    const [on, off] = [results[figure]![0]!, results[figure]![side]!];
    const saved = median(us(on).map((value, i) => value - us(off)[i]!));
    return `${ratioSpread(us(off), us(on)).text} | ${saved >= 0 ? '' : '−'}${Math.abs(saved).toFixed(2)}`;
  };
  const head = (side: number): string => FIGURES.map((_, f) => median(us(results[f]![side]!)).toFixed(2)).join(' | ');
  const lines = [
    '## What each guarantee costs',
    '',
    `The library's message server as \`socklab serve --quiet\` builds it (scripts/bench-servers/lib-guarantees.mjs), with one guarantee switched off at a time; ${ROUNDS} interleaved rounds of ${WINDOW_MS / 1000} s per figure, all ten servers in each round. "Saved" is the median over the rounds of (every guarantee on − this one off), in µs of server CPU; a ratio is CPU per operation with it off ÷ with every guarantee on, per round. The range after each ratio is the lowest and highest round: where it straddles 1.00, the guarantee's cost is below what these rounds can tell apart.`,
    '',
    `| server | µs per cycle | µs per request |`,
    '| --- | ---: | ---: |',
    `| every guarantee on | ${head(0)} |`,
    `| all of them off | ${head(sides.length - 2)} |`,
    `| bare node:net | ${head(sides.length - 1)} |`,
    '',
    `| switched off | what it guarantees | per cycle: off ÷ on | µs saved per cycle | per request: off ÷ on | µs saved per request |`,
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...GUARANTEES.map(([name, what], i) => `| ${name} | ${what} | ${cell(0, i + 1)} | ${cell(1, i + 1)} |`),
    `| all of them | | ${cell(0, sides.length - 2)} | ${cell(1, sides.length - 2)} |`,
    `| bare node:net | (no guarantee, no TcpConnection) | ${cell(0, sides.length - 1)} | ${cell(1, sides.length - 1)} |`,
    '',
    `Every guarantee on against bare node:net, same rounds: ${FIGURES.map((figure, f) => `${figure.unit} ${ratioSpread(us(results[f]![0]!), us(results[f]![sides.length - 1]!)).text}${starvedNote(results[f]![0]!, results[f]![sides.length - 1]!)}`).join('; ')}.`,
  ];

  const profiles: string[] = [];
  for (const figure of FIGURES) {
    log(`cost: --cpu-prof of socklab serve --quiet and bare node:net, ${figure.title}`);
    const args = [...figure.args, '-d', String(WINDOW_MS)];
    const ours = await profileSide(serve(), figure.mode, args);
    const reference = await profileSide(BARE, figure.mode, args);
    log(`  profiled: socklab ${fmt(ours.run.perSec)}/s ${ours.run.serverUsPerOp.toFixed(2)} µs/op, bare ${fmt(reference.run.perSec)}/s ${reference.run.serverUsPerOp.toFixed(2)} µs/op`);
    profiles.push(profileTable(`Profile: ${figure.title}`, figure.unit, ours, reference, ['socklab serve --quiet', 'bare node:net']));
  }
  return [
    ...lines,
    '',
    '## Where the time goes: `--cpu-prof`',
    '',
    `One window of ${WINDOW_MS / 1000} s per server under \`node --cpu-prof\` (which itself adds a few percent). A function's µs per operation is its share of the profile's busy (not idle) samples over the server's whole life, start-up included, times the server's CPU per operation from /proc in that window. Names are Node's and socklab's own (\`node:…\` is Node's JavaScript; \`(program)\` and \`(garbage collector)\` are V8; a name without a file is native code, e.g. \`writeBuffer\` is the write(2) of a socket's bytes).`,
    '',
    profiles.join('\n\n'),
  ].join('\n');
}
