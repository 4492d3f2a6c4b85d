// Solution to chapter 19, exercise 2: when the server closes first, the TIME-WAIT entry is on the server's port.
// Run: node dist/workshop/solutions/19-server-closes-first.js
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const server = createServer({ allowHalfOpen: true });
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
const accepted = once(server, 'connection');
const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
await once(client, 'connect');
const clientPort = client.localPort; // ours, not an earlier connection to this port number
const [conn] = (await accepted) as [Socket];
/** Times the kernel found its TIME-WAIT table full (net.ipv4.tcp_max_tw_buckets) and kept no entry at all. */
function timeWaitOverflows(): number {
  const [names, values] = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((line) => line.startsWith('TcpExt:'));
  return Number(values!.split(' ')[names!.split(' ').indexOf('TCPTimeWaitOverflow')]);
}
const overflowsBefore = timeWaitOverflows();
const closed = Promise.all([once(client, 'close'), once(conn, 'close')]);
client.on('end', () => client.end()); // the client answers the server's FIN with its own
conn.end(); // the server closes first this time
await closed;
// The last ACK can lag our 'close' events on a busy machine: ask ss again until a deadline, not a number of tries.
const deadline = performance.now() + 5000;
let waiting = '';
while (waiting === '' && performance.now() < deadline) {
  waiting = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( sport = :${port} and dport = :${clientPort} )`], { encoding: 'utf8' }).trim();
  if (waiting === '') await sleep(20);
}
const full = waiting === '' && timeWaitOverflows() > overflowsBefore ? ' (the kernel kept none: its TIME-WAIT table is full on this machine)' : '';
console.log(`TIME-WAIT on the server's port ${port}: ${waiting !== ''}${full}`);
console.log('a listener without SO_REUSEADDR could not bind this port for a minute; Node sets it, so this works:');
server.close();
await once(server, 'close');
const again = createServer().listen(port, '127.0.0.1');
await once(again, 'listening');
console.log(`listening again on ${port}`);
again.close();
