// The chat room in bare node:net, written the obvious way: every line a client sends goes to every other client as
// "<address:port>: <line>". No names, no escaping, no limits. Prints "listening <port>".
import { createServer } from 'node:net';

const clients = new Set();
const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  const name = `${socket.remoteAddress}:${socket.remotePort}`;
  let pending = '';
  clients.add(socket);
  socket.write(`* you are ${name}\n`);
  socket.setEncoding('utf8');
  socket.on('data', (text) => {
    pending += text;
    let end;
    while ((end = pending.indexOf('\n')) !== -1) {
      const line = `${name}: ${pending.slice(0, end)}\n`;
      pending = pending.slice(end + 1);
      for (const other of clients) if (other !== socket) other.write(line);
    }
  });
  socket.on('close', () => clients.delete(socket));
  socket.on('end', () => socket.end());
});
server.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1', backlog: 511 }, () => console.log(`listening ${server.address().port}`));
