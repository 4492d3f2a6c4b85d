// Step 19: watch a connection's states with ss, from open to TIME-WAIT, then listen again on the same port.
// Run: node dist/workshop/steps/19-time-wait.js   (needs ss, from iproute2: apt-get install -y iproute2)
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What `ss -tan` shows of our sockets: one "STATE local -> peer" line each, the server's first. Only the
 * listener and the connection to `clientPort`: an earlier program's connection to a server that had this port
 * number may still be in TIME-WAIT, and is not ours.
 */
function ss(port: number, clientPort?: number): string[] {
  const out = execFileSync('ss', ['-Htan', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  const ours = (state: string, local: string, peer: string): boolean =>
    state === 'LISTEN' ? local.endsWith(`:${port}`) : clientPort !== undefined && (local.endsWith(`:${clientPort}`) || peer.endsWith(`:${clientPort}`));
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.trim().split(/\s+/))
    .filter(([state, , , local, peer]) => ours(state!, local!, peer!))
    .sort(([, , , a], [, , , b]) => Number(!a!.endsWith(`:${port}`)) - Number(!b!.endsWith(`:${port}`)))
    .map(([state, , , local, peer]) => `${state!.padEnd(10)} ${local} -> ${peer}`);
}

/**
 * Prints the states once they are exactly `expected`: the kernel's ACKs can lag our events, by more than a few
 * milliseconds on a busy machine, so ask again until then, for up to 5 s (a deadline, not a number of tries).
 */
async function watch(label: string, port: number, expected: string[], clientPort?: number): Promise<void> {
  const deadline = performance.now() + 5000;
  const states = (rows: string[]): string => rows.map((row) => row.split(' ')[0]).sort().join(' ');
  let rows = ss(port, clientPort);
  while (states(rows) !== [...expected].sort().join(' ') && performance.now() < deadline) {
    await sleep(20);
    rows = ss(port, clientPort);
  }
  console.log(`${label}:`);
  for (const row of rows) console.log(`  ${row}`);
  // A full machine: the kernel keeps at most net.ipv4.tcp_max_tw_buckets TIME-WAIT entries and closes the rest.
  if (states(rows) !== [...expected].sort().join(' ')) console.log(`  (not ${expected.join(', ')} after 5 s; sysctl net.ipv4.tcp_max_tw_buckets)`);
}

// allowHalfOpen: after the client's FIN the server still decides when to send its own.
const server = createServer({ allowHalfOpen: true });
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
await watch('1. a listener', port, ['LISTEN']);

const accepted = once(server, 'connection');
const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
await once(client, 'connect');
const clientPort = client.localPort;
const [conn] = (await accepted) as [Socket];
await watch('2. connected: both ends ESTABLISHED', port, ['LISTEN', 'ESTAB', 'ESTAB'], clientPort);

client.end(); // the client's FIN: it closes first, so it is the one that will wait in TIME-WAIT
await once(conn, 'end');
await watch('3. client sent FIN, server has not closed yet', port, ['LISTEN', 'CLOSE-WAIT', 'FIN-WAIT-2'], clientPort);

const closed = Promise.all([once(client, 'close'), once(conn, 'close')]);
conn.end(); // the server's FIN
await closed;
await watch('4. both closed: the side that closed first waits', port, ['LISTEN', 'TIME-WAIT'], clientPort);

// Nothing listens now, yet the port is not free for every program: a listener without SO_REUSEADDR would get
// EADDRINUSE for a minute. Node (libuv) sets SO_REUSEADDR on every TCP listener, so this works at once.
server.close();
await once(server, 'close');
const again = createServer();
again.listen(port, '127.0.0.1');
await once(again, 'listening');
console.log('5. listening again on the same port while the old connection is in TIME-WAIT: fine (SO_REUSEADDR)');
again.close();
