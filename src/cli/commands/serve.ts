import { formatEndpoint, isLoopback } from '../../address.js';
import { formatServerEvent, SERVE_MODES, startMessageServer, type ServeMode, type ServerEvent } from '../../apps/message-server.js';
import { FRAMINGS, type Framing } from '../../codec/framing.js';
import type { LineEnding } from '../../codec/lines.js';
import { DEFAULTS } from '../../options.js';
import type { TcpConnection } from '../../tcp/connection.js';
import { accessLists, defineCommand, untilAborted, usageError, type OptionSpec, type OptionValues } from '../command.js';
import { EXEC_FLAGS, execCommandFrom, serveExec } from '../flags/exec.js';
import { JSON_FLAG, openTracer, TRACE_FLAGS, UNIX_FLAG, unixPathFrom } from '../flags/output.js';
import { EventOutput } from '../json-events.js';

/** A message server's event as a `--json` line. */
function eventFields(event: ServerEvent): Record<string, unknown> {
  const { type: _type, error: _error, totals, ...rest } = event as ServerEvent & { error?: unknown; totals?: Record<string, number> };
  return { ...rest, ...totals };
}

const OPTIONS = {
  host: { type: 'string', default: '127.0.0.1', placeholder: 'addr', description: 'Address to listen on; 0.0.0.0 or :: serves the network' },
  port: { type: 'number', short: 'p', default: 12345, max: 65_535, description: 'Port; 0 picks a free one (printed)' },
  mode: { type: 'string', short: 'm', default: 'concurrent', choices: SERVE_MODES, description: 'How clients are served' },
  greeting: { type: 'string', description: "Greeting sent on connect (default: the seed's text for the mode)" },
  'no-greeting': { type: 'boolean', description: 'Send no greeting (like async_server.py, whose greeting never goes out)' },
  reply: { type: 'string', description: 'Reply to each message; {message} is replaced by the message (default: the seed\'s text)' },
  quit: { type: 'string', default: 'quit', description: 'The message that ends a session' },
  once: { type: 'boolean', negatable: true, description: 'Exit after the first client (default in greet mode)' },
  framing: { type: 'string', default: 'auto', choices: FRAMINGS, description: 'How incoming bytes become messages' },
  eol: { type: 'string', default: 'lf', choices: ['lf', 'crlf', 'none'], description: 'Line ending after each line sent' },
  'greet-at-accept': { type: 'boolean', description: "Greet at once instead of after reading what the client sent first (faster; can merge the seed client's first two messages)" },
  quiet: { type: 'boolean', short: 'q', description: 'Do not log messages (connects and closes are still logged)' },
  'max-connections': { type: 'number', min: 1, allowInfinity: true, description: `Clients at once; more are told "server full" (default: ${DEFAULTS.maxConnections}; ${DEFAULTS.execMaxConnections} with --exec)` },
  'max-message-bytes': { type: 'number', default: DEFAULTS.maxMessageBytes, min: 1, description: 'Longest message; a longer one closes the connection with an error line' },
  'idle-timeout-ms': { type: 'number', default: DEFAULTS.idleTimeoutMs, min: 1, allowInfinity: true, description: 'Close clients silent for this long' },
  'message-timeout-ms': { type: 'number', default: DEFAULTS.messageTimeoutMs, min: 1, allowInfinity: true, description: 'Close a client whose started message does not end within this (slowloris)' },
  'max-buffered-bytes': { type: 'number', default: DEFAULTS.maxBufferedBytes, min: 1, description: 'Output queued for a client that does not read; past it the client is cut off' },
  'output-soft-limit-bytes': { type: 'number', default: DEFAULTS.outputSoftLimitBytes, min: 1, description: 'Output queued above this is tolerated for --output-soft-limit-ms only' },
  'output-soft-limit-ms': { type: 'number', default: DEFAULTS.outputSoftLimitMs, min: 1, allowInfinity: true, description: 'How long a client may stay above the soft output limit' },
  'close-timeout-ms': { type: 'number', default: DEFAULTS.closeTimeoutMs, min: 0, description: 'On close and shutdown, how long to wait for a client to finish before dropping it' },
  allow: { type: 'string', placeholder: 'list', description: 'Only these addresses/CIDR ranges may connect, comma-separated (e.g. 127.0.0.0/8,::1)' },
  deny: { type: 'string', placeholder: 'list', description: 'These addresses/CIDR ranges may not connect, comma-separated' },
  ...UNIX_FLAG,
  ...EXEC_FLAGS,
  ...TRACE_FLAGS,
  ...JSON_FLAG,
} as const satisfies Record<string, OptionSpec>;

