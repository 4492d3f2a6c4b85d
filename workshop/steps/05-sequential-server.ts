// Step 5: one client at a time. The seed's server3.py blocks in recv() on its one client, so a second client
// waits in the kernel's listen queue. Node never blocks, so here waiting is explicit: a queue.
// Run: node dist/workshop/steps/05-sequential-server.js [port]
import { createServer, type AddressInfo, type Socket } from 'node:net';

const port = Number(process.argv[2] ?? 12345);
const MAX_LINE_BYTES = 64 * 1024; // a client must not be able to make us buffer without end (chapter 10)
const waiting: Socket[] = [];
const peers = new WeakMap<Socket, string>();
// Remember the address at accept: once a socket is closed, remoteAddress is gone.
const peer = (socket: Socket): string => peers.get(socket) ?? '?';
let current: Socket | undefined;

function serve(socket: Socket): void {
  current = socket;
  console.log(`serving ${peer(socket)}`);
  socket.write('Thank you for connecting\n');
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
      const message = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      console.log(`${peer(socket)} says: ${message}`);
      socket.write('got your message\n');
      if (message === 'quit') socket.end();
    }
    if (pending.length > MAX_LINE_BYTES) {
      socket.end('line too long\n');
      socket.removeAllListeners('data').resume();
    }
  });
  socket.on('end', () => socket.end());
  socket.on('close', () => {
    console.log(`${peer(socket)} left`);
    const next = waiting.shift();
    current = undefined;
    if (next) serve(next);
  });
}

const server = createServer((socket) => {
  peers.set(socket, `${socket.remoteAddress}:${socket.remotePort}`);
  socket.on('error', () => {}); // a reset is reported by 'close'; without a listener it would crash the server
  socket.on('close', () => {
    // A client that gives up while it waits leaves the line; its turn would otherwise serve a closed socket
    // and nobody after it would ever be served.
    const place = waiting.indexOf(socket);
    if (place === -1) return;
    waiting.splice(place, 1);
    console.log(`${peer(socket)} left before its turn`);
  });
  if (current) {
    // Accepted, but not read and not greeted: from the client's side, the server is simply silent.
    console.log(`${peer(socket)} waits (${waiting.length + 1} in line)`);
    waiting.push(socket);
  } else {
    serve(socket);
  }
});
// EADDRINUSE: a server listens on the port already, or an earlier server's connections still sit in TIME-WAIT
// (chapter 19). One line instead of a crash; `ss -tan 'sport = :PORT'` shows which.
server.on('error', (err: NodeJS.ErrnoException) => {
  console.log(`cannot listen on 127.0.0.1:${port}: ${err.code ?? err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${(server.address() as AddressInfo).port}`));
