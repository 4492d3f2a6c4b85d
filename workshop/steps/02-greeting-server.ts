// Step 2: a server that greets one client, closes the connection and stops (the seed's server2.py).
// Run: node dist/workshop/steps/02-greeting-server.js [port]
import { createServer, type AddressInfo } from 'node:net';

const port = Number(process.argv[2] ?? 12345);

// createServer = socket() + bind() + listen() + an accept loop; the callback runs once per accepted client.
const server = createServer((socket) => {
  console.log(`Got connection from ${socket.remoteAddress}:${socket.remotePort}`);
  // end(data) sends the data, then FIN: "I have nothing more to send". Like the seed: send, then close.
  socket.end('Thank you for connecting\n');
  // Stop accepting: the seed's `break`. The process exits once the last socket has closed.
  server.close();
});

// '127.0.0.1' listens on loopback only. The seed's bind(('', port)) means every interface: the whole network.
// EADDRINUSE: a server listens on the port already, or an earlier server's connections still sit in TIME-WAIT
// (chapter 19). One line instead of a crash; `ss -tan 'sport = :PORT'` shows which.
server.on('error', (err: NodeJS.ErrnoException) => {
  console.log(`cannot listen on 127.0.0.1:${port}: ${err.code ?? err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const { address, port: actual } = server.address() as AddressInfo;
  console.log(`listening on ${address}:${actual}`);
});
