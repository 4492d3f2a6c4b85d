// Solution to chapter 23, exercise 2: Happy Eyeballs by hand, without its timer: try each answer in turn.
// Run: node dist/workshop/solutions/23-try-each-address.js
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** Connects to the first address that accepts, in the order given; prints each attempt. */
async function connectFirst(addresses: string[], port: number): Promise<Socket> {
  for (const address of addresses) {
    const socket = connect({ host: address, port });
    try {
      await once(socket, 'connect');
      console.log(`${address}: connected`);
      return socket;
    } catch (err) {
      console.log(`${address}: ${(err as Error & { code: string }).code}`);
      socket.destroy();
    }
  }
  throw new Error(`no address of ${addresses.join(', ')} accepted on port ${port}`);
}

// A server on ::1 only, and a list with 127.0.0.1 first (what `ipv4first` order gives for a dual name).
const server = createServer((conn) => conn.end());
server.listen(0, '::1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
const socket = await connectFirst(['127.0.0.1', '::1'], port);
console.log(`connected to ${socket.remoteAddress}, the second answer`);
socket.destroy();
server.close();
