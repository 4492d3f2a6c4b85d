// The ceiling for TLS in Node: the message protocol of `socklab serve` (bare-protocol.mjs) over bare node:tls,
// with the same settings socklab uses (TLS 1.2 minimum, Node's default ciphers). Usage: bare-tls.mjs <port>
// <cert.pem> <key.pem>. Prints "listening <port>".
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import { serveMessages } from './bare-protocol.mjs';

const [port = '0', certFile, keyFile] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' }, serveMessages);
server.on('tlsClientError', (_err, socket) => socket.destroy());
server.listen({ port: Number(port), host: '127.0.0.1', backlog: 511 }, () => console.log(`listening ${server.address().port}`));
