// Step 7: TCP is a byte stream. A read is not a message: three sends can arrive as one read, one send as many.
// Run: node dist/workshop/steps/07-byte-stream.js
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { LengthPrefixDecoder, LineDecoder, encodeLengthPrefixed } from 'socklab';

/** Starts a server that records every read of one connection, and returns them when the client is done. */
async function recordReads(send: (socket: Socket) => void): Promise<Buffer[]> {
  const reads: Buffer[] = [];
  const server = createServer((conn) => conn.on('data', (chunk) => reads.push(chunk)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const closed = new Promise<void>((resolve) => server.on('connection', (conn) => conn.on('close', resolve)));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  send(socket);
  socket.end();
  await closed;
  server.close();
  return reads;
}

// Experiment 1: three messages sent back to back. cork() holds them so they leave in one segment, which is
// what often happens anyway when a sender is faster than the network.
const reads = await recordReads((socket) => {
  socket.cork();
  socket.write('hello\n');
  socket.write('how are you\n');
  socket.write('quit\n');
  socket.uncork();
});
console.log(`3 messages sent, ${reads.length} read(s) received`);
console.log(`a server that takes each read as a message sees ${reads.length}: ${JSON.stringify(reads.map(String))}`);
const lines = new LineDecoder();
const framed = reads.flatMap((chunk) => lines.push(chunk)).map(String);
console.log(`a server that cuts at newlines sees ${framed.length}: ${JSON.stringify(framed)}`);

// Experiment 2: one large message. The kernel and Node hand it over in pieces of their choosing.
const big = Buffer.alloc(1024 * 1024, 'x');
const pieces = await recordReads((socket) => socket.write(big));
const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
console.log(`1 message of ${big.length} bytes sent, received ${total} bytes in more than one read: ${pieces.length > 1}`);

// Experiment 3: when a message may itself contain newlines, send its length first.
const framesIn = await recordReads((socket) => {
  socket.write(encodeLengthPrefixed('line one\nline two'));
  socket.write(encodeLengthPrefixed('third'));
});
const decoder = new LengthPrefixDecoder();
const messages = framesIn.flatMap((chunk) => decoder.push(chunk)).map(String);
console.log(`length-prefixed: ${messages.length} messages: ${JSON.stringify(messages)}`);
