import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { isLoopback, unbracket } from '../../address.js';
import { writeFileSync } from 'node:fs';
import * as hdr from 'hdr-histogram-js';
import { renderHtmlReport } from '../../bench/html-report.js';
import { createLatencyHistogram, formatResult, type BenchResult } from '../../bench/report.js';
import { DASHBOARD_FLAG, parseDashboardAddress, serveDashboard } from '../../dashboard/cli.js';
import { benchSource, type BenchProgress } from '../../dashboard/sources/bench.js';
import { SocklabError } from '../../errors.js';
import { runConnectBench, runHoldBench, runTcpBench, type ReplyFraming } from '../../bench/tcp.js';
import { runUdpBench } from '../../bench/udp.js';
import { resolveTlsClientOptions } from '../../tls/options.js';
import { defineCommand, parsePort, usageError } from '../command.js';
import { JSON_FLAG, UNIX_FLAG, unixPathFrom } from '../flags/output.js';
import { EventOutput } from '../json-events.js';
import { TLS_CLIENT_FLAGS, tlsClientFrom } from '../tls-flags.js';

const MODES = ['tcp', 'hold', 'connect', 'udp'] as const;

export default defineCommand({
  name: 'bench',
  summary: 'Load generator for TCP and UDP servers',
  description: [
    'Measures a server under load and reports throughput, latency percentiles (p50/p90/p99/max, from an HDR',
    'histogram), errors, resets, losses and its own CPU use. Modes:',
    '  tcp      closed-loop request/response: each connection sends a line, waits for the reply, repeats',
    '  hold     open --connections, hold them idle for the duration, then check that each one is still answered',
    '  connect  connection rate: connect, (greeting), one request, reply, close, again',
    '  udp      open-loop "get"s at --rate, at most --outstanding awaiting replies, lost after --timeout-ms',
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
  ],
  options: {
    port: { type: 'number', short: 'p', default: 12345, max: 65_535, description: 'Server port' },
    connections: { type: 'number', short: 'c', default: 100, min: 1, max: 60_000, description: 'Connections (tcp, hold), parallel loops (connect) or sockets (udp)' },
    'duration-ms': { type: 'number', short: 'd', default: 5000, min: 1, max: 3_600_000, description: 'Measured period' },
    'warmup-ms': { type: 'number', default: 1000, max: 600_000, description: 'Unmeasured run before it' },
    payload: { type: 'string', default: 'hello', description: 'Request text (tcp modes add a newline; udp default: get)' },
    greeting: { type: 'boolean', negatable: true, default: true, description: 'The server greets on connect (--no-greeting for servers that do not)' },
    'reply-framing': { type: 'string', default: 'line', choices: ['line', 'read'], description: 'A reply ends at LF, or is one read (servers that reply without newline)' },
    rate: { type: 'number', default: 20_000, min: 1, description: 'udp: requests per second' },
    outstanding: { type: 'number', default: 10_000, min: 1, description: 'udp: requests awaiting a reply at most' },
    'timeout-ms': { type: 'number', default: 5000, min: 1, description: 'Connect timeout; udp and hold: a reply later than this is lost' },
    ...JSON_FLAG,
    'interval-ms': { type: 'number', default: 1000, min: 100, description: 'With --json: one "interval" line this often while running (like iperf3 --json-stream)' },
    'hdr-log': { type: 'string', placeholder: 'file', description: 'Write the latency histogram of the measured period as an HdrHistogram log (HistogramLogProcessor, HdrHistogram plotters read it)' },
    ...UNIX_FLAG,
    'allow-remote': { type: 'boolean', description: 'Allow a target that is not loopback' },
    report: { type: 'string', placeholder: 'file.html', description: 'Also write a self-contained HTML report: rate over time and an HDR latency plot' },
    dashboard: DASHBOARD_FLAG,
    ...TLS_CLIENT_FLAGS,
  },
  examples: [
    'socklab bench tcp --port 12345 --connections 100 --duration-ms 5000',
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
    const port = portText === undefined ? values.port : parsePort(portText);
    const tlsFlags = tlsClientFrom(values, io.stderr);
    if (tlsFlags && mode === 'udp') throw usageError("Option '--tls' is for the tcp, hold and connect modes");
    // Connections go to the resolved address, but the certificate must name the host as typed (as the client checks it).
    const tls = tlsFlags ? resolveTlsClientOptions({ ...(isIP(unbracket(hostArg)) === 0 ? { servername: unbracket(hostArg) } : {}), ...tlsFlags }) : undefined;
    const host = unbracket(hostArg);
    const path = unixPathFrom(values.unix);
    if (path !== undefined && mode === 'udp') throw usageError('--unix is a stream socket: use it with tcp, hold or connect');
    if (path !== undefined && tls) throw usageError("Options '--tls' and '--unix' do not combine in bench: load a TLS server over TCP");
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
    const histogram = createLatencyHistogram();
    const live: BenchProgress = { mode, target: path ?? `${host}:${port}`, histogram, fraction: 0, completed: 0 };
    const dashboard =
      values.dashboard === undefined ? undefined : await serveDashboard(values.dashboard, benchSource(live), (line) => out.note(line), (line) => out.note(line));
    const showProgress = io.stderr === process.stderr && process.stderr.isTTY === true && !values.json;
    const bar = showProgress ? new cliProgress.SingleBar({ format: `${mode} {bar} {percentage}% | {completed} done`, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(100, 0, { completed: 0 });
    const intervals = values.json ? intervalReporter(out, mode, values['warmup-ms'], values['duration-ms'], values['interval-ms']) : undefined;
    const onProgress = (fraction: number, completed: number): void => {
      live.fraction = fraction;
      live.completed = completed;
      bar?.update(Math.round(fraction * 100), { completed });
      intervals?.(fraction, completed);
    };
    const common = { host: address, port, ...(path === undefined ? {} : { path }), durationMs: values['duration-ms'], warmupMs: values['warmup-ms'], timeoutMs: values['timeout-ms'], onProgress, histogram, signal: io.signal };
    let result: BenchResult;
    try {
      if (mode === 'udp') {
        result = await runUdpBench({
          ...common,
          sockets: values.connections,
          ratePerSec: values.rate,
          maxOutstanding: values.outstanding,
          payload: values.payload === 'hello' ? 'get' : values.payload,
        });
      } else {
        const options = { ...common, ...(tls ? { tls } : {}), connections: values.connections, payload: values.payload, greeting: values.greeting, replyFraming: values['reply-framing'] as ReplyFraming };
        result = await (mode === 'tcp' ? runTcpBench : mode === 'hold' ? runHoldBench : runConnectBench)(options);
      }
    } finally {
      bar?.stop();
      await dashboard?.close();
    }
    if (values.report !== undefined) {
      try {
        await writeFile(values.report, renderHtmlReport(result));
      } catch (err) {
        throw new SocklabError('SL_ERR_REPORT', `Cannot write the report to ${values.report}: ${(err as Error).message}`, { cause: err });
      }
      out.note(`report written to ${values.report}`);
    }
    if (values['hdr-log'] !== undefined) writeHdrLog(values['hdr-log'], result, histogram);
    if (values.json) out.event('summary', { totals: result });
    else io.stdout.write(formatResult(result));
    return result.errors > 0 || result.lost > 0 ? 1 : 0;
  },
});

/** Turns the bench's progress callbacks into one `interval` event per `intervalMs` (iperf3 --json-stream style). */
function intervalReporter(out: EventOutput, mode: string, warmupMs: number, durationMs: number, intervalMs: number): (fraction: number, completed: number) => void {
  const totalMs = warmupMs + durationMs;
  let startMs = 0;
  let startCompleted = 0;
  return (fraction, completed) => {
    const nowMs = fraction * totalMs;
    if (nowMs - startMs < intervalMs && fraction < 1) return;
    const spanMs = nowMs - startMs;
    if (spanMs <= 0) return;
    const done = completed - startCompleted;
    out.event('interval', { mode, startMs: Math.round(startMs), endMs: Math.round(nowMs), completed: done, perSec: Math.round((done * 1000) / spanMs), measuring: nowMs > warmupMs });
    startMs = nowMs;
    startCompleted = completed;
  };
}

/** The measured period's latencies (µs), recorded into `histogram` by the run, as an HdrHistogram log: one interval histogram, values shown in ms. */
function writeHdrLog(file: string, result: BenchResult, histogram: hdr.Histogram): void {
  let text = '';
  const writer = new hdr.HistogramLogWriter((line: string) => (text += line));
  const endMs = Date.now();
  writer.outputComment(`socklab bench ${result.mode} ${result.target}: latency in microseconds`);
  writer.outputLogFormatVersion();
  writer.outputStartTime(endMs - result.measuredMs);
  writer.outputLegend();
  writer.outputIntervalHistogram(histogram, 0, result.measuredMs / 1000, 1000);
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw usageError(`Cannot write --hdr-log file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
