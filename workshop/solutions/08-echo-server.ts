// Solution to chapter 8, exercise 1: an echo server, length-prefixed (`--framing length`) or raw (the default).
// `socklab check echo` sends lines, not frames: a raw echo passes it, a length-prefixed one does not (see the chapter).
// Graded by: npx socklab check echo 12345
// Run: node dist/workshop/solutions/08-echo-server.js [port] [--framing raw|length]
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { LengthPrefixDecoder, encodeLengthPrefixed } from 'socklab';

const args = process.argv.slice(2);
const framing = args.includes('--framing') ? args[args.indexOf('--framing') + 1] : 'raw';
const port = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 12345);
if (framing !== 'raw' && framing !== 'length') {
  console.log(`--framing is raw or length, not ${framing}`);
  process.exit(2);
}

/** Raw: an echo needs no framing at all, since it never has to know where a message ends. */
function echoRaw(socket: Socket): void {
  socket.on('data', (chunk: Buffer) => {
    if (!socket.write(chunk)) socket.pause(); // a client that does not read must not fill our memory
  });
  socket.on('drain', () => socket.resume());
}

/** Length-prefixed: cut the stream into frames (4-byte big-endian length, then the payload), send each back. */
function echoFrames(socket: Socket): void {
  const decoder = new LengthPrefixDecoder({ maxPayloadBytes: 64 * 1024 });
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const frame of decoder.push(chunk)) {
        if (!socket.write(encodeLengthPrefixed(frame))) socket.pause();
      }
    } catch (err) {
      // "hell" of a line "hello\n" reads as a length of 1,751,477,356 bytes: refuse it instead of waiting for it.
      console.log(`${socket.remoteAddress}:${socket.remotePort}: ${(err as Error).message}`);
      socket.destroy();
    }
  });
  socket.on('drain', () => socket.resume());
}

// allowHalfOpen: after the client's FIN, finish echoing what it sent, then close (chapter 9).
const server = createServer({ allowHalfOpen: true }, (socket) => {
  socket.on('error', () => {}); // a reset closes the socket; without a listener it would crash the server
  socket.on('end', () => socket.end());
  if (framing === 'length') echoFrames(socket);
  else echoRaw(socket);
});
server.on('error', (err: NodeJS.ErrnoException) => {
  console.log(`cannot listen on 127.0.0.1:${port}: ${err.code ?? err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${(server.address() as AddressInfo).port} (${framing} echo)`));
