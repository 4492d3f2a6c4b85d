import { closeSync, fstatSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { formatEndpoint } from '../../address.js';
import { SocklabError } from '../../errors.js';
import { dial, type DialOptions } from '../../nc/dial.js';
import { NCAT_DEFAULT_MAX_CONNS, NCAT_DEFAULT_PORT, runListen } from '../../nc/listen.js';
import { PROXY_DEFAULT_PORTS, proxyHandshake, type ProxyDns, type ProxyType } from '../../nc/proxy-client.js';
import { parsePortList, scanPorts } from '../../nc/scan.js';
import { runSession, type SessionOptions } from '../../nc/session.js';
import { LendingReader } from '../../pipe/_lending-reader.js';
import { SessionLog } from '../../pipe/session-log.js';
import { accessLists, defineCommand, parsePort, println, untilAborted, usageError, type Command, type Io, type ParsedArgs } from '../command.js';
import { countVerbose, NC_FLAGS } from '../nc/flags.js';
import { accessFrom, checkCombinations, execFrom, targetFrom, timeFlag, type NcValues } from '../nc/options.js';

/**
 * Errors ncat exits 2 for, not 1: not about the network (a file that cannot be read, a bad certificate), and a
 * host name that does not resolve (or -n with a name), in every mode.
 */
const LOCAL_ERRORS = new Set(['SL_ERR_LOG_FILE', 'SL_ERR_TLS_CONFIG', 'SL_ERR_EXEC', 'SL_ERR_RESOLVE']);

const command = defineCommand({
  name: 'nc',
  summary: 'A netcat: raw bytes between stdin/stdout and a socket, with ncat\'s options and behaviour',
  description: [
    'Connect mode: socklab nc [options] host [port]. Listen mode: socklab nc -l [options] [host] [port].',
    'Bytes pass through untouched both ways; stdout carries only what the peer sent, every diagnostic goes to',
    'stderr (-v, -vv). The end of stdin sends FIN and nc keeps reading until the peer closes; the peer\'s FIN',
    'ends nc. Listen mode serves one client, then exits; -k serves any number at once.',
    'Exit codes (as ncat): 0 success, 1 a network error, 2 anything else (bad option, unreadable file, a host name that does not resolve).',
    'Times take ncat\'s units: 500ms, 2s, 1m, 1h (a bare number is seconds).',
  ].join('\n'),
  positionals: [
    { name: 'host', description: 'Host to connect to; with -l, the address to listen on (default: every address); with -U, the socket path' },
    { name: 'port', description: 'Port (default 31337); with -z, a list like 20-30,80,443' },
  ],
  options: NC_FLAGS,
  examples: [
    'socklab nc -l 9000 > received.bin        # and on the other side: socklab nc 127.0.0.1 9000 < file.bin',
    "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | socklab nc 127.0.0.1 8000   # against python3 -m http.server 8000",
    "printf 'PING\\r\\n' | socklab nc 127.0.0.1 6379   # a redis-server",
    'socklab nc -lk 9000 -e /bin/cat          # an echo server, one program per client',
    'socklab nc -z -v 127.0.0.1 20-30,80,443  # which ports are open',
    'echo hi | socklab nc -u 127.0.0.1 9999',
  ],
  run: (args, io) => runNc(args as ParsedArgs<typeof NC_FLAGS>, io),
});

/** The verbosity counted before parsing (the shared parser keeps one value per flag). */
let verboseCount = 0;

const nc: Command = {
  ...command,
  parse(argv) {
    const { verbose, rest } = countVerbose(argv);
    verboseCount = verbose;
    return command.parse(rest);
  },
};
export default nc;

async function runNc(args: ParsedArgs<typeof NC_FLAGS>, io: Io): Promise<number> {
  const values = args.values;
  const verbose = verboseCount;
  const report = (level: number, line: string): void => {
    if (verbose >= level) println(io.stderr, `socklab nc: ${line}`);
  };
  try {
    checkCombinations(values);
    return await dispatch(values, args.positionals, io, report);
  } catch (err) {
    if (err instanceof SocklabError && LOCAL_ERRORS.has(err.code)) {
      println(io.stderr, `socklab nc: ${err.message} [${err.code}]`);
      return 2;
    }
    throw err;
  }
}

type Report = (level: number, line: string) => void;


async function dispatch(values: NcValues, positionals: string[], io: Io, report: Report): Promise<number> {
  const target = targetFrom(values, positionals, NCAT_DEFAULT_PORT);
  const family = values.ipv4 ? 4 : values.ipv6 ? 6 : undefined;
  if (values.zero) return scan(values, target.host!, target.portText, family, report, io);
  if (values.chat) return chat(values, target, io, report);
  if (values.listen && values['proxy-type'] === 'http') {
    const { runHttpProxyServer } = await import('../../nc/http-proxy-server.js');
    const onListening = (): void => void (values.test && println(io.stderr, 'NCAT TEST: LISTEN'));
    const auth = values['proxy-auth'] ?? process.env['NCAT_PROXY_AUTH'];
    await runHttpProxyServer({ host: target.host, port: target.port, family, access: accessFrom(values), auth, onListening, report, signal: io.signal });
    return 0;
  }
  const log = SessionLog.open({ outputPath: values.output, hexPath: values['hex-dump'], append: values['append-output'] === true });
  const session: SessionOptions = {
    input: stdinFor(values, io),
    output: io.stdout,
    outputFd: io.stdout === process.stdout ? 1 : undefined,
    sendOnly: values['send-only'] === true,
    recvOnly: values['recv-only'] === true,
    noShutdown: values['no-shutdown'] === true,
    halfOpen: !values.listen && values['keep-open'] === true,
    closeOutput: () => closeStdout(io),
    quitAfterInputEndMs: timeFlag(values, 'quit') ?? Infinity,
    idleTimeoutMs: timeFlag(values, 'idle-timeout') ?? Infinity,
    delayMs: timeFlag(values, 'delay') ?? 0,
    crlf: values.crlf === true,
    log,
    exec: execFrom(values),
    onProgramStderr: (line) => println(io.stderr, line),
    signal: io.signal,
  };
  const started = performance.now();
  try {
    if (values.udp) {
      const { runUdpConnect, runUdpListen } = await import('../../nc/udp.js');
      // UDP has no FIN: the end of stdin ends the client at once unless -q says to wait for replies.
      const udp = { ...session, input: io.stdin, quitAfterInputEndMs: timeFlag(values, 'quit') ?? 0, report, signal: io.signal };
      if (values.listen) {
        const onListening = (): void => void (values.test && println(io.stderr, 'NCAT TEST: LISTEN'));
        await runUdpListen({ ...udp, host: target.host, port: target.port, family, keepOpen: values['keep-open'] === true, exec: session.exec, onListening });
      } else {
        await runUdpConnect({ host: target.host!, port: target.port, family, localAddress: values.source, localPort: values['source-port'] }, udp);
      }
      return 0;
    }
    if (values.listen) {
      let tls;
      if (values.ssl) {
        const { ncTlsServerOptions } = await import('../nc/tls.js');
        const made = await ncTlsServerOptions(values, target.host);
        tls = made.tls;
        for (const line of made.lines) println(io.stderr, `socklab nc: ${line}`);
      }
      await runListen({
        tls,
        host: target.host,
        port: target.port,
        path: target.path,
        family,
        access: accessFrom(values),
        keepOpen: values['keep-open'] === true || values.broker === true,
        maxConns: values['max-conns'] ?? NCAT_DEFAULT_MAX_CONNS,
        broker: values.broker === true,
        session,
        onListening: () => values.test && println(io.stderr, 'NCAT TEST: LISTEN'),
        report,
        signal: io.signal,
      });
      return 0;
    }
    const connectTimeoutMs = timeFlag(values, 'wait') ?? Infinity;
    const proxy = values.proxy === undefined ? undefined : proxyFrom(values.proxy, values['proxy-type'] ?? 'http');
    const dialOptions: DialOptions = {
      host: proxy?.host ?? target.host!,
      port: proxy?.port ?? target.port,
      path: target.path,
      family,
      noDns: values.nodns === true,
      localAddress: values.source,
      localPort: values['source-port'],
      connectTimeoutMs,
      signal: io.signal,
    };
    const { socket, target: where } = await dial(dialOptions);
    let stream: Socket = socket;
    if (proxy) {
      const auth = values['proxy-auth'] ?? process.env['NCAT_PROXY_AUTH'];
      // ncat's order for HTTP: no credentials first, then on 407 a new connection answering the challenge.
      const reconnect = async (): Promise<Socket> => (await dial(dialOptions)).socket;
      stream = await proxyHandshake(socket, { type: proxy.type, host: target.host!, port: target.port, auth, dns: values['proxy-dns'] as ProxyDns | undefined, reconnect });
      report(1, `Connected to proxy ${where}, tunnel to ${target.host}:${target.port} open.`);
    }
    if (values.ssl) {
      const { startNcTlsClient } = await import('../nc/tls.js');
      const secure = await startNcTlsClient(values, stream, target.host ?? 'localhost', where, io.signal);
      if (values['ssl-alpn'] !== undefined) report(1, secure.alpnProtocol ? `SSL: ALPN protocol ${secure.alpnProtocol}` : 'SSL: no ALPN protocol agreed');
      stream = secure;
    }
    report(1, `Connected to ${where}.`);
    const result = await runSession(stream, session);
    if (result.kind === 'pipe') {
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      report(1, `${result.pipe.bytesSent} bytes sent, ${result.pipe.bytesReceived} bytes received in ${seconds} seconds.`);
    }
    return 0;
  } finally {
    log?.close();
  }
}

/** `--chat`: socklab's chat server (its line format, `<name>: <text>`, is not ncat's `<user1> text`). */
async function chat(values: NcValues, target: { host: string | undefined; port: number }, io: Io, report: Report): Promise<number> {
  const { formatChatEvent, startChatServer } = await import('../../apps/chat-server.js');
  const server = await startChatServer({
    host: target.host ?? '::',
    port: target.port,
    mode: 'chat',
    maxConnections: values['max-conns'] ?? NCAT_DEFAULT_MAX_CONNS,
    ...accessLists(values.allow, values.deny),
    onEvent: (event) => report(1, event.type === 'joined' ? `Connection from ${formatEndpoint(event.peer)}` : formatChatEvent(event)),
  });
  const { address, port } = server.address();
  report(target.port === 0 ? 0 : 1, `Listening on ${address.includes(':') ? `[${address}]` : address}:${port} (chat)`);
  if (values.test) println(io.stderr, 'NCAT TEST: LISTEN');
  await untilAborted(io.signal);
  await server.close();
  return 0;
}

/** `--proxy host[:port]` (IPv6 in brackets), with the protocol's well-known port by default. */
function proxyFrom(text: string, type: string): { host: string; port: number; type: ProxyType } {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(text);
  if (!match) throw usageError(`Option '--proxy' takes host[:port] ([v6addr]:port for IPv6); got '${text}'`);
  const proxyType = type as ProxyType;
  return { host: match[1] ?? match[2]!, port: match[3] === undefined ? PROXY_DEFAULT_PORTS[proxyType] : parsePort(match[3]), type: proxyType };
}

/**
 * The process's stdin, read into a few reused buffers when it is a pipe or a file and one session uses it
 * (connect mode, one-shot listen without -e): the fast path for `cmd | nc host port`. Anything else (a terminal,
 * -k's fan-out, UDP, a caller's own streams) gets the stream.
 */
function stdinFor(values: NcValues, io: Io): Readable | LendingReader {
  const single = !values.udp && !values['keep-open'] && !values.broker && execFrom(values) === undefined && !values['recv-only'];
  if (!single || io.stdout !== process.stdout) return io.stdin;
  let stat;
  try {
    stat = fstatSync(0);
  } catch {
    return io.stdin; // no stdin at all: the stream says so in its own way
  }
  const kind = stat.isFile() ? 'file' : stat.isFIFO() ? 'pipe' : undefined;
  return (kind && LendingReader.open(0, () => io.stdin as Socket, kind)) || io.stdin;
}

/**
 * Closes stdout at the peer's FIN, so the program reading it sees its end while nc may still run (-k). Node never
 * closes fd 1 itself; /dev/null takes its place (the lowest free descriptor) so nothing else is opened as fd 1.
 */
function closeStdout(io: Io): void {
  if (io.stdout !== process.stdout) {
    io.stdout.end();
    return;
  }
  if (process.stdout.isTTY) return;
  closeSync(1);
  openSync('/dev/null', 'w');
}

async function scan(values: NcValues, host: string, portText: string | undefined, family: 4 | 6 | undefined, report: Report, io: Io): Promise<number> {
  if (portText === undefined) throw usageError('-z needs the ports to try: host 20-30,80,443');
  let ports: number[];
  try {
    ports = parsePortList(portText);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  let open = 0;
  const options = { host, family, noDns: values.nodns === true, localAddress: values.source, connectTimeoutMs: timeFlag(values, 'wait') ?? 5000, signal: io.signal };
  for await (const result of scanPorts(options, ports)) {
    if (result.error?.code === 'SL_ERR_RESOLVE') throw result.error;
    if (result.open) {
      open++;
      println(io.stderr, `socklab nc: ${result.target} open`);
    } else report(1, `${result.target} closed: ${result.error?.message ?? 'no answer'} [${result.error?.code ?? '?'}]`);
  }
  return open > 0 ? 0 : 1;
}
