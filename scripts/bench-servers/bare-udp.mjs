// The counter server in bare node:dgram, written the obvious way: a setTimeout per request, default socket
// buffers. Prints "listening <port>".
import { createSocket } from 'node:dgram';

const delayMs = Number(process.argv[3] ?? 500);
const socket = createSocket('udp4');
let counter = 0;
socket.on('message', (data, from) => {
  if (data.toString() !== 'get') return;
  const value = String(++counter);
  setTimeout(() => socket.send(value, from.port, from.address), delayMs);
});
socket.bind(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${socket.address().port}`));
