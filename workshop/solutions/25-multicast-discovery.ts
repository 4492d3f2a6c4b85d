// Solution to chapter 25, exercise 2: discovery. One "who is there?" to the group; every member answers by
// unicast to the sender's own address and port, and the sender counts the answers.
// Run: node dist/workshop/solutions/25-multicast-discovery.js [members]
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

const GROUP = '239.255.23.25';
const LOOPBACK = '127.0.0.1';
const members = Number(process.argv[2] ?? 3);

const first = createSocket({ type: 'udp4', reuseAddr: true });
first.bind(0);
await once(first, 'listening');
const port = first.address().port;
const sockets = [first];
for (let i = 1; i < members; i++) {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.bind(port);
  await once(socket, 'listening');
  sockets.push(socket);
}
sockets.forEach((socket, i) => {
  socket.addMembership(GROUP, LOOPBACK);
  socket.setMulticastInterface(LOOPBACK);
  // The answer goes to the sender alone: unicast to rinfo, not back to the group.
  socket.on('message', (_msg, from) => socket.send(`member ${i + 1} here`, from.port, from.address));
});

const asker = createSocket('udp4');
asker.bind(0, LOOPBACK);
await once(asker, 'listening');
asker.setMulticastInterface(LOOPBACK);
asker.setMulticastLoopback(true);
asker.setMulticastTTL(1);
const answers = new Set<string>();
asker.on('message', (msg) => answers.add(String(msg)));
asker.send('who is there?', port, GROUP);
await new Promise((resolve) => setTimeout(resolve, 500)); // UDP: no end of answers, so wait a fixed time
console.log([...answers].sort().join('\n'));
console.log(`${answers.size} of ${members} members answered`);
sockets.forEach((socket) => socket.close());
asker.close();
