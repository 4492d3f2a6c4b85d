// Step 25: one datagram, many receivers. Multicast to a 239.x group on the loopback interface, then broadcast.
// Run: node dist/workshop/steps/25-multicast.js   (loopback only: nothing leaves this machine)
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

const GROUP = '239.255.23.25'; // 239.0.0.0/8: "administratively scoped", the private range of multicast
const LOOPBACK = '127.0.0.1';

/** A receiver: a UDP socket on the group's port; reuseAddr lets several sockets on this machine share it. */
async function receiver(name: string, port: number): Promise<{ socket: Socket; got: Promise<string> }> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.bind(port); // any address: a datagram sent to the group is addressed to GROUP, not to 127.0.0.1
  await once(socket, 'listening');
  socket.addMembership(GROUP, LOOPBACK); // join the group on the loopback interface only
  const got = once(socket, 'message').then(([msg, from]) => `${name} got ${JSON.stringify(String(msg))} from ${from.address}`);
  return { socket, got };
}

// If the kernel does not loop multicast back on lo, nothing arrives: say so instead of waiting forever.
setTimeout(() => {
  console.log('nothing arrived within 3 s: does lo deliver multicast here? (ip link show lo; see the chapter)');
  process.exit(1);
}, 3000).unref();

const first = await receiver('receiver 1', 0);
const port = first.socket.address().port;
const second = await receiver('receiver 2', port);

const sender = createSocket('udp4');
sender.bind(0, LOOPBACK);
await once(sender, 'listening');
sender.setMulticastInterface(LOOPBACK); // send the group's datagrams out of lo, not the default route
sender.setMulticastLoopback(true); // and deliver them to this machine's own members (lo is all we have)
sender.setMulticastTTL(1); // 1: never past the first router (0 would keep them on this host)
sender.send('hello, group', port, GROUP);
console.log(`sent one datagram to ${GROUP}, joined on ${LOOPBACK}:`);
for (const line of await Promise.all([first.got, second.got])) console.log(`  ${line}`);

// Broadcast: the same, to every host on a subnet. Without SO_BROADCAST the kernel refuses with EACCES.
const broadcast = '127.255.255.255'; // the broadcast address of 127.0.0.0/8, the loopback subnet
const refused = new Promise<string>((resolve) => sender.send('to all', port, broadcast, (err) => resolve(err ? (err as Error & { code: string }).code : 'sent')));
console.log(`send to ${broadcast} without setBroadcast: ${await refused}`);
sender.setBroadcast(true);
const both = Promise.all([once(first.socket, 'message'), once(second.socket, 'message')]);
sender.send('to all', port, broadcast);
await both;
console.log(`with setBroadcast(true): both receivers got it`);

for (const { socket } of [first, second]) {
  socket.dropMembership(GROUP, LOOPBACK);
  socket.close();
}
sender.close();
