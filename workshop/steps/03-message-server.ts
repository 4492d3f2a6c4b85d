// Step 3: a server that replies to every message until the client says quit (the seed's server3.py).
// Run: node dist/workshop/steps/03-message-server.js [port]
import { createServer, type AddressInfo } from 'node:net';

const port = Number(process.argv[2] ?? 12345);
const MAX_LINE_BYTES = 64 * 1024; // A client must not be able to make us buffer without end.

const server = createServer((socket) => {
  server.close(); // One client, then stop, like the seed.
  console.log(`Got connection from ${socket.remoteAddress}:${socket.remotePort}`);
  socket.write('Thank you for connecting\n');

  // TCP delivers bytes, not messages (chapter 7): collect them, and cut a message at each newline.
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      const message = pending.slice(0, newline).replace(/\r$/, ''); // accept LF and CRLF
      pending = pending.slice(newline + 1);
      console.log(`got message from client: ${message}`);
      socket.write('got your message\n');
      if (message === 'quit') {
        // Exactly "quit": the seed's `'quit' in message` also ends on "quite good".
        console.log('quitting ...');
        socket.end();
        socket.removeAllListeners('data');
        return;
      }
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE_BYTES) socket.destroy();
  });
  // 'end' is what the seed sees as recv() returning b'': the client will send nothing more.
  socket.on('end', () => socket.end());
  socket.on('error', (err) => console.log(`connection error: ${err.message}`));
});

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
