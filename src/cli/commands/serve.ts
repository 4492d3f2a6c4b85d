import type { ChatMode } from '../../apps/chat-server.js';
import type { ServeMode } from '../../apps/message-server.js';
import { accessLists, defineCommand, usageError } from '../command.js';
import { openTracer, unixPathFrom } from '../flags/output.js';
import { EventOutput } from '../json-events.js';
import type { ClassicService } from '../../apps/classic-services.js';
import { tlsServerFrom } from '../tls-flags.js';
import { SERVE_OPTIONS } from '../serve/options.js';

// Each mode's and each flag's modules are imported only when used (the chat room, the exec server, the
// dashboard, the cluster and Redis): a plain `serve` starts accepting sooner (start-up is measured in
// scripts/bench/startup.ts).

/** serve's modes that are a classic service (RFC 862-864), as `serve/classic.ts` runs them. */
const CLASSIC_MODES: readonly string[] = ['echo', 'discard', 'chargen'] satisfies readonly ClassicService[];


/** The flags of the message protocol (greetings and replies), which a room or an --exec program has no use for. */
const MESSAGE_PROTOCOL_FLAGS = ['greeting', 'no-greeting', 'reply', 'once', 'greet-at-accept'] as const;

/** The first of `flags` given on the command line (a boolean flag counts when true). */
function firstGiven<Flag extends string>(values: Record<Flag, unknown>, flags: readonly Flag[]): Flag | undefined {
  return flags.find((flag) => values[flag] !== undefined && values[flag] !== false);
}

