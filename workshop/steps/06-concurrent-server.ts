// Step 6: every client at once (the seed's async_server.py). In Node this is the natural shape: the event
// loop calls our handlers whenever any socket has data, the way asyncio resumes a coroutine.
// Run: node dist/workshop/steps/06-concurrent-server.js [port]
import { createServer, type AddressInfo } from 'node:net';

const port = Number(process.argv[2] ?? 12345);
const MAX_LINE_BYTES = 64 * 1024; // a client must not be able to make us buffer without end (chapter 10)

const server = createServer((socket) => {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  console.log(`connected to client: ${peer}`);
  // Sent for real. The seed calls loop.sock_sendall() without await: the coroutine is created and never run,
  // so its greeting never leaves.
  socket.write('connected to server\n');
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
      const request = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      console.log(`got from ${peer}: ${request}`);
      socket.write('got message\n');
      if (request === 'quit') socket.end();
    }
    if (pending.length > MAX_LINE_BYTES) {
      // Say why, then FIN; whatever else this client sends is read and dropped.
      socket.end('line too long\n');
      socket.removeAllListeners('data').resume();
    }
  });
  // The seed loops forever here: recv() returns b'' (never "quit") and it keeps replying to a closed socket.
  socket.on('end', () => socket.end());
  socket.on('close', () => console.log(`closed: ${peer}`));
  socket.on('error', () => {}); // a reset is reported by 'close'; without a listener it would crash the server
});

// Backlog 511 instead of the seed's 8: with 8, a burst of connects overflows the kernel's queue.
// EADDRINUSE: a server listens on the port already, or an earlier server's connections still sit in TIME-WAIT
// (chapter 19). One line instead of a crash; `ss -tan 'sport = :PORT'` shows which.
server.on('error', (err: NodeJS.ErrnoException) => {
  console.log(`cannot listen on 127.0.0.1:${port}: ${err.code ?? err.message}`);
  process.exit(1);
});
server.listen({ port, host: '127.0.0.1', backlog: 511 }, () => {
  console.log(`listening on 127.0.0.1:${(server.address() as AddressInfo).port}`);
});
