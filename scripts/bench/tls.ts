/**
 * TLS benchmark: `socklab serve --tls` against a bare node:tls server with the same protocol and certificate
 * (scripts/bench-servers/bare-tls.mjs), request/response at 100 connections and the full-handshake connection
 * rate, and what TLS costs socklab against its own plaintext server. Servers run on CPU 0 and the load
 * generator (`socklab bench … --tls`) on CPU 1 where taskset exists; runs of the servers alternate, and each
 * target is the median of the paired ratios (run i against run i), since this machine drifts within minutes.
 *
 * Run on its own: `node dist/scripts/bench/tls.js` prints the markdown.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../../src/bench/report.js';
import { generateSelfSigned } from '../../src/tls/certificate.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}bin/socklab.cjs`;
const ROUNDS = Number(process.env['BENCH_TLS_ROUNDS'] ?? 3);
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 4000);
const WARMUP_MS = 1000;
const PIN = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length >= 2;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

function pinned(cpu: number, command: string, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Server {
  port: number;
  child: ChildProcess;
}

/** Starts a server on CPU 0 (output to /dev/null) and waits until it accepts TCP connections. */
async function startServer(name: string, args: (port: number) => string[]): Promise<Server> {
  const port = await freePort();
  const [cmd, argv] = pinned(0, process.execPath, args(port));
  const devNull = openSync('/dev/null', 'w');
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', devNull, 'inherit'] });
  closeSync(devNull);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = connect(port, '127.0.0.1');
      probe.once('connect', () => resolve(true)).once('error', () => resolve(false));
      probe.once('close', () => resolve(false));
      setTimeout(() => probe.destroy(), 200);
    });
    if (ok) return { port, child };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start`);
    await sleep(100);
  }
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill('SIGKILL');
  await new Promise((resolve) => server.child.once('exit', resolve));
}

async function bench(args: string[]): Promise<BenchResult> {
  const [cmd, argv] = pinned(1, process.execPath, [CLI, 'bench', ...args, '--duration-ms', String(DURATION_MS), '--warmup-ms', String(WARMUP_MS), '--json']);
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(out) as BenchResult;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (us: number): string => (us / 1000).toFixed(2);
const ratio = (n: number): string => `${n.toFixed(2)}×`;

type Key = 'bareTls' | 'socklabTls' | 'socklabPlain' | 'bareNet';
const NAMES: Record<Key, string> = {
  bareTls: 'bare node:tls',
  socklabTls: 'socklab serve --tls --quiet',
  socklabPlain: 'socklab serve --quiet (plaintext)',
  bareNet: 'bare node:net (plaintext)',
};

export default async function run(): Promise<{ targets: Array<{ target: string; wanted: string; measured: string; met: boolean }>; markdown: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-tls-'));
  try {
    const cert = await generateSelfSigned(['localhost', '127.0.0.1']);
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    writeFileSync(certFile, cert.cert);
    writeFileSync(keyFile, cert.key);
    const servers: Record<Key, Server> = {
      bareTls: await startServer(NAMES.bareTls, (port) => [`${ROOT}scripts/bench-servers/bare-tls.mjs`, String(port), certFile, keyFile]),
      socklabTls: await startServer(NAMES.socklabTls, (port) => [CLI, 'serve', '--port', String(port), '--quiet', '--tls', '--cert', certFile, '--key', keyFile]),
      socklabPlain: await startServer(NAMES.socklabPlain, (port) => [CLI, 'serve', '--port', String(port), '--quiet']),
      bareNet: await startServer(NAMES.bareNet, (port) => [`${ROOT}scripts/bench-servers/bare-tcp.mjs`, String(port)]),
    };
    const tlsFlags = (key: Key): string[] => (key === 'bareTls' || key === 'socklabTls' ? ['--tls', '--ca', certFile] : []);
    const rr: Record<Key, BenchResult[]> = { bareTls: [], socklabTls: [], socklabPlain: [], bareNet: [] };
    const conn: Record<Key, BenchResult[]> = { bareTls: [], socklabTls: [], socklabPlain: [], bareNet: [] };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which server goes first, so neither always gets the warmer (or colder) slot.
        const order: Key[] = round % 2 === 0 ? ['bareTls', 'socklabTls', 'socklabPlain', 'bareNet'] : ['socklabTls', 'bareTls', 'bareNet', 'socklabPlain'];
        for (const key of order) {
          log(`tls bench round ${round + 1}/${ROUNDS}: ${NAMES[key]}`);
          rr[key].push(await bench(['tcp', '127.0.0.1', String(servers[key].port), '-c', '100', ...tlsFlags(key)]));
          conn[key].push(await bench(['connect', '127.0.0.1', String(servers[key].port), '-c', '8', ...tlsFlags(key)]));
        }
      }
    } finally {
      for (const server of Object.values(servers)) await stopServer(server);
    }
    const pairRatios = (a: BenchResult[], b: BenchResult[]): number[] => a.map((r, i) => r.perSec / b[i]!.perSec);
    const rrRatios = pairRatios(rr.socklabTls, rr.bareTls);
    const connRatios = pairRatios(conn.socklabTls, conn.bareTls);
    const rrCost = pairRatios(rr.socklabTls, rr.socklabPlain);
    const connCost = pairRatios(conn.socklabTls, conn.socklabPlain);
    const bareRrCost = pairRatios(rr.bareTls, rr.bareNet);
    const bareConnCost = pairRatios(conn.bareTls, conn.bareNet);
    const errors = (results: BenchResult[]): number => results.reduce((sum, r) => sum + r.errors + r.resets + r.lost, 0);
    const row = (key: Key, results: BenchResult[]): string =>
      `| ${NAMES[key]} | ${fmt(median(results.map((r) => r.perSec)))} | ${ms(median(results.map((r) => r.latencyUs.p50)))} | ${ms(median(results.map((r) => r.latencyUs.p99)))} | ${errors(results)} | ${results.map((r) => fmt(r.perSec)).join(', ')} |`;
    const table = (results: Record<Key, BenchResult[]>, unit: string): string[] => [
      `| server | ${unit} (median) | p50 ms | p99 ms | errors | every run |`,
      '| --- | --- | --- | --- | --- | --- |',
      ...(['bareTls', 'socklabTls', 'socklabPlain', 'bareNet'] as const).map((key) => row(key, results[key])),
    ];
    const list = (values: number[]): string => values.map((v) => v.toFixed(2)).join(', ');
    const markdown = [
      '## TLS',
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; servers ${PIN ? 'pinned to CPU 0, load generator to CPU 1 (taskset)' : 'not pinned'}. ` +
        `${ROUNDS} rounds of ${DURATION_MS / 1000} s after ${WARMUP_MS / 1000} s of warm-up, servers alternating within each round. ` +
        'Certificate: ECDSA P-256, verified by the client with --ca. Load: `socklab bench tcp -c 100` and `socklab bench connect -c 8` ' +
        '(each cycle a new connection with a full handshake, no session resumption, then one request and its reply). ' +
        'The bare server is scripts/bench-servers/bare-tls.mjs: the same protocol in plain node:tls, no limits, no log.',
      '',
      '### Request/response, 100 connections',
      '',
      ...table(rr, 'requests/s'),
      '',
      '### Connection rate (full TLS handshake per connection)',
      '',
      ...table(conn, 'connections/s'),
      '',
      '### Ratios (median of paired runs)',
      '',
      '| comparison | median | every pair |',
      '| --- | --- | --- |',
      `| socklab TLS / bare node:tls, request/response | ${ratio(median(rrRatios))} | ${list(rrRatios)} |`,
      `| socklab TLS / bare node:tls, connection rate | ${ratio(median(connRatios))} | ${list(connRatios)} |`,
      `| socklab TLS / socklab plaintext, request/response (what TLS costs) | ${ratio(median(rrCost))} | ${list(rrCost)} |`,
      `| socklab TLS / socklab plaintext, connection rate | ${ratio(median(connCost))} | ${list(connCost)} |`,
      `| bare node:tls / bare node:net, request/response | ${ratio(median(bareRrCost))} | ${list(bareRrCost)} |`,
      `| bare node:tls / bare node:net, connection rate | ${ratio(median(bareConnCost))} | ${list(bareConnCost)} |`,
      '',
    ].join('\n');
    const targets = [
      { target: 'TLS request/response, 100 connections, vs bare node:tls', wanted: '≥ 0.95×', measured: ratio(median(rrRatios)), met: median(rrRatios) >= 0.95 },
      { target: 'TLS full-handshake connection rate vs bare node:tls', wanted: '≥ 0.95×', measured: ratio(median(connRatios)), met: median(connRatios) >= 0.95 },
    ];
    return { targets, markdown };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { markdown, targets } = await run();
  process.stdout.write(markdown + '\n');
  for (const t of targets) log(`${t.met ? 'met' : 'MISSED'}: ${t.target}: ${t.measured} (wanted ${t.wanted})`);
}
