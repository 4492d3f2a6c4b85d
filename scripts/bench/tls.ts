/**
 * TLS benchmark: `socklab serve --tls` against a bare node:tls server with the same protocol and certificate
 * (scripts/bench-servers/bare-tls.mjs), request/response at 100 connections and the full-handshake connection
 * rate, and what TLS costs socklab against its own plaintext server. Servers run on CPU 0 and the load
 * generator (`socklab bench … --tls`) on CPU 1 where taskset exists; runs of the servers alternate, and each
 * target is the median of the paired ratios (run i against run i), since this machine drifts within minutes.
 *
 * Run on its own: `node dist/scripts/bench/tls.js` prints the markdown.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '../../src/bench/report.js';
import { bench as harnessBench, CLI, fmt, log, msOf, paired, pairRatios, ROOT, runStandalone, startServer, stopServer, summariseRuns, type Server, type SuiteResult } from './_harness.js';
import { generateSelfSigned } from '../../src/tls/certificate.js';

const ROUNDS = Number(process.env['BENCH_TLS_ROUNDS'] ?? 5);
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 2500);
const WARMUP_MS = 500;

/** One `socklab bench … --json` run from CPU 1, measured for DURATION_MS after a warm-up. */
const bench = (args: string[]): Promise<BenchResult> => harnessBench([...args, '--duration-ms', String(DURATION_MS), '--warmup-ms', String(WARMUP_MS)]);

const ratio = (n: number): string => `${n.toFixed(2)}×`;

type Key = 'bareTls' | 'socklabTls' | 'socklabPlain';
const NAMES: Record<Key, string> = {
  bareTls: 'bare node:tls',
  socklabTls: 'socklab serve --tls --quiet',
  socklabPlain: 'socklab serve --quiet (plaintext)',
};

