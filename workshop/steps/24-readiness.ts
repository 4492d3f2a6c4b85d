// Step 24: under the event loop. The kernel says "readable" or "writable"; Node reads until the buffer is empty.
// Run: node dist/workshop/steps/24-readiness.js
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

// The server reads in readiness style: 'readable' is epoll saying "there are bytes"; read() takes them until it
// returns null, which is the JS face of a non-blocking recv() failing with EAGAIN: empty for now, come back later.
let turn = 0;
// allowHalfOpen: after the client's FIN the server still writes, and ends when it is done.
const server = createServer({ allowHalfOpen: true }, (conn: Socket) => {
  conn.on('readable', () => {
    turn += 1;
    for (let chunk: Buffer | null; (chunk = conn.read() as Buffer | null) !== null; ) {
      console.log(`server, turn ${turn}: read() gave ${chunk.length} bytes: ${JSON.stringify(String(chunk))}`);
      conn.write(chunk); // echo, so the client knows when to send the next piece
    }
    console.log(`server, turn ${turn}: read() gave null (kernel buffer empty: EAGAIN), back to the loop`);
  });
  conn.on('end', () => {
    // A big write to a client that is not reading: the kernel's send buffer fills, the rest waits in Node.
    const big = Buffer.alloc(4 * 1024 * 1024, 'x');
    const accepted = conn.write(big);
    console.log(`server: write(4 MiB) returned ${accepted}: the kernel took what fits (a send() would say EAGAIN)`);
    conn.once('drain', () => {
      console.log(`server: 'drain': the client read enough, all ${big.length} bytes are with the kernel now`);
      conn.end();
    });
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;

const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
await once(client, 'connect');
client.pause(); // read nothing until asked: the server's echo waits in the kernel buffer
for (const piece of ['hello ', 'event ', 'loop\n']) {
  client.write(piece);
  await once(client, 'readable'); // the echo came back: the server's turn is over
  client.read();
}
client.end(); // our FIN: the server sees 'end' (a read of 0 bytes) and starts its big write
await new Promise((resolve) => setTimeout(resolve, 200)); // let the server's send buffer fill while we do not read
let received = 0;
client.on('data', (chunk: Buffer) => (received += chunk.length));
client.resume();
await once(client, 'end');
console.log(`client: read ${received} bytes after resuming`);
server.close();
