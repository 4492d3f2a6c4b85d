// Step 23: names to addresses. getaddrinfo through dns.lookup, several answers, their order, Happy Eyeballs.
// Run: node dist/workshop/steps/23-dns.js   (no network needed: only /etc/hosts names and loopback)
import { getDefaultResultOrder, lookup, type LookupAddress } from 'node:dns';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type LookupFunction } from 'node:net';
import { resolveHost, resolveHostAll } from '../../src/index.js';

// 1. The library's resolver: getaddrinfo (via dns.lookup), so /etc/hosts is read first, as every program does.
console.log('resolveHost(127.0.0.1):', await resolveHost('127.0.0.1')); // a literal: no lookup at all
console.log('resolveHost(localhost, IPv4 only):', await resolveHost('localhost', { family: 4 }));
console.log('resolveHostAll([::1]):', await resolveHostAll('[::1]'));

// 2. A name with two answers, ::1 first: what `localhost` gives where /etc/hosts lists `::1 localhost` too.
// A lookup function stands in for /etc/hosts here, so the run is the same on every machine.
const twoAnswers = ((_name: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  const answers: LookupAddress[] = [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }];
  if (options.all) callback(null, answers);
  else callback(null, answers[0]!.address, answers[0]!.family);
}) as unknown as LookupFunction;

// A server on 127.0.0.1 only: nothing listens on ::1, so a connect to the first answer is refused.
const server = createServer((socket) => socket.end());
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;

async function attempt(label: string, autoSelectFamily: boolean): Promise<void> {
  const socket = connect({ host: 'dual.example', port, lookup: twoAnswers, autoSelectFamily });
  try {
    await once(socket, 'connect');
    console.log(`${label}: connected to ${socket.remoteAddress}`);
  } catch (err) {
    console.log(`${label}: ${(err as Error & { code: string }).code}`);
  } finally {
    socket.destroy();
  }
}
// Without Happy Eyeballs the client tries the first answer only: ::1, refused, although 127.0.0.1 would work.
await attempt('autoSelectFamily: false (first answer only)', false);
// With it (Node 20's default), the next answer is tried when one fails or is slow (250 ms): 127.0.0.1 works.
await attempt('autoSelectFamily: true (Happy Eyeballs)', true);

// 3. The real localhost, to a server on 127.0.0.1: works whether or not your /etc/hosts lists ::1 first.
const real = connect({ host: 'localhost', port, autoSelectFamily: true });
await once(real, 'connect');
console.log(`localhost, Happy Eyeballs on: connected to ${real.remoteAddress}`);
real.destroy();
server.close();

// 4. The raw call under resolveHostAll: dns.lookup with all: true is getaddrinfo's whole list, in the order
// Node's setting says: 'verbatim' (Node 17+) keeps getaddrinfo's order; 'ipv4first' puts IPv4 answers first.
console.log(`dns result order: ${getDefaultResultOrder()} (change it with node --dns-result-order=ipv4first)`);
lookup('localhost', { all: true, family: 4 }, (err, answers) => console.log('lookup(localhost, all, IPv4):', err?.code ?? answers));
