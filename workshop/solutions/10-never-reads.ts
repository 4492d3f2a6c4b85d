// Solution to chapter 10, exercise 1: a server that never reads, a client that writes until write() returns
// false. Where are the bytes? In four places: the server's receive buffer (its Recv-Q in ss), the client's send
// buffer (Send-Q), and Node's own memory on each side (readableLength, writableLength).
// Run: node dist/workshop/solutions/10-never-reads.js   (needs ss, from iproute2: apt-get install -y iproute2)
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Recv-Q and Send-Q of the one socket bound to `local` and connected to `peer`, as `ss -tn` prints them. */
function queues(local: number, peer: number): { recvQ: number; sendQ: number } {
  const out = execFileSync('ss', ['-Htn', `( sport = :${local} and dport = :${peer} )`], { encoding: 'utf8' });
  const [, recvQ, sendQ] = out.trim().split(/\s+/);
  return { recvQ: Number(recvQ), sendQ: Number(sendQ) };
}

let reader: Socket | undefined;
const server = createServer((conn) => {
  conn.pause(); // never read: what arrives stays in the kernel's receive buffer
  reader = conn;
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const serverPort = (server.address() as AddressInfo).port;
const writer = connect(serverPort, '127.0.0.1');
await once(writer, 'connect');
const clientPort = writer.localPort!;

const chunk = Buffer.alloc(64 * 1024, 'x');
let written = 0;
while (writer.write(chunk)) written += chunk.length;
written += chunk.length; // the write that returned false was accepted too: false means "stop now", not "refused"
console.log(`write() returned false after ${written / 1024} KiB had been accepted`);

// Let the kernel move what it can from the client's send buffer into the server's receive buffer.
let before = -1;
let now = queues(serverPort, clientPort).recvQ;
for (let tries = 0; tries < 50 && now !== before; tries++) {
  await sleep(20);
  [before, now] = [now, queues(serverPort, clientPort).recvQ];
}
const atServer = queues(serverPort, clientPort).recvQ;
const atClient = queues(clientPort, serverPort).sendQ;
const kib = (bytes: number): string => `${Math.round(bytes / 1024)} KiB`;
console.log(`  in the server's receive buffer (its Recv-Q in ss): ${kib(atServer)}`);
console.log(`  in the client's send buffer (its Send-Q in ss): ${kib(atClient)}`);
console.log(`  in the server's memory, read before pause() took effect (readableLength): ${kib(reader?.readableLength ?? 0)}`);
console.log(`  in the client's memory, not yet given to the kernel (writableLength): ${kib(writer.writableLength)}`);
writer.destroy();
reader?.destroy();
server.close();
