// socklab's message server built from the library the way `socklab serve --quiet` builds it (the connected/closed
// event log through a LogWriter on stdout), with guarantees switched off one by one, so the cost suite can price
// each guarantee against the same server with it on. Bench only: this is not a supported way to run socklab.
// Usage: lib-guarantees.mjs <port> [off ...]   (off: the names in OFF below, or "all"). Prints "listening <port>".
import { formatServerEvent, startMessageServer } from '../../dist/src/apps/message-server.js';
import { LogWriter } from '../../dist/src/cli/log-writer.js';

/** Each guarantee and the options (or the hook) that switch it off. */
const OFF = {
  // The connected/closed lines `--quiet` still prints: a server always says who came and went.
  'event-log': { onEvent: undefined },
  // The greeting held until bytes the client sent at once were read (the seed's client.py never sees two lines merged).
  'greeting-hold': { greetAtAccept: true },
  // Closing a client silent for idleTimeoutMs (one shared sweeper, a field write per read).
  'idle-timeout': { idleTimeoutMs: Infinity },
  // Closing a client whose started message does not finish within messageTimeoutMs.
  'message-timeout': { messageTimeoutMs: Infinity },
  // Framing: a message is a line, split and bounded by maxMessageBytes ('raw': each read is one message, and
  // nothing is added to what is sent, so the texts carry their own line ends).
  'line-framing': { framing: 'raw', greeting: 'connected to server\n', reply: 'got message\n' },
  // The output guard: outputSoftLimitBytes and maxBufferedBytes checked after each write.
  'output-guard': { outputSoftLimitBytes: Infinity, maxBufferedBytes: Infinity },
  // maxConnections: the count checked at every accept (and the fd budget at start).
  'connection-limit': { maxConnections: Infinity },
  // `remote` read at accept (getpeername(2)), kept after close; off: a fixed peer pre-set where Node caches it.
  remote: {},
};

const [portArg = '0', ...offArgs] = process.argv.slice(2);
const off = new Set(offArgs.includes('all') ? Object.keys(OFF) : offArgs);
for (const name of off) if (!(name in OFF)) throw new Error(`unknown guarantee ${name} (known: ${Object.keys(OFF).join(', ')}, all)`);

const log = new LogWriter(process.stdout);
const options = { port: Number(portArg), logMessages: false, maxConnections: 20_000, onEvent: (event) => log.line(formatServerEvent(event)) };
for (const name of off) Object.assign(options, OFF[name]);
const server = await startMessageServer(options);
if (off.has('remote')) {
  const peer = { address: '127.0.0.1', port: 0, family: 'IPv4' };
  // Before the server's own 'connection' listener: Node's _getpeername() returns a pre-set _peername without a syscall.
  server.tcp.server.prependListener('connection', (socket) => (socket._peername = peer));
}
console.log(`listening ${server.address().port}`);
