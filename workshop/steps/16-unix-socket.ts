// Step 16: a UNIX domain socket. Same stream API as TCP, but the address is a file, not a host and port.
// Run: node dist/workshop/steps/16-unix-socket.js
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const path = join(tmpdir(), `socklab-step15-${process.pid}.sock`);

// A server that died without closing (kill -9) leaves its socket file behind. Simulate one.
spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
console.log(`a dead server left its file behind: is a socket? ${lstatSync(path).isSocket()}`);

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen(path, () => resolve('listening'));
  });
}

const server = createServer((conn) => {
  conn.setEncoding('utf8');
  conn.on('data', (text: string) => conn.end(`you said ${text.trim()} over a socket file\n`));
});
console.log(`listen on it: ${await listen(server)}`); // EADDRINUSE: the file is still there

// Is anyone behind it? A connect answers: ECONNREFUSED means nobody, so the file is stale and safe to remove.
const probe = connect(path);
const [err] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
console.log(`connect to it: ${err.code}, so it is stale: remove it and listen again`);
unlinkSync(path);
console.log(`listen on it: ${await listen(server)}`);

const client = connect(path);
client.setEncoding('utf8');
client.end('hello');
const [reply] = (await once(client, 'data')) as [string];
console.log(`client got: ${reply.trim()}`);
// The peer of a UNIX socket has no address and no port: who may connect is decided by the file's permissions.
chmodSync(path, 0o600);
console.log(`peer address: ${client.remoteAddress}; after chmod, file mode ${(lstatSync(path).mode & 0o777).toString(8)}: only our user may connect`);
server.close(); // Node (libuv) removes the file on close
await once(server, 'close');
console.log(`after close the file exists: ${spawnSync('test', ['-e', path]).status === 0}`);
