// Step 20: HTTP/1.1 by hand over the library's connectTcp: two requests on one kept-alive connection.
// Run: node dist/workshop/steps/20-http-client.js port [path]
import { connectTcp } from '../../src/index.js';

const port = Number(process.argv[2] ?? 8000);
const path = process.argv[3] ?? '/hello.txt';

// framing 'raw': each read is handed over as it came. HTTP has its own framing, so we do it ourselves.
const conn = await connectTcp({ host: '127.0.0.1', port, framing: 'raw' });
const reads = conn.messages({ throwOnError: true });
let buffered = Buffer.alloc(0);

/** Reads until `buffered` holds at least `bytes` bytes, or the server's FIN ends the stream first. */
async function fill(bytes: number): Promise<boolean> {
  while (buffered.length < bytes) {
    const next = await reads.next();
    if (next.done) return false;
    buffered = Buffer.concat([buffered, next.value]);
  }
  return true;
}

/** One response: the head up to the blank line, then exactly Content-Length bytes of body. */
async function response(): Promise<void> {
  let end = -1;
  while ((end = buffered.indexOf('\r\n\r\n')) < 0) if (!(await fill(buffered.length + 1))) throw new Error('closed in the head');
  const [status, ...lines] = buffered.subarray(0, end).toString('latin1').split('\r\n');
  buffered = buffered.subarray(end + 4);
  console.log(`status line: ${status}`);
  const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  console.log(`headers: ${[...headers.keys()].join(', ')}`);
  // A body is framed by Content-Length, or by chunks (exercise 2), or, in HTTP/1.0, by the server's FIN.
  if (headers.get('transfer-encoding')?.includes('chunked')) throw new Error('chunked body: see exercise 2');
  const length = Number(headers.get('content-length') ?? 0);
  if (!(await fill(length))) throw new Error(`closed after ${buffered.length} of ${length} body bytes`);
  console.log(`body (${length} bytes): ${JSON.stringify(buffered.subarray(0, length).toString('utf8'))}`);
  buffered = buffered.subarray(length);
}

const request = (extra: string): string => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;
conn.send(request('')); // HTTP/1.1 keeps the connection open by default (keep-alive)...
await response();
conn.send(request('Connection: close\r\n')); // ...so the same connection carries a second request
await response();
// After "Connection: close" the server sends FIN once the response is out: the stream ends here.
console.log(`after the second response the server closed: ${!(await fill(1))}`);
await conn.close();
