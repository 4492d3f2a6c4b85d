// Step 1: resolve a host name, then open a TCP connection to it (the seed's server.py).
// Run: node dist/workshop/steps/01-probe.js [host] [port]
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';

const host = process.argv[2] ?? 'localhost';
const port = Number(process.argv[3] ?? 80);

// 1. Name → address. dns.lookup asks the operating system (/etc/hosts, then DNS), like Python's gethostbyname,
//    but it may answer with an IPv6 address too.
let address: string;
try {
  const answer = await lookup(host);
  address = answer.address;
  console.log(`host ip is: ${address} (IPv${answer.family})`);
} catch {
  console.log(`there was an error resolving the host "${host}"`);
  process.exit(1);
}

// 2. Address → connection. connect() returns at once; the outcome arrives later as an event.
const socket = connect({ host: address, port });
socket.setTimeout(5000); // Without this a connect to a silent host can hang for minutes.
socket.on('connect', () => {
  console.log(`the socket has successfully connected to ${host} on port ${port}`);
  socket.end();
});
socket.on('timeout', () => {
  console.log(`no answer from ${host} on port ${port} within 5 s`);
  socket.destroy();
  process.exitCode = 1;
});
socket.on('error', (err: NodeJS.ErrnoException) => {
  // ECONNREFUSED: the host answered, but nothing listens on that port.
  console.log(`cannot connect to ${host} on port ${port}: ${err.code}`);
  process.exitCode = 1;
});