export default defineCommand({
  name: 'serve',
  summary: 'TCP message server',
  description: [
    'Serves the seed\'s message protocol: a greeting on connect, a reply to every message, and "quit" (exactly,',
    "after its line ending is removed) ends the client's session after its reply. A client that closes its",
    'sending side (EOF) is treated like quit.',
    '',
    'Modes:',
    "  concurrent  every client at once (the seed's async_server.py)",
    "  sequential  one client at a time; the others wait until it quits (server3.py; add --once to exit after it)",
    "  greet       send the greeting, close, exit (server2.py)",
    '',
    'Framing (TCP has no message boundaries, so this is a choice):',
    '  auto    each read is a message until the client sends a newline, then lines. Serves the seed\'s client.py',
    '          (no newlines) and ncat/telnet/socklab clients (LF or CRLF) alike.',
    '  line    messages end at LF (CRLF accepted)',
    '  raw     each read is a message, exactly as the seed\'s recv(1500)',
    '  length  4-byte big-endian length, then the message',
    '',
    'Each line of output is an event: connected, got "<message>", closed (<reason>). Listens on loopback unless',
    '--host says otherwise. Ctrl-C or SIGTERM stops it gracefully: no new clients, every client told',
    '"error SL_ERR_SHUTDOWN", replies already owed sent, exit 0 within --close-timeout-ms; totals are printed.',
    '',
    'Limits: a client that misbehaves is told why in one "error <code>: <why>" line and closed, and everyone',
    'else is unaffected: too long a message (--max-message-bytes), silence (--idle-timeout-ms), a message',
    'trickled in too slowly (--message-timeout-ms), not reading its replies (--output-soft-limit-*,',
    '--max-buffered-bytes), too many clients (--max-connections: "server full").',
    '',
    'inetd style (--exec, --sh-exec): each connection is handed to a new process, whose stdin and stdout are the',
    "connection's raw bytes (no greeting, no framing); its stderr goes to our log. The peer's FIN closes the",
    "program's stdin, the end of its stdout sends FIN; its exit closes the connection (the code is logged); a",
    'connection that closes first ends the program (SIGTERM, then SIGKILL after --kill-grace-ms). --max-connections',
    '(default 64 with --exec) bounds the processes. On a non-loopback --host, --exec needs --allow: a program for',
    'anyone who can reach the port (a shell, say) is the classic netcat accident.',
    '',
    '--unix PATH listens on a UNIX domain socket instead (a stale file from a dead server is replaced, a live one',
    'refused; removed on exit; @name is a Linux abstract name). --hex and --log FILE show every byte; --json prints',
    'one JSON object per event (docs/json-events.md).',
  ].join('\n'),
  positionals: [],
  options: OPTIONS,
  examples: [
    'socklab serve                          # concurrent, 127.0.0.1:12345',
    'socklab serve --mode sequential --once # like server3.py',
    'socklab serve --mode greet             # like server2.py',
    'socklab serve --port 0 --quiet         # a free port, no message log',
    "socklab serve --reply 'echo: {message}'",
    'socklab serve --exec cat               # an echo server, inetd style (raw bytes)',
    "socklab serve --sh-exec 'date; uptime' # each client gets the output, then FIN",
    'socklab serve --unix /tmp/socklab.sock --json',
    'socklab serve --hex --log session.jsonl --log-format jsonl',
  ],
  async run({ values }, io) {
    if (values.greeting !== undefined && values['no-greeting']) {
      throw usageError("Options '--greeting' and '--no-greeting' conflict");
    }
    const out = new EventOutput(io, values.json === true);
    const path = unixPathFrom(values.unix);
    const command = execCommandFrom(values);
    if (command) {
      const protocol = (['greeting', 'no-greeting', 'reply', 'once', 'greet-at-accept'] as const).find((flag) => values[flag] !== undefined && values[flag] !== false);
      if (protocol) throw usageError(`Option '--${protocol}' is for the message protocol; with --exec the program gets the raw bytes`);
    }
    const trace = openTracer(values, io);
    try {
      if (command) {
        return await serveExec(
          {
            command,
            host: values.host,
            port: values.port,
            path,
            ...accessListsOrUndefined(values.allow, values.deny),
            allowText: values.allow,
            maxConnections: values['max-connections'],
            killGraceMs: values['kill-grace-ms'],
            idleTimeoutMs: values['idle-timeout-ms'],
            stalledOutputMs: values['output-soft-limit-ms'],
            closeTimeoutMs: values['close-timeout-ms'],
            tracer: trace.tracer,
          },
          out,
          io.signal,
        );
      }
      return await serveMessages(values, path, out, trace.tracer, io.signal);
    } finally {
      await trace.close();
    }
  },
});

