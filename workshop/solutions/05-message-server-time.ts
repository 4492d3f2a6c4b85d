// Solution to chapter 5, exercise 2: step 3, answering `time` with the server's clock, `quit` in any case.
// Graded by: npx socklab check sequential 12345 --one-client
// Run: node dist/workshop/solutions/05-message-server-time.js [port]
import { createServer, type AddressInfo } from 'node:net';

const port = Number(process.argv[2] ?? 12345);
const MAX_LINE_BYTES = 64 * 1024; // a client must not be able to make us buffer without end

/** The reply to one message, and whether the session ends with it. */
function answer(message: string): { reply: string; last: boolean } {
  const command = message.toLowerCase(); // QUIT, Quit and quit alike; "quite good" is still not quit
  if (command === 'time') return { reply: `${new Date().toISOString()}\n`, last: false };
  return { reply: 'got your message\n', last: command === 'quit' };
}

const server = createServer((socket) => {
  server.close(); // one client, then stop, like step 3
  console.log(`Got connection from ${socket.remoteAddress}:${socket.remotePort}`);
  socket.write('Thank you for connecting\n');
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
      const message = pending.slice(0, newline).replace(/\r$/, '');
      pending = pending.slice(newline + 1);
      console.log(`got message from client: ${message}`);
      const { reply, last } = answer(message);
      socket.write(reply);
      if (last) {
        console.log('quitting ...');
        socket.end();
        socket.removeAllListeners('data').resume(); // read and drop whatever else arrives
        return;
      }
    }
    if (pending.length > MAX_LINE_BYTES) socket.destroy();
  });
  socket.on('end', () => socket.end());
  socket.on('error', (err) => console.log(`connection error: ${err.message}`));
});
server.on('error', (err: NodeJS.ErrnoException) => {
  console.log(`cannot listen on 127.0.0.1:${port}: ${err.code ?? err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${(server.address() as AddressInfo).port}`));
