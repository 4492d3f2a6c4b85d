// Step 10: the UDP counter server (the seed's udp_server.py). No connections: each datagram carries its
// sender's address, and the reply goes back to that address.
// Run: node dist/workshop/steps/10-udp-counter-server.js [port]
import { createSocket } from 'node:dgram';

const port = Number(process.argv[2] ?? 12345);
const socket = createSocket('udp4');
let counter = 0;

socket.on('message', (data, sender) => {
  const text = data.toString().trim(); // tolerate the newline that `ncat -u` sends
  console.log(`got ${text} from ${sender.address}:${sender.port}`);
  if (text !== 'get') return;
  const value = ++counter; // taken now, so two gets never share a value
  setTimeout(() => {
    console.log(`sending ${value} to ${sender.address}:${sender.port}`);
    socket.send(String(value), sender.port, sender.address);
  }, 500);
});
socket.on('error', (err: NodeJS.ErrnoException) => {
  console.log(`cannot bind udp 127.0.0.1:${port}: ${err.code ?? err.message}`); // one line, not a stack trace
  process.exit(1);
});
socket.bind(port, '127.0.0.1', () => console.log(`listening on udp 127.0.0.1:${socket.address().port}`));
