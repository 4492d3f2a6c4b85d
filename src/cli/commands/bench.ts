import { lookup } from 'node:dns/promises';
import cliProgress from 'cli-progress';
import { isLoopback, unbracket } from '../../address.js';
import { formatResult, type BenchResult } from '../../bench/report.js';
import { runConnectBench, runHoldBench, runTcpBench, type ReplyFraming } from '../../bench/tcp.js';
import { runUdpBench } from '../../bench/udp.js';
import { resolveTlsClientOptions } from '../../tls/options.js';
import { defineCommand, parsePort, println, usageError } from '../command.js';
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
    '(127.0.0.0/8, ::1, localhost) unless --allow-remote: load only machines you own.',
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
    json: { type: 'boolean', description: 'Print the result as JSON on stdout' },
    'allow-remote': { type: 'boolean', description: 'Allow a target that is not loopback' },
    ...TLS_CLIENT_FLAGS,
  },
  examples: [
    'socklab bench tcp --port 12345 --connections 100 --duration-ms 5000',
    'socklab bench hold -c 10000 --duration-ms 10000',
    'socklab bench connect -c 8',
    'socklab bench udp --rate 20000 --outstanding 10000 --timeout-ms 1000',
    'socklab bench tcp --no-greeting --reply-framing read   # the seed\'s async_server.py',
    'socklab bench connect --tls --fingerprint sha256:AB:…  # full TLS handshakes per second',
  ],
  async run({ values, positionals }, io) {
    const [mode, hostArg = '127.0.0.1', portText] = positionals;
    if (mode === undefined || !(MODES as readonly string[]).includes(mode)) throw usageError(`Say what to measure: ${MODES.join(', ')}`);
    const port = portText === undefined ? values.port : parsePort(portText);
    const tlsFlags = tlsClientFrom(values, io.stderr);
    if (tlsFlags && mode === 'udp') throw usageError("Option '--tls' is for the tcp, hold and connect modes");
    const tls = tlsFlags ? resolveTlsClientOptions(tlsFlags) : undefined;
    const host = unbracket(hostArg);
    let address: string;
    try {
      address = (await lookup(host)).address;
    } catch {
      throw usageError(`Cannot resolve host "${host}"`);
    }
    if (!isLoopback(address) && !values['allow-remote']) {
      throw usageError(`Refusing to load ${host} (${address}): not a loopback address. Pass --allow-remote for a machine you own`);
    }
    const showProgress = io.stderr === process.stderr && process.stderr.isTTY === true && !values.json;
    const bar = showProgress ? new cliProgress.SingleBar({ format: `${mode} {bar} {percentage}% | {completed} done`, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(100, 0, { completed: 0 });
    const onProgress = (fraction: number, completed: number): void => bar?.update(Math.round(fraction * 100), { completed });
    const common = { host: address, port, durationMs: values['duration-ms'], warmupMs: values['warmup-ms'], timeoutMs: values['timeout-ms'], onProgress, signal: io.signal };
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
    }
    if (values.json) println(io.stdout, JSON.stringify(result));
    else io.stdout.write(formatResult(result));
    return result.errors > 0 || result.lost > 0 ? 1 : 0;
  },
});
