// Step 17: inetd in thirty lines. Each connection gets its own process; the socket is its stdin and stdout.
// Run: node dist/workshop/steps/17-inetd.js
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';

// allowHalfOpen: the client's FIN must reach the program as end of input while its answer still flows back.
const server = createServer({ allowHalfOpen: true }, (conn) => {
  // argv, no shell: nothing the client sends is ever parsed as a command line.
  const program = spawn('tr', ['a-z', 'A-Z'], { stdio: ['pipe', 'pipe', 'inherit'] });
  console.log(`server: started tr for a client (its own process)`);
  conn.pipe(program.stdin); // pipe() is backpressure: a slow program pauses the socket, and the reverse
  program.stdout.pipe(conn); // its end of output becomes our FIN
  program.stdin.on('error', () => {}); // the program may exit without reading everything (EPIPE)
  program.on('exit', (code, signal) => console.log(`server: tr exited with code ${code}${signal ? ` (${signal})` : ''}`));
  // A client that disappears must not leave the program behind.
  conn.on('close', () => program.kill('SIGTERM'));
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');

const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
client.setEncoding('utf8');
let reply = '';
client.on('data', (text: string) => (reply += text));
client.end('hello from an inetd client\n'); // FIN: tr sees end of input, answers, exits
await once(client, 'close');
console.log(`client got: ${reply.trim()}`);
server.close();
