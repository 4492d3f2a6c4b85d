import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { TLSSocket } from 'node:tls';
import { formatEndpoint } from '../../address.js';
import { runMessageClient } from '../../apps/message-client.js';
import type { LineEnding } from '../../codec/lines.js';
import { SocklabError } from '../../errors.js';
import { DEFAULTS } from '../../options.js';
import { connectTcp } from '../../tcp/client.js';
import { defineCommand, HOST_AND_PORT, targetFrom } from '../command.js';
import { clientExec, EXEC_FLAGS, execCommandFrom } from '../flags/exec.js';
import { JSON_FLAG, openTracer, TRACE_FLAGS, UNIX_FLAG, unixPathFrom } from '../flags/output.js';
import { EventOutput } from '../json-events.js';
import { TLS_CLIENT_FLAGS, tlsClientFrom } from '../tls-flags.js';

export default defineCommand({
  name: 'client',
  summary: 'Interactive TCP client',
  description: [
    "The seed's client.py: connects, sends \"ack\", then sends each line you type (or pipe in) and prints each",
    'reply as it arrives. Like the seed, it sends a line only once the earlier ones have had a reply, because the',
    "seed's servers take each read as one message (--pipeline sends without waiting). Sending \"quit\" ends the",
    'session. When input ends (Ctrl-D or end of a pipe) it waits for the replies still owed, then closes.',
    '',
    'Replies are shown one per line: a reply ends at a newline, or at the end of what one read brought (the',
    "seed's servers send replies without newlines). --line-replies reads only whole lines, exact however the",
    'stream is cut (a slow link, socklab proxy --slice). Against async_server.py, which only ends a session on',
    '"quit" with no newline, use --eol none.',
    '',
    'Replies are text: a byte that is not UTF-8 is shown as \\xNN (never replaced), with a hint on stderr; for',
    'raw bytes (files, binary protocols) use socklab nc.',
    '',
    'Exit code: 0 after a clean end, 1 when the connection failed, was lost before all input was sent (the server',
    'closed or reset it), or replies were missing (with --pipeline none is owed: missing ones are counted on',
    'stderr, and against a server that never replies, --reply-timeout-ms sets how long the end waits).',
    '',
    "--exec PROG (or --sh-exec 'cmd') hands the connection to a program instead, as ncat -e does in connect mode:",
    "its stdout is sent, what arrives is its stdin, raw (no hello, no framing); our exit code is 0 when it exits 0.",
    '--unix PATH connects to a UNIX domain socket (@name: Linux abstract). --hex dumps the bytes to stderr,',
    '--log FILE writes them to a file, --json prints events (connected, received, closed) as JSON lines.',
    '',
    'TLS (--tls): the server\'s certificate is checked against Node\'s CA list plus --ca, and must name the host',
    '(or --servername). Against `serve --tls` with its self-signed certificate, pin the fingerprint it printed',
    '(--fingerprint sha256:…) or trust the certificate file (--ca cert.pem). --insecure skips every check.',
  ].join('\n'),
  positionals: HOST_AND_PORT,
  options: {
    port: { type: 'number', short: 'p', default: 12345, max: 65_535, description: 'Server port' },
    hello: { type: 'string', default: 'ack', description: 'First message sent, as the seed does' },
    'no-hello': { type: 'boolean', description: 'Send no first message' },
    eol: { type: 'string', default: 'lf', choices: ['lf', 'crlf', 'none'], description: 'Line ending after each message sent' },
    quit: { type: 'string', default: 'quit', description: 'The message that ends the session' },
    'connect-timeout-ms': { type: 'number', default: DEFAULTS.connectTimeoutMs, min: 1, description: 'Give up connecting after this long' },
    'reply-timeout-ms': { type: 'number', default: 5000, min: 0, allowInfinity: true, description: 'After input ends, how long to wait for a missing reply' },
    'linger-ms': { type: 'number', default: 100, min: 0, description: 'After input ends and replies are in, how long the server must be quiet' },
    'greeting-wait-ms': { type: 'number', default: 200, description: 'Wait this long for a greeting before sending (it is not a reply)' },
    'line-replies': { type: 'boolean', description: 'Replies end only at a newline (line-based servers; exact over a slow or sliced link)' },
    pipeline: { type: 'boolean', description: 'Send lines without waiting for replies (line-based servers, or ones that never reply): none is owed, so at the end of input it waits up to --reply-timeout-ms for them, then closes with exit 0' },
    verbose: { type: 'boolean', short: 'v', description: 'Report connect and close on stderr' },
    ...UNIX_FLAG,
    ...EXEC_FLAGS,
    ...TRACE_FLAGS,
    ...JSON_FLAG,
    ...TLS_CLIENT_FLAGS,
  },
  examples: [
    'socklab client                            # localhost:12345',
    'socklab client localhost 12345',
    "printf 'hello\\nquit\\n' | socklab client   # scripted session",
    'socklab client --eol none                 # the seed\'s wire format (no newlines)',
    'socklab client --unix /tmp/socklab.sock',
    'socklab client --tls --fingerprint sha256:AB:CD:…   # a serve --tls with a self-signed certificate',
    'socklab client --tls --ca ca.pem example.test 8443',
    "socklab client localhost 12345 --exec 'cat file.txt'   # send a file, ncat -e style",
  ],
  async run({ values, positionals }, io) {
    const { host, port } = targetFrom(positionals, values.port, 'localhost');
    const path = unixPathFrom(values.unix);
    const tls = tlsClientFrom(values, io.stderr);
    const where = { ...(path === undefined ? { host, port } : { path }), ...(tls ? { tls } : {}) };
    const out = new EventOutput(io, values.json === true);
    const command = execCommandFrom(values);
    const trace = openTracer(values, io);
    try {
      if (command) {
        const conn = await connectTcp({ ...where, connectTimeoutMs: values['connect-timeout-ms'], signal: io.signal });
        trace.tracer.watch(conn.socket, conn.remote);
        out.event('connected', { peer: conn.remote }, undefined);
        return await clientExec(conn, command, values['kill-grace-ms'], out, io.signal, values.verbose === true);
      }
      return await runInteractive();
    } finally {
      await trace.close();
    }

    async function runInteractive(): Promise<number> {
      const interactive = io.stdin.isTTY === true;
      const lines = createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
      // Create the iterator now: readline emits lines that arrive before it exists to nobody, and piped
      // stdin is read while we are still connecting.
      const input = lines[Symbol.asyncIterator]();
      let hinted = false;
      try {
        const result = await runMessageClient(
          {
            ...where,
            hello: values['no-hello'] ? null : values.hello,
            lineEnding: values.eol as LineEnding,
            quitCommand: values.quit,
            connectTimeoutMs: values['connect-timeout-ms'],
            replyTimeoutMs: values['reply-timeout-ms'],
            lingerMs: values['linger-ms'],
            lockstep: !values.pipeline,
            greetingWaitMs: values['greeting-wait-ms'],
            lineReplies: values['line-replies'] === true,
            signal: io.signal,
          },
          { [Symbol.asyncIterator]: () => input },
          (event) => {
            if (event.type === 'reply') {
              out.event('received', { text: event.text }, event.text);
              if (event.escaped && !hinted) {
                hinted = true;
                out.note(`the server sent bytes that are not UTF-8, shown as \\xNN; for raw bytes use: socklab nc ${path === undefined ? `${host} ${port}` : `-U ${path}`}`);
              }
            }
            else if (event.type === 'connected') {
              trace.tracer.watch(event.connection.socket, event.connection.remote);
              out.event('connected', { peer: event.connection.remote });
              if (values.verbose || interactive) {
                const secured = tls ? ` with ${tlsDescription(event.connection.socket)}` : '';
                out.note(`connected to ${formatEndpoint(event.connection.remote)}${secured}${interactive ? `; type messages, "${values.quit}" to end` : ''}`);
              }
            } else if (event.type === 'closed-by-server') {
              const missing = event.missingReplies > 0 ? `; ${event.missingReplies} replies never came` : '';
              out.note(`connection lost: closed by the server${missing}`);
            }
          },
        );
        out.event('closed', { reason: result.ending, missingReplies: result.missingReplies });
        out.event('summary', { totals: { sent: result.sent, replies: result.replies, missingReplies: result.missingReplies } });
        if (values.verbose) out.note(`closed: ${result.sent} messages sent, ${result.replies} replies`);
        if (result.ending === 'server-closed' && !result.inputSent) out.note('connection lost: closed by the server before all input was sent');
        const owed = !values.pipeline && result.missingReplies > 0;
        return result.ending === 'server-closed' && (owed || !result.inputSent) ? 1 : 0;
      } catch (err) {
        // A reset is the server going away (killed, crashed, or cutting us off): say so plainly, no stack trace.
        // --pipeline owes no reply (a server may never send one): replies still missing at the end are reported, not a failure.
        if (values.pipeline && err instanceof SocklabError && err.code === 'SL_ERR_REPLY_TIMEOUT') {
          out.note(`${err.message}; --pipeline owes no reply, so this is not an error`);
          return 0;
        }
        if (err instanceof SocklabError && err.code === 'SL_ERR_CONNECTION_RESET') {
          out.note(`connection lost: ${err.message} [${err.code}]`);
          return 1;
        }
        throw err;
      } finally {
        lines.close();
      }
    }
  },
});

function tlsDescription(socket: Socket): string {
  return socket instanceof TLSSocket ? `${socket.getProtocol() ?? 'TLS'} (${socket.getCipher()?.standardName ?? 'unknown cipher'})` : 'TLS';
}
