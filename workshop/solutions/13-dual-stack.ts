// Solution to chapter 13, exercise 1: one listener on "::" (every address, IPv6 and IPv4), reached over 127.0.0.1
// and over ::1. An IPv4 client shows up as an IPv4-mapped IPv6 address, ::ffff:127.0.0.1.
// Run: node dist/workshop/solutions/13-dual-stack.js
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';

// Node leaves IPV6_V6ONLY off (ipv6Only: false), so a "::" listener takes IPv4 clients too: one socket, both families.
const server = createServer((conn) => conn.end(`${conn.remoteAddress} (${conn.remoteFamily})\n`));
server.listen(0, '::');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
console.log(`listening on [::]:${port}`);

for (const host of ['127.0.0.1', '::1']) {
  const client = connect({ host, port });
  client.setEncoding('utf8');
  let seen = '';
  client.on('data', (text: string) => (seen += text));
  await once(client, 'close');
  console.log(`over ${host} the server sees ${seen.trim()}`);
}
server.close();
