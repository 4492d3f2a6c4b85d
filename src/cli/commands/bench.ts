import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isLoopback, unbracket } from '../../address.js';
import { renderHtmlReport } from '../../bench/html-report.js';
import { createLatencyHistogram, formatResult, type BenchResult } from '../../bench/report.js';
import { DASHBOARD_FLAG, parseDashboardAddress, serveDashboard } from '../../dashboard/cli.js';
import { benchSource, type BenchProgress } from '../../dashboard/sources/bench.js';
import { SocklabError } from '../../errors.js';
import { runConnectBench, runHoldBench, runTcpBench, type ReplyFraming as HoldFraming } from '../../bench/tcp.js';
import { REPLY_FRAMINGS, type ReplyFraming } from '../../bench/_reply-framing.js';
import { checksFrom, DEFAULT_DURATION_MS, greetingFor, parseErrorRate, planFrom, refuseForMode } from './_bench-flags.js';
import { intervalReporter, reportVerdict, tcpIntervalEvent, writeHdrLog } from './_bench-output.js';
import { runUdpBench } from '../../bench/udp.js';
import { runModeWorkers } from '../../bench/mode-workers.js';
import type { ThroughputDirection } from '../../bench/throughput.js';
import { benchThroughput } from './_bench-throughput.js';
import { compareCommand } from './_bench-compare.js';
import { findListenerPid, serverCpuMeter } from '../../bench/server-cpu.js';
import { resolveTlsClientOptions } from '../../tls/options.js';
import { defineCommand, parsePort, usageError } from '../command.js';
import { JSON_FLAG, UNIX_FLAG, unixPathFrom } from '../flags/output.js';
import { EventOutput } from '../json-events.js';
import { TLS_CLIENT_FLAGS, tlsClientFrom } from '../tls-flags.js';

const MODES = ['tcp', 'hold', 'connect', 'udp', 'throughput', 'compare'] as const;

