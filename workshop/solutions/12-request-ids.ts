// Solution to chapter 12, exercise 2: a UDP client that survives loss, duplicates and reordering. Each get carries
// an id; a lost one is sent again with the same id after a timeout; a reply to an id already answered (a
// duplicate, or the late answer to a retried get) is counted and dropped.
// Run: node dist/workshop/solutions/12-request-ids.js PORT [COUNT]   (against npx socklab udp-serve, or a lossy proxy)
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

const port = Number(process.argv[2] ?? 12345);
const count = Number(process.argv[3] ?? 20);
const timeoutMs = 200;
const maxAttempts = 6;

const socket = createSocket('udp4');
socket.connect(port, '127.0.0.1');
await once(socket, 'connect');

const values = new Map<number, number>(); // id -> the value the server gave it
let duplicates = 0;
let retries = 0;
let waiting: ((value: number) => void) | undefined;
let waitingFor = 0;
socket.on('message', (data) => {
  const [id, value] = data.toString().trim().split(' ').map(Number); // "<id> <value>"
  if (id === undefined || value === undefined || Number.isNaN(value)) return; // not a reply to a get <id>
  if (values.has(id) || id !== waitingFor) {
    duplicates++; // already answered, or an answer we stopped waiting for
    return;
  }
  values.set(id, value);
  waiting?.(value);
});
socket.on('error', () => {}); // ECONNREFUSED when nothing listens: the timeout below reports it

/** One get, sent until answered (with the same id each time, so the server answers a retry with the same value). */
async function get(id: number): Promise<number | undefined> {
  waitingFor = id;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) retries++;
    const answered = new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      waiting = (value) => (clearTimeout(timer), resolve(value));
    });
    socket.send(`get ${id}`);
    const value = await answered;
    if (value !== undefined) return value;
  }
  return undefined;
}

const got: number[] = [];
for (let id = 1; id <= count; id++) {
  const value = await get(id);
  if (value === undefined) console.log(`get ${id}: no answer after ${maxAttempts} attempts`);
  else got.push(value);
}
await new Promise((resolve) => setTimeout(resolve, timeoutMs)); // late duplicates still arriving are counted too
const increasing = got.every((value, i) => i === 0 || value > got[i - 1]!);
console.log(`${got.length} of ${count} gets answered, each value once: ${new Set(got).size === got.length}, increasing: ${increasing}`);
console.log(`retries sent: ${retries > 0 ? 'some' : 'none'}; duplicate or late replies dropped: ${duplicates > 0 ? 'some' : 'none'}`);
socket.close();
