// Step 12: what UDP does not promise. Boundaries are kept, but datagrams can be lost, duplicated and
// reordered, and they have a maximum size.
// Run: node dist/workshop/steps/12-udp-realities.js
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

const receiver = await bound();
const sender = await bound();
const to = receiver.address().port;

// 1. Boundaries: three sends are three datagrams, never merged (unlike TCP in step 7).
const got: string[] = [];
receiver.on('message', (data) => got.push(data.toString()));
for (const text of ['one', 'two', 'three']) sender.send(text, to, '127.0.0.1');
while (got.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
console.log(`1. sent 3 datagrams, received ${got.length}: ${JSON.stringify(got)}`);

// 2. Size: a UDP payload over IPv4 holds at most 65,507 bytes (65,535 - 8 UDP - 20 IP header bytes).
const tooBig = await new Promise<string>((resolve) =>
  sender.send(Buffer.alloc(65_508), to, '127.0.0.1', (err) => resolve((err as NodeJS.ErrnoException | null)?.code ?? 'sent')),
);
console.log(`2. a 65,508-byte datagram: ${tooBig}`);

// 3. Loss, duplicates, reordering. Loopback never does these, so a relay imitates a bad network, with a
//    seeded random generator so every run behaves alike. The fix is an id in every request.
let seed = 64;
const random = (): number => {
  seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0; // a 32-bit linear congruential generator
  return seed / 2 ** 32;
};
const arrived: string[] = [];
receiver.removeAllListeners('message');
receiver.on('message', (data) => arrived.push(data.toString()));
for (let id = 1; id <= 8; id++) {
  const roll = random();
  const send = (): void => void sender.send(`request ${id}`, to, '127.0.0.1');
  if (roll < 0.2) continue; // lost
  if (roll < 0.35) setTimeout(send, 40); // delayed: overtaken by later ones
  else send();
  if (roll > 0.85) send(); // duplicated
}
await new Promise((resolve) => setTimeout(resolve, 100));
const ids = arrived.map((text) => Number(text.split(' ')[1]));
const missing = [1, 2, 3, 4, 5, 6, 7, 8].filter((id) => !ids.includes(id));
const duplicated = ids.filter((id, i) => ids.indexOf(id) !== i);
console.log(`3. arrival order: ${ids.join(' ')}`);
console.log(`   missing: ${missing.join(' ') || 'none'}; duplicated: ${duplicated.join(' ') || 'none'}; in order: ${ids.every((id, i) => i === 0 || id > ids[i - 1]!)}`);
sender.close();
receiver.close();