export default defineCommand({
  name: 'bench',
  summary: 'Load generator for TCP and UDP servers',
  description: [
    'Measures a server under load and reports throughput, latency percentiles (p50/p90/p99/max, from an HDR',
    'histogram), errors, resets, losses and its own CPU use. Modes:',
    '  tcp      request/response. Closed loop by default: each connection sends, waits for the reply, repeats',
    '           (--inflight K keeps K requests in flight per connection: pipelining). Open loop with --rate R',
    '           (or --stages): requests fall due at fixed intended times from one plan whatever the server does,',
    '           and latency is measured from the intended time (coordinated-omission corrected, like wrk2 -R);',
    '           the service time from the actual write and the send lag are reported beside it.',
    '  hold     open --connections, hold them idle for the duration, then check that each one is still answered',
    '  connect  connection rate: connect, (greeting), one request, reply, close, again',
    '  udp      open-loop "get <id>"s at --rate, replies matched by id, at most --outstanding awaiting replies,',
    '           lost after --timeout-ms',
    '  compare  a.json b.json …: saved --json results side by side with their ratios to the first; with',
    '           --report cmp.html their latency percentile curves on one plot',
    '  throughput  bulk transfer over -P streams, MB/s per interval and in all (like iperf3, against any peer:',
    '           --direction send to a sink such as serve --mode discard, receive from chargen, both with echo)',
    '',
    'Replies are cut out of the stream by --reply-framing (line, read, fixed --reply-bytes N, length, resp for',
    'redis, http for HTTP/1.1 keep-alive) and every one is checked: --expect PREFIX, --expect /regex/ or',
    "--expect '!/regex/' (must not match; a pattern starting with - is written --expect=-ERR); resp and http",
    'fail error replies (-ERR, 4xx/5xx) by default. A reply that fails, a reply timeout, a connection the',
    'server closes or resets (unless --reconnect) and a dropped request are failures: past --max-error-rate',
    '(default 0: any) the run exits 1 and says which.',
    'Several --payload flags rotate; {seq}, {conn} and {rand:N} in a payload are replaced per request, and',
    '\\r \\n \\t are the control characters.',
    '',
    'Every run is bounded by --warmup-ms + --duration-ms and stops by itself. Targets must be loopback',
    '(127.0.0.0/8, ::1, localhost) unless --allow-remote: load only machines you own. --unix PATH loads a',
    'server on a UNIX domain socket (tcp, hold and connect modes).',
    '',
    '--json streams one "interval" line per --interval-ms, then a "summary" line with the result (the',
    'interval and summary lines of docs/json-events.md). Latencies are in microseconds.',
    '',
    'TLS (--tls, modes tcp, hold and connect): every connection does a full handshake (no session resumption)',
    'and checks the certificate like the client does (--ca, --fingerprint, or --insecure).',
  ].join('\n'),
  positionals: [
    { name: 'mode', description: `What to measure: ${MODES.join(', ')}` },
    { name: 'host', description: 'Server host (default: 127.0.0.1)' },
    { name: 'port', description: 'Server port, instead of --port' },
    { name: 'more', description: 'compare: the third and later result files', rest: true },
  ],
  options: {
    port: { type: 'number', short: 'p', default: 12345, max: 65_535, description: 'Server port' },
    connections: { type: 'number', short: 'c', default: 100, min: 1, max: 60_000, description: 'Connections (tcp, hold), parallel loops (connect) or sockets (udp)' },
    'duration-ms': { type: 'number', short: 'd', min: 1, max: 3_600_000, description: `Measured period (default: ${DEFAULT_DURATION_MS})` },
    'warmup-ms': { type: 'number', default: 1000, max: 600_000, description: 'Unmeasured run before it' },
    payload: { type: 'string', multiple: true, description: 'Request (default: hello; udp: get). Give it again to rotate; {seq} {conn} {rand:N} templates; resp: words, sent as a command; http: "GET /path"' },
    greeting: { type: 'boolean', negatable: true, description: 'The server greets on connect (default: yes for line and read framing, no for the others)' },
    'reply-framing': { type: 'string', default: 'line', choices: REPLY_FRAMINGS, description: 'How a reply ends: LF, one read, --reply-bytes, 4-byte length, RESP value, HTTP/1.1 response' },
    'reply-bytes': { type: 'number', min: 1, description: 'tcp, --reply-framing fixed: every reply is this many bytes' },
    'line-end': { type: 'string', choices: ['lf', 'crlf'], description: 'tcp, line framing: what ends a request line (default: lf)' },
    expect: { type: 'string', multiple: true, placeholder: 'pattern', description: "tcp: every reply must start with this, match /regex/, or not match '!/regex/'" },
    'max-error-rate': { type: 'string', placeholder: 'fraction', description: 'tcp: failed requests allowed, 0.01 or 1% (default: 0, any failure fails the run)' },
    reconnect: { type: 'boolean', description: 'tcp: reopen a connection the server closed or reset (counted, not a failure)' },
    rate: { type: 'number', min: 1, description: 'Requests per second over all connections: tcp open loop; udp (default: 20000)' },
    stages: { type: 'string', placeholder: 'R@MS,…', description: "tcp open loop: a plan of stages, RATE@MS or FROM-TO@MS (a ramp), e.g. '0-5000@2000,5000@10000'" },
    arrival: { type: 'string', choices: ['uniform', 'poisson'], description: 'tcp open loop: evenly spaced intended times, or poisson arrivals (default: uniform)' },
    seed: { type: 'number', description: 'tcp: seeds poisson arrivals and {rand:N} (default: 1)' },
    inflight: { type: 'number', min: 1, max: 10_000, description: 'tcp: requests in flight per connection (default: 1, lockstep; more pipelines)' },
    'on-behind': { type: 'string', choices: ['queue', 'drop'], description: 'tcp open loop, every connection busy: queue the request (its latency keeps counting) or drop it (a failure) (default: queue)' },
    outstanding: { type: 'number', min: 1, description: 'udp: requests awaiting a reply at most (default: 10000)' },
    'timeout-ms': { type: 'number', default: 5000, min: 1, description: 'Connect and greeting timeout; a reply later than this is a failure (tcp) or lost (udp, hold)' },
    ...JSON_FLAG,
    'interval-ms': { type: 'number', default: 1000, min: 100, description: 'With --json: one "interval" line this often while running (like iperf3 --json-stream); tcp: also the report\'s time resolution' },
    'hdr-log': { type: 'string', placeholder: 'file', description: 'Write the measured latency histograms as an HdrHistogram log (tcp: tagged latency and service), for HistogramLogProcessor and HdrHistogram plotters' },
    workers: { type: 'number', min: 1, max: 64, description: 'Worker threads; tcp, udp: one global plan split between them; hold, connect: the connections split; histograms merged (default: 1)' },
    streams: { type: 'number', short: 'P', min: 1, max: 128, description: 'throughput: parallel streams (default: 1)' },
    direction: { type: 'string', choices: ['send', 'receive', 'both'], description: 'throughput: which way the bytes flow (default: send)' },
    'chunk-bytes': { type: 'number', min: 1, max: 16 * 1024 * 1024, description: 'throughput: bytes per write (default: 131072)' },
    'server-pid': { type: 'number', min: 1, description: 'Measure this server process\'s CPU (Linux /proc). Default: the process listening on the target port, if this user may see it' },
    ...UNIX_FLAG,
    'allow-remote': { type: 'boolean', description: 'Allow a target that is not loopback' },
    report: { type: 'string', placeholder: 'file.html', description: 'Also write a self-contained HTML report: what was run, rate, latency and failures over time, HDR percentile curves (corrected and uncorrected)' },
    dashboard: DASHBOARD_FLAG,
    ...TLS_CLIENT_FLAGS,
  },
  examples: [
    'socklab bench tcp --port 12345 --connections 100 --duration-ms 5000',
    'socklab bench throughput 127.0.0.1 9 -P 2 --direction send       # to serve --mode discard --port 9',
    'socklab bench compare before.json after.json --report cmp.html    # runs saved with --json > file',
    'socklab bench tcp -c 4 --rate 2000 -d 10000                # open loop: latency from the intended send time',
    "socklab bench tcp 127.0.0.1 6379 --reply-framing resp --payload PING --payload 'SET k:{rand:1000} v' -c 8",
    "socklab bench tcp 127.0.0.1 8000 --reply-framing http --payload 'GET /' --expect '/^HTTP\\/1.1 200/'",
    'socklab bench tcp 127.0.0.1 6379 --reply-framing resp --payload PING --inflight 16   # pipelined, like redis-benchmark -P 16',
    'socklab bench hold -c 10000 --duration-ms 10000',
    'socklab bench connect -c 8',
    'socklab bench udp --rate 20000 --outstanding 10000 --timeout-ms 1000',
    'socklab bench tcp --no-greeting --reply-framing read   # the seed\'s async_server.py',
    'socklab bench tcp --report bench.html                  # open bench.html in a browser, no network needed',
    'socklab bench tcp -d 30000 --dashboard 9000            # watch it live on http://127.0.0.1:9000/',
    'socklab bench tcp --json --hdr-log latency.hlog | jq .perSec',
    'socklab bench tcp --unix /tmp/socklab.sock',
    'socklab bench connect --tls --fingerprint sha256:AB:…  # full TLS handshakes per second',
  ],
  async run({ values, positionals }, io) {
    const [mode, hostArg = '127.0.0.1', portText] = positionals;
    if (mode === undefined || !(MODES as readonly string[]).includes(mode)) throw usageError(`Say what to measure: ${MODES.join(', ')}`);
    if (mode === 'compare') return await compareCommand(positionals.slice(1), values, io);
    if (positionals.length > 3) throw usageError(`Unexpected argument '${positionals[3]}'`);
    refuseForMode(mode, values);
    const port = portText === undefined ? values.port : parsePort(portText);
    const tlsFlags = tlsClientFrom(values, io.stderr);
    if (tlsFlags && mode === 'udp') throw usageError("Option '--tls' is for the tcp, hold and connect modes");
    // Connections go to the resolved address, but the certificate must name the host as typed (as the client checks it).
    const tls = tlsFlags ? resolveTlsClientOptions({ ...(isIP(unbracket(hostArg)) === 0 ? { servername: unbracket(hostArg) } : {}), ...tlsFlags }) : undefined;
    const host = unbracket(hostArg);
    const path = unixPathFrom(values.unix);
    if (path !== undefined && mode === 'udp') throw usageError('--unix is a stream socket: use it with tcp, hold or connect');
    if (path !== undefined && tls) throw usageError("Options '--tls' and '--unix' do not combine in bench: load a TLS server over TCP");
    const maxErrorRate = parseErrorRate(values['max-error-rate']);
    const plan = mode === 'tcp' ? planFrom(values) : undefined;
    const durationMs = plan ? plan.stages.reduce((sum, stage) => sum + stage.durationMs, 0) - values['warmup-ms'] : (values['duration-ms'] ?? DEFAULT_DURATION_MS);
    let address = '127.0.0.1';
    if (path === undefined) {
      try {
        address = (await lookup(host)).address;
      } catch {
        throw usageError(`Cannot resolve host "${host}"`);
      }
    }
    const out = new EventOutput(io, values.json === true);
    if (path === undefined && !isLoopback(address) && !values['allow-remote']) {
      throw usageError(`Refusing to load ${host} (${address}): not a loopback address. Pass --allow-remote for a machine you own`);
    }
    if (values.dashboard !== undefined) parseDashboardAddress(values.dashboard);
    if (values.report !== undefined && !values.report.endsWith('.html')) throw usageError(`Option '--report' takes a file name ending in .html; got '${values.report}'`);
    // Looked up while the dashboard starts; awaited just before the run.
    const serverLookup = values['server-pid'] === undefined && path === undefined && process.platform === 'linux' ? findListenerPid(port, mode === 'udp' ? 'udp' : 'tcp') : Promise.resolve(undefined);
    const histogram = createLatencyHistogram();
    const serviceHistogram = createLatencyHistogram();
    const live: BenchProgress = { mode, target: path ?? `${host}:${port}`, histogram, fraction: 0, completed: 0 };
    const dashboard =
      values.dashboard === undefined ? undefined : await serveDashboard(values.dashboard, benchSource(live), (line) => out.note(line), (line) => out.note(line));
    const showProgress = io.stderr === process.stderr && process.stderr.isTTY === true && !values.json;
    // cli-progress is loaded only for a terminal: piped and --json runs start faster without it.
    const cliProgress = showProgress ? (await import('cli-progress')).default : undefined;
    const bar = cliProgress ? new cliProgress.SingleBar({ format: `${mode} {bar} {percentage}% | {completed} done`, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(100, 0, { completed: 0 });
    const intervals = values.json && mode !== 'tcp' ? intervalReporter(out, mode, values['warmup-ms'], durationMs, values['interval-ms']) : undefined;
    const onProgress = (fraction: number, completed: number): void => {
      live.fraction = fraction;
      live.completed = completed;
      bar?.update(Math.round(fraction * 100), { completed });
      intervals?.(fraction, completed);
    };
    const common = { host: address, port, ...(path === undefined ? {} : { path }), durationMs, warmupMs: values['warmup-ms'], timeoutMs: values['timeout-ms'], onProgress, histogram, signal: io.signal };
    if (mode === 'throughput') {
      try {
        return await benchThroughput({ ...common, ...(tls ? { tls } : {}), streams: values.streams ?? 1, direction: (values.direction ?? 'send') as ThroughputDirection, intervalMs: values['interval-ms'], chunkBytes: values['chunk-bytes'] ?? 128 * 1024, target: path ?? `${host}:${port}`, signal: io.signal }, out);
      } finally {
        bar?.stop();
      }
    }
    const payloads = values.payload ?? [mode === 'udp' ? 'get' : 'hello'];
    const serverPid = values['server-pid'] ?? (path === undefined && process.platform === 'linux' ? await serverLookup : undefined);
    const serverMeter = serverPid !== undefined && mode !== 'tcp' ? serverCpuMeter(serverPid) : undefined;
    let result: BenchResult;
    try {
      if (mode === 'udp') {
        const udp = { ...common, sockets: values.connections, ratePerSec: values.rate ?? 20_000, maxOutstanding: values.outstanding ?? 10_000, payload: payloads[0]! };
        result = (values.workers ?? 1) > 1 ? await runModeWorkers('udp', udp, values.workers!) : await runUdpBench(udp);
      } else if (mode === 'tcp') {
        const framing = values['reply-framing'] as ReplyFraming;
        const settings = {
          connections: values.connections,
          payloads,
          framing,
          ...(values['reply-bytes'] === undefined ? {} : { replyBytes: values['reply-bytes'] }),
          lineEnd: values['line-end'] === 'crlf' ? '\r\n' : '\n',
          greeting: greetingFor(values, framing),
          inflight: values.inflight ?? 1,
          onBehind: (values['on-behind'] ?? 'queue') as 'queue' | 'drop',
          reconnect: values.reconnect === true,
          maxErrorRate,
          seed: values.seed ?? 1,
          intervalMs: values['interval-ms'],
          workers: values.workers ?? 1,
        };
        result = await runTcpBench({
          ...common,
          ...settings,
          ...(tls ? { tls } : {}),
          ...(plan ? { plan } : {}),
          checks: checksFrom(values, framing),
          maxReplyBytes: 1024 * 1024,
          serviceHistogram,
          ...(serverPid === undefined ? {} : { serverPid }),
          ...(values.json ? { onInterval: (stats) => tcpIntervalEvent(out, stats) } : {}),
          config: { ...commandLine(), version: socklabVersion(), target: path ?? `${host}:${port}`, ...settings, ...(plan ? { plan } : {}), expect: checksFrom(values, framing).map((c) => c.source), warmupMs: values['warmup-ms'], durationMs, timeoutMs: values['timeout-ms'] },
        });
      } else {
        const options = { ...common, ...(tls ? { tls } : {}), connections: values.connections, payload: payloads[0]!, greeting: values.greeting ?? true, replyFraming: values['reply-framing'] as HoldFraming };
        result = (values.workers ?? 1) > 1 ? await runModeWorkers(mode as 'hold' | 'connect', options, values.workers!) : await (mode === 'hold' ? runHoldBench : runConnectBench)(options);
      }
    } finally {
      bar?.stop();
      await dashboard?.close();
    }
    const serverCpu = serverMeter?.stop();
    if (serverCpu) result = { ...result, serverCpu };
    if (serverPid !== undefined && !result.serverCpu) out.note(`server CPU: cannot read /proc/${serverPid}/stat (not this user's process, or it exited)`);
    if (values.report !== undefined) {
      try {
        await writeFile(values.report, renderHtmlReport(result));
      } catch (err) {
        throw new SocklabError('SL_ERR_REPORT', `Cannot write the report to ${values.report}: ${(err as Error).message}`, { cause: err });
      }
      out.note(`report written to ${values.report}`);
    }
    if (values['hdr-log'] !== undefined) {
      await writeHdrLog(values['hdr-log'], result, mode === 'tcp' ? [{ tag: 'latency', histogram }, { tag: 'service', histogram: serviceHistogram }] : [{ tag: 'latency', histogram }]);
    }
    if (values.json) out.event('summary', { totals: result });
    else io.stdout.write(formatResult(result));
    if (mode === 'tcp') {
      reportVerdict(out, result, maxErrorRate);
      return result.failed ? 1 : 0;
    }
    return result.errors > 0 || result.lost > 0 ? 1 : 0;
  },
});

/** The command line as typed, when this process is the socklab CLI (not a test calling the command in-process). */
function commandLine(): { command?: string } {
  const script = process.argv[1] ?? '';
  return /socklab(\.c?js)?$/.test(script) ? { command: ['socklab', ...process.argv.slice(2)].join(' ') } : {};
}

/** socklab's version, from its package.json (dist/src/cli/commands/ is four levels below it). */
function socklabVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
