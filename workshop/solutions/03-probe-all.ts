// Solution to chapter 3, exercise 1: print every answer of the name, and try to connect to each in turn.
// Run: node dist/workshop/solutions/03-probe-all.js [host] [port] [timeoutMs]
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';

const host = process.argv[2] ?? 'localhost';
const port = Number(process.argv[3] ?? 12345);
const timeoutMs = Number(process.argv[4] ?? 2000);

/** One attempt: 'connected', the error code (ECONNREFUSED, …), or 'no answer' once `timeoutMs` has passed. */
async function attempt(address: string): Promise<string> {
  const socket = connect({ host: address, port });
  socket.setTimeout(timeoutMs); // covers the handshake too: a dropped SYN is silence, not an error
  const outcome = await new Promise<string>((resolve) => {
    socket.on('connect', () => resolve('connected'));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.on('timeout', () => resolve(`no answer within ${timeoutMs} ms`));
  });
  socket.destroy();
  return outcome;
}

// all: true asks for every answer, in the order the system prefers; without it lookup() returns the first only.
let answers: { address: string; family: number }[];
try {
  answers = await lookup(host, { all: true });
} catch {
  console.log(`there was an error resolving the host "${host}"`);
  process.exit(1);
}
console.log(`${host} has ${answers.length} address(es): ${answers.map((answer) => answer.address).join(', ')}`);
let reached = 0;
for (const { address, family } of answers) {
  const outcome = await attempt(address);
  if (outcome === 'connected') reached++;
  console.log(`  ${address} (IPv${family}) port ${port}: ${outcome}`);
}
process.exitCode = reached > 0 ? 0 : 1;
