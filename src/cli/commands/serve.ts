import { formatEndpoint, isLoopback } from '../../address.js';
import { formatServerEvent, SERVE_MODES, startMessageServer, type ServeMode } from '../../apps/message-server.js';
import { FRAMINGS, type Framing } from '../../codec/framing.js';
import type { LineEnding } from '../../codec/lines.js';
import { DEFAULTS } from '../../options.js';
import { accessLists, defineCommand, println, untilAborted, usageError } from '../command.js';
import { LogWriter } from '../log-writer.js';

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
  ].join('\n'),
  positionals: [],
  options: {
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
    'max-connections': { type: 'number', default: DEFAULTS.maxConnections, min: 1, allowInfinity: true, description: 'Clients at once; more are told "server full"' },
    'max-message-bytes': { type: 'number', default: DEFAULTS.maxMessageBytes, min: 1, description: 'Longest message; a longer one closes the connection with an error line' },
    'idle-timeout-ms': { type: 'number', default: DEFAULTS.idleTimeoutMs, min: 1, allowInfinity: true, description: 'Close clients silent for this long' },
    'message-timeout-ms': { type: 'number', default: DEFAULTS.messageTimeoutMs, min: 1, allowInfinity: true, description: 'Close a client whose started message does not end within this (slowloris)' },
    'max-buffered-bytes': { type: 'number', default: DEFAULTS.maxBufferedBytes, min: 1, description: 'Output queued for a client that does not read; past it the client is cut off' },
    'output-soft-limit-bytes': { type: 'number', default: DEFAULTS.outputSoftLimitBytes, min: 1, description: 'Output queued above this is tolerated for --output-soft-limit-ms only' },
    'output-soft-limit-ms': { type: 'number', default: DEFAULTS.outputSoftLimitMs, min: 1, allowInfinity: true, description: 'How long a client may stay above the soft output limit' },
    'close-timeout-ms': { type: 'number', default: DEFAULTS.closeTimeoutMs, min: 0, description: 'On close and shutdown, how long to wait for a client to finish before dropping it' },
    allow: { type: 'string', placeholder: 'list', description: 'Only these addresses/CIDR ranges may connect, comma-separated (e.g. 127.0.0.0/8,::1)' },
    deny: { type: 'string', placeholder: 'list', description: 'These addresses/CIDR ranges may not connect, comma-separated' },
  },
  examples: [
    'socklab serve                          # concurrent, 127.0.0.1:12345',
    'socklab serve --mode sequential --once # like server3.py',
    'socklab serve --mode greet             # like server2.py',
    'socklab serve --port 0 --quiet         # a free port, no message log',
    "socklab serve --reply 'echo: {message}'",
  ],
  async run({ values }, io) {
    if (values.greeting !== undefined && values['no-greeting']) {
      throw usageError("Options '--greeting' and '--no-greeting' conflict");
    }
    const mode = values.mode as ServeMode;
    const log = new LogWriter(io.stdout);
    const server = await startMessageServer({
      host: values.host,
      port: values.port,
      mode,
      ...(values['no-greeting'] ? { greeting: null } : values.greeting !== undefined ? { greeting: values.greeting } : {}),
      ...(values.reply !== undefined ? { reply: values.reply } : {}),
      quitCommand: values.quit,
      ...(values.once !== undefined ? { once: values.once } : {}),
      framing: values.framing as Framing,
      lineEnding: values.eol as LineEnding,
      logMessages: !values.quiet,
      greetAtAccept: values['greet-at-accept'] === true,
      maxConnections: values['max-connections'],
      maxMessageBytes: values['max-message-bytes'],
      idleTimeoutMs: values['idle-timeout-ms'],
      messageTimeoutMs: values['message-timeout-ms'],
      maxBufferedBytes: values['max-buffered-bytes'],
      outputSoftLimitBytes: values['output-soft-limit-bytes'],
      outputSoftLimitMs: values['output-soft-limit-ms'],
      closeTimeoutMs: values['close-timeout-ms'],
      ...accessLists(values.allow, values.deny),
      onEvent: (event) => log.line(formatServerEvent(event)),
    });
    println(io.stdout, `listening on ${formatEndpoint(server.address())} (${mode} mode)`);
    if (!isLoopback(values.host)) println(io.stderr, `note: listening on ${values.host}, so other machines can connect`);
    if (server.tcp.maxConnections < values['max-connections']) {
      println(io.stderr, `note: only enough file descriptors for ${server.tcp.maxConnections} clients (see ulimit -n); more are told "server full"`);
    }
    await Promise.race([server.done, untilAborted(io.signal)]);
    await server.close();
    await log.close();
    const { accepted, rejected, messages, denied, acceptErrors, errors } = server.stats;
    const extras = [
      denied > 0 ? `${denied} denied` : '',
      acceptErrors > 0 ? `${acceptErrors} accept errors` : '',
      ...Object.entries(errors).map(([code, n]) => `${n} closed for ${code}`),
    ].filter(Boolean);
    println(io.stdout, `stopped: ${accepted} clients served, ${messages} messages, ${rejected} rejected${extras.map((e) => `, ${e}`).join('')}`);
    return 0;
  },
});
