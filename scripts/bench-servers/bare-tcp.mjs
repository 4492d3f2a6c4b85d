// The ceiling for Node: the message protocol of `socklab serve` (bare-protocol.mjs) over bare node:net.
// Prints "listening <port>".
import { createServer } from 'node:net';
import { serveMessages } from './bare-protocol.mjs';

const server = createServer(serveMessages);
server.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1', backlog: 511 }, () => console.log(`listening ${server.address().port}`));
