// Solution to chapter 4, exercise 1: greet every client with its own address, close, and keep serving.
// Graded by: npx socklab check greeting 12345
// Run: node dist/workshop/solutions/04-greeting-forever.js [port]
import { createServer, type AddressInfo } from 'node:net';

const port = Number(process.argv[2] ?? 12345);
const server = createServer((socket) => {
  // No server.close() here: the listener stays open, so the next client is greeted too.
  socket.end(`Thank you for connecting, ${socket.remoteAddress}:${socket.remotePort}\n`);
  socket.on('error', () => {}); // a client that resets before reading must not crash the server
});
server.on('error', (err: NodeJS.ErrnoException) => {
  console.log(`cannot listen on 127.0.0.1:${port}: ${err.code}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${(server.address() as AddressInfo).port}`));