export default defineCommand({
  name: 'serve',
  summary: 'TCP message, chat or exec server',
  description: [
    'Serves the seed\'s message protocol: a greeting on connect, a reply to every message, and "quit" (exactly,',
    "after its line ending is removed) ends the client's session after its reply. A client that closes its",
    'sending side (EOF) is treated like quit.',
    '',
    'Modes:',
    "  concurrent  every client at once (the seed's async_server.py)",
    "  sequential  one client at a time; the others wait until it quits (server3.py; add --once to exit after it)",
    "  greet       send the greeting, close, exit (server2.py)",
    '  chat        every line goes to every other client as "<name>: <text>" (ncat --chat); /nick <name>',
    '              renames, quit leaves; joins and leaves are announced; control characters are escaped',
    '  broker      bytes relayed as they are to every other client (ncat --broker)',
    '  echo, discard, chargen  the classic measurement services (RFC 862, 863, 864): a target for bench',
    '',
    'Scaling out (chat, broker; --workers also concurrent):',
    '  --workers N      N processes share the port on this machine; the primary relays the room between them',
    '  --redis URL      every instance on this Redis, on any machine, is one room. If Redis goes away, each',
    '                   server keeps its local room going, tells its clients, and reconnects by itself.',
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
    'one JSON object per event (docs/json-events.md). --dashboard serves a live page and /metrics.',
    '',
    'TLS (--tls): every mode can be served over TLS 1.2 or 1.3 with the certificate in --cert and --key, or',
    'without them a self-signed certificate made at start for localhost, the loopback addresses and --host; its',
    'SHA-256 fingerprint is printed for clients to pin (client --tls --fingerprint …). A failed handshake (a',
    'plaintext client, an old TLS version, a client that refuses the certificate or never finishes) costs one',
    'log line and that connection; it is counted in the totals by its code.',
  ].join('\n'),
  positionals: [],
  options: SERVE_OPTIONS,
  examples: [
    'socklab serve                          # concurrent, 127.0.0.1:12345',
    'socklab serve --mode sequential --once # like server3.py',
    'socklab serve --mode greet             # like server2.py',
    'socklab serve --port 0 --quiet         # a free port, no message log',
    "socklab serve --reply 'echo: {message}'",
    'socklab serve --dashboard 9000         # then open http://127.0.0.1:9000/',
    'socklab serve --mode chat              # then: ncat localhost 12345 (from several terminals)',
    'socklab serve --mode chat --workers 4  # one room over 4 processes',
    'socklab serve --mode chat --redis redis://10.0.0.5:6379/0   # one room over every server on that Redis',
    'socklab serve --exec cat               # an echo server, inetd style (raw bytes)',
    "socklab serve --sh-exec 'date; uptime' # each client gets the output, then FIN",
    'socklab serve --unix /tmp/socklab.sock --json',
    'socklab serve --hex --log session.jsonl --log-format jsonl',
    'socklab serve --tls                    # TLS, self-signed certificate (fingerprint printed)',
    'socklab serve --tls --cert cert.pem --key key.pem --tls-min 1.3',
  ],
  async run({ values }, io) {
    if (values.greeting !== undefined && values['no-greeting']) {
      throw usageError("Options '--greeting' and '--no-greeting' conflict");
    }
    const mode = values.mode as ServeMode | ChatMode | ClassicService;
    const chat = mode === 'chat' || mode === 'broker';
    const classic = CLASSIC_MODES.includes(mode);
    if (classic) {
      const protocol = firstGiven(values, [...MESSAGE_PROTOCOL_FLAGS, 'redis', 'exec', 'sh-exec', 'dashboard']);
      if (protocol) throw usageError(`Option '--${protocol}' does not apply to --mode ${mode}: it serves raw bytes (RFC ${mode === 'echo' ? 862 : mode === 'discard' ? 863 : 864})`);
    }
    if ((mode === 'greet' || mode === 'sequential') && values.workers > 1) {
      throw usageError(`Option '--workers' does not apply to --mode ${mode}: it serves one client at a time, so there is nothing to spread`);
    }
    if (chat) {
      // The message protocol's flags mean nothing in a room: say so rather than ignore them.
      const protocol = firstGiven(values, MESSAGE_PROTOCOL_FLAGS);
      if (protocol) throw usageError(`Option '--${protocol}' is for the message protocol (concurrent, sequential, greet); --mode ${mode} relays clients to each other`);
    }
    if (!chat && values.redis !== undefined) {
      throw usageError(`Option '--redis' shares chat and broker rooms; --mode ${mode} has no shared state`);
    }
    if (values.dashboard !== undefined) {
      (await import('../../dashboard/cli.js')).parseDashboardAddress(values.dashboard);
      if (values.workers > 1) {
        throw usageError("Option '--dashboard' watches one process; with '--workers' each worker is a process of its own (use --redis instances, one dashboard each)");
      }
    }
    const path = unixPathFrom(values.unix);
    if (path !== undefined && values.workers > 1) {
      throw usageError("Option '--unix' serves one socket file from one process; it does not combine with '--workers'");
    }
    const exec = values.exec !== undefined || values['sh-exec'] !== undefined ? await import('../flags/exec.js') : undefined;
    const command = exec?.execCommandFrom(values);
    if (command) {
      const protocol = firstGiven(values, [...MESSAGE_PROTOCOL_FLAGS, 'dashboard', 'redis']);
      if (protocol) throw usageError(`Option '--${protocol}' is for the message protocol; with --exec the program gets the raw bytes`);
      if (chat || values.workers > 1) throw usageError(`Option '--exec' runs one program per connection; it does not combine with --mode ${mode} or --workers`);
    }
    const tls = tlsServerFrom(values);
    if (tls && tls.cert === undefined && values.workers > 1) {
      throw usageError("Option '--tls' with '--workers' needs '--cert' and '--key': each worker would make a self-signed certificate of its own");
    }
    const out = new EventOutput(io, values.json === true);
    const trace = openTracer(values, io);
    try {
      if (exec && command) {
        return await exec.serveExec(
          {
            command,
            host: values.host,
            port: values.port,
            path,
            ...accessLists(values.allow, values.deny),
            allowText: values.allow,
            maxConnections: values['max-connections'],
            killGraceMs: values['kill-grace-ms'],
            idleTimeoutMs: values['idle-timeout-ms'],
            stalledOutputMs: values['output-soft-limit-ms'],
            closeTimeoutMs: values['close-timeout-ms'],
            tracer: trace.tracer,
            tls,
          },
          out,
          io.signal,
        );
      }
      const settings = { values, path, out, tracer: trace.tracer, io, tls };
      if (classic) return await (await import('../serve/classic.js')).serveClassic(settings, mode as ClassicService);
      if (chat) return await (await import('../serve/chat.js')).serveChat(settings, mode as ChatMode);
      return await (await import('../serve/messages.js')).serveMessages(settings, mode as ServeMode);
    } finally {
      await trace.close();
    }
  },
});
