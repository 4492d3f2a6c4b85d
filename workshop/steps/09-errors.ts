// Step 9: what goes wrong on a real network, and how each failure shows up in Node.
// Run: node dist/workshop/steps/09-errors.js
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

// 1. Nothing listens on the port: the peer's kernel answers our SYN with RST.
const closedServer = createServer();
const closedPort = await listen(closedServer);
closedServer.close();
const refused = connect(closedPort, '127.0.0.1');
const [refusedError] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
console.log(`1. connect to a closed port: ${refusedError.code}`);

// 2. The peer aborts: resetAndDestroy() sends RST instead of FIN. Our next read fails.
const resetting = createServer((conn) => conn.once('data', () => conn.resetAndDestroy()));
const resetClient = connect(await listen(resetting), '127.0.0.1');
resetClient.write('hello\n');
const [resetError] = (await once(resetClient, 'error')) as [NodeJS.ErrnoException];
console.log(`2. peer reset the connection: ${resetError.code}`);
resetting.close();

// 3. The peer goes silent. setTimeout() only reports it; closing is up to us.
const silent = createServer(() => {});
const idle = connect(await listen(silent), '127.0.0.1');
idle.setTimeout(200);
await once(idle, 'timeout');
console.log(`3. no data for 200 ms: 'timeout' event, socket still open: ${!idle.destroyed}`);
idle.destroy();
silent.close();

// 4. Backpressure: a peer that does not read. write() keeps accepting (into memory!) but returns false once
//    the kernel buffers are full: that is the signal to stop and wait for 'drain'.
let reader: import('node:net').Socket | undefined;
const slow = createServer((conn) => {
  conn.pause(); // not reading
  reader = conn;
});
const writer = connect(await listen(slow), '127.0.0.1');
await once(writer, 'connect');
const chunk = Buffer.alloc(64 * 1024);
let writes = 0;
while (writer.write(chunk)) writes++;
console.log(`4. write() returned false after the kernel buffers filled; ${writer.writableLength > 0 ? 'bytes wait in memory' : 'nothing queued'}`);
reader?.resume(); // the peer starts reading again
await once(writer, 'drain');
console.log(`   'drain': the peer caught up, safe to write again (${writes > 0 ? 'several' : 'no'} writes went through first)`);
writer.destroy();
reader?.destroy();
slow.close();
