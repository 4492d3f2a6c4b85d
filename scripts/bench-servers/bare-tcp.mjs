// The ceiling for Node: the message protocol of `socklab serve` in bare node:net, no framing library, no limits,
// no logging. A greeting line, then one "got message\n" per received line. Prints "listening <port>".
import { createServer } from 'node:net';

const greeting = Buffer.from('connected to server\n');
const reply = Buffer.from('got message\n');
const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.write(greeting);
  socket.on('data', (chunk) => {
    let lines = 0;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
    if (lines === 1) socket.write(reply);
    else if (lines > 1) socket.write(Buffer.concat(Array(lines).fill(reply)));
  });
  socket.on('end', () => socket.end());
});
server.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1', backlog: 511 }, () => console.log(`listening ${server.address().port}`));
