// Step 8: half-close. end() sends FIN, "I will send nothing more", yet the other direction stays open.
// The seed's servers never notice FIN: recv() returns b'', which is not "quit", so they loop forever.
// Run: node dist/workshop/steps/08-half-close.js
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';

// allowHalfOpen: keep our side writable after the client's FIN (Node's default would close it at once).
const server = createServer({ allowHalfOpen: true }, (conn) => {
  let received = '';
  conn.setEncoding('utf8');
  conn.on('data', (chunk: string) => (received += chunk));
  conn.on('end', () => {
    // The analogue of recv() == b'': the client is done sending. Answer what it sent, then close our side.
    const lines = received.split('\n').filter(Boolean);
    console.log(`server: client finished sending after ${lines.length} lines`);
    conn.end(`you sent ${lines.length} lines: ${lines.join(', ')}\n`);
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');

const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
client.setEncoding('utf8');
await once(client, 'connect');
client.write('one\ntwo\n');
client.end('three\n'); // FIN after the last line
console.log('client: sent 3 lines and FIN, still reading');
let reply = '';
client.on('data', (chunk: string) => (reply += chunk));
await once(client, 'close');
console.log(`client: server replied after our FIN: ${reply.trim()}`);
server.close();
