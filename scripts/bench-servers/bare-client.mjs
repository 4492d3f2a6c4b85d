// A bare closed-loop TCP client (no histogram, no progress), to check that `socklab bench` is not the bottleneck.
// Usage: bare-client.mjs PORT CONNECTIONS DURATION_MS → prints {"perSec":…,"cpuPercent":…}
import { connect } from 'node:net';

const [port, connections, durationMs] = process.argv.slice(2).map(Number);
const request = Buffer.from('hello\n');
let completed = 0;
let running = true;
const sockets = [];
const cpu = process.cpuUsage();
for (let i = 0; i < connections; i++) {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  let greeted = false;
  socket.on('data', (chunk) => {
    if (!greeted) greeted = true;
    else completed++;
    if (running) socket.write(request);
  });
  socket.on('error', () => {});
  sockets.push(socket);
}
await new Promise((resolve) => setTimeout(resolve, 1000)); // warm-up
const startCount = completed;
const startedAt = performance.now();
await new Promise((resolve) => setTimeout(resolve, durationMs));
const elapsed = performance.now() - startedAt;
const done = completed - startCount;
running = false;
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({ perSec: (done * 1000) / elapsed, cpuPercent: Math.round(((used.user + used.system) / ((elapsed + 1000) * 1000)) * 1000) / 10 }));
sockets.forEach((socket) => socket.destroy());
