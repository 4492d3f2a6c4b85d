// Solution to chapter 9, exercise 1: step 8's server made a real one: answer each line as it arrives, and close
// only after the client's FIN, once every answer is written.
// Graded by: npx socklab check concurrent 12345 --only half-close   (it passes every concurrent check)
// Run: node dist/workshop/solutions/09-answer-then-close.js [port]
import { createServer, type AddressInfo } from 'node:net';

const port = Number(process.argv[2] ?? 12345);
const MAX_LINE_BYTES = 64 * 1024;

// allowHalfOpen: the client's FIN closes only its direction; ours stays open until we call end().
const server = createServer({ allowHalfOpen: true }, (conn) => {
  const peer = `${conn.remoteAddress}:${conn.remotePort}`;
  let pending = '';
  let lines = 0;
  conn.setEncoding('utf8');
  conn.on('error', () => {});
  conn.write('hello: send lines, FIN (Ctrl-D) ends the session\n');
  conn.on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      lines++;
      conn.write(`got: ${line}\n`); // 'data': answered at once, not after the FIN
      if (line === 'quit') conn.end();
    }
    if (pending.length > MAX_LINE_BYTES) {
      conn.end('line too long\n');
      conn.removeAllListeners('data').resume();
    }
  });
  conn.on('end', () => {
    // 'end': the client will send nothing more. Every answer is written already; end() sends them, then FIN.
    console.log(`${peer} finished sending after ${lines} lines`);
    conn.end();
  });
});
server.on('error', (err: NodeJS.ErrnoException) => {
  console.log(`cannot listen on 127.0.0.1:${port}: ${err.code ?? err.message}`);
  process.exit(1);
});
server.listen({ port, host: '127.0.0.1', backlog: 511 }, () => console.log(`listening on 127.0.0.1:${(server.address() as AddressInfo).port}`));