export default async function run(): Promise<SuiteResult> {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-tls-'));
  try {
    const cert = await generateSelfSigned(['localhost', '127.0.0.1']);
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    writeFileSync(certFile, cert.cert);
    writeFileSync(keyFile, cert.key);
    const servers: Record<Key, Server> = {
      bareTls: await startServer(NAMES.bareTls, process.execPath, [`${ROOT}scripts/bench-servers/bare-tls.mjs`, '{port}', certFile, keyFile]),
      socklabTls: await startServer(NAMES.socklabTls, process.execPath, [CLI, 'serve', '--port', '{port}', '--quiet', '--tls', '--cert', certFile, '--key', keyFile]),
      socklabPlain: await startServer(NAMES.socklabPlain, process.execPath, [CLI, 'serve', '--port', '{port}', '--quiet']),
    };
    const tlsFlags = (key: Key): string[] => (key === 'socklabPlain' ? [] : ['--tls', '--ca', certFile]);
    const modeArgs = { rr: ['tcp', '-c', '100'], conn: ['connect', '-c', '8'] } as const;
    /** Runs `a` and `b` back to back, ROUNDS times, alternating which goes first: run i of each is a pair. */
    const runPairs = async (mode: keyof typeof modeArgs, a: Key, b: Key): Promise<[BenchResult[], BenchResult[]]> => {
      const results: [BenchResult[], BenchResult[]] = [[], []];
      for (let round = 0; round < ROUNDS; round++) {
        for (const side of round % 2 === 0 ? [0, 1] : [1, 0]) {
          const key = side === 0 ? a : b;
          log(`tls bench ${mode} ${round + 1}/${ROUNDS}: ${NAMES[key]}`);
          const [command, ...rest] = modeArgs[mode];
          results[side]!.push(await bench([command!, '127.0.0.1', String(servers[key].port), ...rest, ...tlsFlags(key)]));
        }
      }
      return results;
    };
    let rrTls: [BenchResult[], BenchResult[]];
    let connTls: [BenchResult[], BenchResult[]];
    let rrCostRuns: [BenchResult[], BenchResult[]];
    let connCostRuns: [BenchResult[], BenchResult[]];
    try {
      rrTls = await runPairs('rr', 'socklabTls', 'bareTls');
      connTls = await runPairs('conn', 'socklabTls', 'bareTls');
      rrCostRuns = await runPairs('rr', 'socklabTls', 'socklabPlain');
      connCostRuns = await runPairs('conn', 'socklabTls', 'socklabPlain');
    } finally {
      for (const server of Object.values(servers)) await stopServer(server);
    }
    /** Run i of the first over run i of the second: every pair's ratio, and their median (what targets compare). */
    const compare = ([a, b]: [BenchResult[], BenchResult[]]): { pairs: number[]; median: number } => {
      const [rateA, rateB] = [a.map((r) => r.perSec), b.map((r) => r.perSec)];
      return { pairs: pairRatios(rateA, rateB), median: paired(rateA, rateB) };
    };
    const rr = compare(rrTls);
    const conn = compare(connTls);
    const rrCost = compare(rrCostRuns);
    const connCost = compare(connCostRuns);
    const row = (key: Key, results: BenchResult[]): string => {
      const runs = summariseRuns(NAMES[key], results);
      return `| ${runs.name} | ${fmt(runs.perSec)} | ${msOf(runs.p50Us)} | ${msOf(runs.p99Us)} | ${runs.errors + runs.lost} | ${fmt(runs.benchCpu)}% | ${runs.runs.map(fmt).join(', ')} |`;
    };
    const table = (rows: Array<[Key, BenchResult[]]>, unit: string): string[] => [
      `| server | ${unit} (median) | p50 ms | p99 ms | errors | load generator CPU | every run |`,
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(([key, results]) => row(key, results)),
    ];
    const list = (values: number[]): string => values.map((v) => v.toFixed(2)).join(', ');
    const markdown = [
      '## TLS',
      '',
      `${ROUNDS} pairs of runs of ${DURATION_MS / 1000} s (after ${WARMUP_MS / 1000} s of warm-up) per comparison, the two runs of a pair back to back, which one goes first alternating. ` +
        'Certificate: ECDSA P-256, verified by the client with --ca. Load: `socklab bench tcp -c 100` and `socklab bench connect -c 8` ' +
        '(each cycle a new connection with a full handshake, no session resumption, then one request and its reply). ' +
        'The bare server is scripts/bench-servers/bare-tls.mjs: the same protocol in plain node:tls, no limits, no log.',
      '',
      '### Request/response, 100 connections',
      '',
      ...table([['bareTls', rrTls[1]], ['socklabTls', rrTls[0]], ['socklabPlain', rrCostRuns[1]]], 'requests/s'),
      '',
      '### Connection rate (full TLS handshake per connection)',
      '',
      ...table([['bareTls', connTls[1]], ['socklabTls', connTls[0]], ['socklabPlain', connCostRuns[1]]], 'connections/s'),
      '',
      'How to read it: a TLS client does more work per handshake than the server (it verifies the chain and the name), so in the connection-rate runs the load generator is often the one at 100% of its core; then both servers are measured against the same client ceiling and their ratio leans toward 1. The "load generator CPU" column shows when that happened.',
      '',
      '### Ratios (median of paired runs)',
      '',
      '| comparison | median | every pair |',
      '| --- | --- | --- |',
      `| socklab TLS / bare node:tls, request/response | ${ratio(rr.median)} | ${list(rr.pairs)} |`,
      `| socklab TLS / bare node:tls, connection rate | ${ratio(conn.median)} | ${list(conn.pairs)} |`,
      `| socklab TLS / socklab plaintext, request/response (what TLS costs) | ${ratio(rrCost.median)} | ${list(rrCost.pairs)} |`,
      `| socklab TLS / socklab plaintext, connection rate | ${ratio(connCost.median)} | ${list(connCost.pairs)} |`,
      '',
    ].join('\n');
    const targets = [
      { target: 'TLS request/response, 100 connections, vs bare node:tls', wanted: '≥ 0.95×', measured: ratio(rr.median), met: rr.median >= 0.95 },
      { target: 'TLS full-handshake connection rate vs bare node:tls', wanted: '≥ 0.95×', measured: ratio(conn.median), met: conn.median >= 0.95 },
    ];
    return { targets, markdown };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await runStandalone(import.meta.url, run);
