// Solution to chapter 20, exercise 2: read a chunked body. Each chunk is "<size in hex>\r\n<bytes>\r\n"; a chunk
// of size 0 (then optional trailers and a blank line) ends the body.
// Run: python3 test/peers/http_keepalive.py, then node dist/workshop/solutions/20-http-chunked.js port /chunked
import { connectTcp } from '../../src/index.js';

const port = Number(process.argv[2] ?? 8000);
const path = process.argv[3] ?? '/chunked';

const conn = await connectTcp({ host: '127.0.0.1', port, framing: 'raw' });
const reads = conn.messages({ throwOnError: true });
let buffered = Buffer.alloc(0);

/** Returns the bytes up to `marker` (and drops the marker), reading more as needed. */
async function upTo(marker: string): Promise<Buffer> {
  let at: number;
  while ((at = buffered.indexOf(marker)) < 0) await more();
  const head = buffered.subarray(0, at);
  buffered = buffered.subarray(at + marker.length);
  return head;
}

async function more(): Promise<void> {
  const next = await reads.next();
  if (next.done) throw new Error('the server closed in the middle of a response');
  buffered = Buffer.concat([buffered, next.value]);
}

conn.send(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
const [status, ...headers] = (await upTo('\r\n\r\n')).toString('latin1').split('\r\n');
console.log(`status line: ${status}`);
if (!headers.some((line) => /^transfer-encoding:.*chunked/i.test(line))) throw new Error('not a chunked response');
const chunks: Buffer[] = [];
for (;;) {
  const size = parseInt((await upTo('\r\n')).toString('latin1').split(';')[0]!, 16); // ";ext" may follow the size
  if (Number.isNaN(size)) throw new Error('a chunk size that is not hex');
  if (size === 0) break;
  while (buffered.length < size + 2) await more();
  chunks.push(buffered.subarray(0, size));
  console.log(`chunk of ${size} bytes: ${JSON.stringify(buffered.subarray(0, size).toString('utf8'))}`);
  buffered = buffered.subarray(size + 2); // the chunk's own CRLF
}
while ((await upTo('\r\n')).length > 0); // trailers, up to the blank line
console.log(`body (${Buffer.concat(chunks).length} bytes in ${chunks.length} chunks): ${JSON.stringify(Buffer.concat(chunks).toString('utf8'))}`);
await conn.close();