function accessListsOrUndefined(allow: string | undefined, deny: string | undefined): { allow: string[] | undefined; deny: string[] | undefined } {
  const lists = accessLists(allow, deny);
  return { allow: lists.allow, deny: lists.deny };
}

type ServeValues = OptionValues<typeof OPTIONS>;

async function serveMessages(values: ServeValues, path: string | undefined, out: EventOutput, tracer: ReturnType<typeof openTracer>['tracer'], signal: AbortSignal): Promise<number> {
  const mode = values.mode as ServeMode;
  const maxConnections = values['max-connections'] ?? DEFAULTS.maxConnections;
  const server = await startMessageServer({
    host: values.host,
    port: values.port,
    ...(path === undefined ? {} : { path }),
    mode,
    ...(values['no-greeting'] ? { greeting: null } : values.greeting !== undefined ? { greeting: values.greeting } : {}),
    ...(values.reply !== undefined ? { reply: values.reply } : {}),
    quitCommand: values.quit,
    ...(values.once !== undefined ? { once: values.once } : {}),
    framing: values.framing as Framing,
    lineEnding: values.eol as LineEnding,
    logMessages: !values.quiet,
    greetAtAccept: values['greet-at-accept'] === true,
    maxConnections,
    maxMessageBytes: values['max-message-bytes'],
    idleTimeoutMs: values['idle-timeout-ms'],
    messageTimeoutMs: values['message-timeout-ms'],
    maxBufferedBytes: values['max-buffered-bytes'],
    outputSoftLimitBytes: values['output-soft-limit-bytes'],
    outputSoftLimitMs: values['output-soft-limit-ms'],
    closeTimeoutMs: values['close-timeout-ms'],
    ...accessLists(values.allow, values.deny),
    ...(tracer.enabled ? { onConnection: (conn: TcpConnection) => tracer.watch(conn.socket, conn.remote) } : {}),
    // The message log is a hot path: without --json, no event object is built.
    onEvent: out.json ? (event) => out.event(event.type, eventFields(event), formatServerEvent(event)) : (event) => out.say(formatServerEvent(event)),
  });
  const address = server.address();
  out.event('listening', { address, protocol: address.family === 'unix' ? 'unix' : 'tcp', mode }, `listening on ${formatEndpoint(address)} (${mode} mode)`);
  if (path === undefined && !isLoopback(values.host)) out.note(`note: listening on ${values.host}, so other machines can connect`);
  if (server.tcp.maxConnections < maxConnections) {
    out.note(`note: only enough file descriptors for ${server.tcp.maxConnections} clients (see ulimit -n); more are told "server full"`);
  }
  await Promise.race([server.done, untilAborted(signal)]);
  await server.close();
  const { accepted, rejected, messages, denied, acceptErrors, errors } = server.stats;
  const extras = [
    denied > 0 ? `${denied} denied` : '',
    acceptErrors > 0 ? `${acceptErrors} accept errors` : '',
    ...Object.entries(errors).map(([code, n]) => `${n} closed for ${code}`),
  ].filter(Boolean);
  const totals = { accepted, rejected, messages, denied, acceptErrors, errors };
  out.event('stopped', { totals }, `stopped: ${accepted} clients served, ${messages} messages, ${rejected} rejected${extras.map((e) => `, ${e}`).join('')}`);
  return 0;
}
