// Step 4: the client (the seed's client.py): say "ack", then send each line you type; print every reply.
// Run: node dist/workshop/steps/04-client.js [port] [host]
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const port = Number(process.argv[2] ?? 12345);
const host = process.argv[3] ?? '127.0.0.1';

const socket = connect({ host, port });
socket.setEncoding('utf8');
socket.on('connect', () => socket.write('ack\n'));
// Replies are printed whenever they arrive, not one per line typed: the server also answers "ack", and a
// client that reads exactly one reply per line (as the seed's does) prints each reply one line late.
socket.on('data', (text: string) => process.stdout.write(text));
socket.on('error', (err: NodeJS.ErrnoException) => {
  console.log(`connection failed: ${err.code}`);
  process.exit(1);
});
socket.on('close', () => process.exit(0));

for await (const line of createInterface({ input: process.stdin })) {
  socket.write(line + '\n');
  if (line === 'quit') break;
}
// Out of input (quit or Ctrl-D): half-close. We send FIN but keep reading until the server closes too, so the
// reply to our last line is not lost.
socket.end();
