// Solution to chapter 6, exercise 2: step 4's client with --quiet: no `ack`, no greeting, only the replies to
// what you type on stdout (so the output can be piped on), errors on stderr, exit 1 when the connect fails.
// Run: node dist/workshop/solutions/06-client-quiet.js [--quiet] [port] [host]
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const [portArg, hostArg] = args.filter((arg) => arg !== '--quiet');
const port = Number(portArg ?? 12345);
const host = hostArg ?? '127.0.0.1';

const socket = connect({ host, port });
socket.setEncoding('utf8');
socket.on('connect', () => {
  if (!quiet) socket.write('ack\n');
});
// In quiet mode the greeting is the server's first line: skip up to the first newline, print the rest as it comes.
let greetingSkipped = !quiet;
socket.on('data', (text: string) => {
  if (!greetingSkipped) {
    const newline = text.indexOf('\n');
    if (newline === -1) return;
    greetingSkipped = true;
    text = text.slice(newline + 1);
  }
  process.stdout.write(text);
});
socket.on('error', (err: NodeJS.ErrnoException) => {
  // stderr, not stdout: a program reading our output must not take the error for a reply.
  console.error(`connection to ${host}:${port} failed: ${err.code ?? err.message}`);
  process.exit(1);
});
socket.on('close', () => process.exit(0));

for await (const line of createInterface({ input: process.stdin })) {
  socket.write(line + '\n');
  if (line === 'quit') break;
}
socket.end(); // half-close: the replies still owed arrive before the server's FIN
