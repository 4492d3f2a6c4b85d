// Step 11: the UDP client (the seed's udp_client.py), with the one thing the seed lacks: a timeout.
// A datagram can be lost; a client that waits for its reply without a limit can wait forever.
// Run: node dist/workshop/steps/11-udp-client.js [port] [count]
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

const port = Number(process.argv[2] ?? 12345);
const count = Number(process.argv[3] ?? 10);
const socket = createSocket('udp4');
socket.connect(port, '127.0.0.1'); // fixes the peer: send() needs no address, and only its replies arrive
await once(socket, 'connect');
// An 'error' with no listener would crash us. While we wait for a reply, once() below rejects with it instead.
socket.on('error', () => {});

let lost = 0;
for (let i = 0; i < count; i++) {
  socket.send('get');
  console.log('sent the get message');
  try {
    // once() with a signal: wait for the next datagram, but give up after 2 s.
    const [data, from] = (await once(socket, 'message', { signal: AbortSignal.timeout(2000) })) as [Buffer, { address: string; port: number }];
    console.log(`got ${data.toString()} from ${from.address}:${from.port}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
      // Not a loss: an ICMP "port unreachable" came back, so nothing listens there. No point in asking again.
      console.log(`refused: no UDP server listens on 127.0.0.1:${port}`);
      process.exitCode = 1;
      break;
    }
    lost++;
    console.log('no reply within 2 s: lost');
  }
  if (i < count - 1) await sleep(500);
}
socket.close();
if (lost > 0) process.exitCode = 1;
