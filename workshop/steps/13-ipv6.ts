// Step 13: IPv6. The same calls; only the address family differs. ::1 is IPv6's loopback, like 127.0.0.1.
// Run: node dist/workshop/steps/13-ipv6.js
import { once } from 'node:events';
import { connect, createServer, isIP, type AddressInfo } from 'node:net';

const server = createServer((conn) => conn.end(`hello ${conn.remoteAddress}, you are on IPv${isIP(conn.remoteAddress ?? '')}\n`));
server.listen(0, '::1');
await once(server, 'listening');
const { address, family, port } = server.address() as AddressInfo;
console.log(`server listening on [${address}]:${port} (${family})`);

const client = connect({ host: '::1', port });
client.setEncoding('utf8');
let reply = '';
client.on('data', (text: string) => (reply += text));
await once(client, 'close');
console.log(`client got: ${reply.trim()}`);
// In a URL or an address:port string an IPv6 address needs brackets: [::1]:12345, since it contains colons.
server.close();
