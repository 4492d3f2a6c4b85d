// The ceiling for TLS in Node: the message protocol of `socklab serve` over bare node:tls, no framing library,
// no limits, no logging; the same settings socklab uses (TLS 1.2 minimum, Node's default ciphers). A greeting
// line, then one "got message\n" per received line. Usage: bare-tls.mjs <port> <cert.pem> <key.pem>.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';

const [port = '0', certFile, keyFile] = process.argv.slice(2);
const greeting = Buffer.from('connected to server\n');
const reply = Buffer.from('got message\n');
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' }, (socket) => {
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
server.on('tlsClientError', (_err, socket) => socket.destroy());
server.listen({ port: Number(port), host: '127.0.0.1', backlog: 511 }, () => console.log(`listening ${server.address().port}`));
