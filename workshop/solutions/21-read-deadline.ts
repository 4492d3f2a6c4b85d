// Solution to chapter 21, exercise 1: step 4's client with a read deadline. A server behind a black hole never
// answers and never closes; without a deadline the client waits for ever. socket.setTimeout(ms) emits 'timeout'
// after ms without any traffic (the timer restarts on every read and write) and closes nothing by itself: we do.
// Run: node dist/workshop/solutions/21-read-deadline.js PORT [DEADLINE_MS]
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const port = Number(process.argv[2] ?? 12345);
const deadlineMs = Number(process.argv[3] ?? 2000);
const started = performance.now();
const socket = connect({ port, host: '127.0.0.1' });
socket.setEncoding('utf8');
socket.setTimeout(deadlineMs);
socket.on('connect', () => console.log('connected'));
socket.on('data', (text: string) => process.stdout.write(text));
socket.on('timeout', () => {
  console.log(`no reply for ${deadlineMs} ms: giving up (the read deadline)`);
  socket.destroy(); // 'timeout' only tells us; closing is our decision
});
socket.on('error', (err: NodeJS.ErrnoException) => console.log(`error: ${err.code ?? err.message}`));
socket.on('close', () => {
  console.log(`closed after ${Math.round(performance.now() - started)} ms`);
  process.exit(0); // stdin may still be open
});
for await (const line of createInterface({ input: process.stdin })) socket.write(`${line}\n`);
