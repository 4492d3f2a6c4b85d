// Generated inputs (fast-check), checked against small models of what must come out. Every run prints its
// seed; SOCKLAB_FUZZ_SEED=<seed> npm test replays it exactly (fast-check also prints the shrunk failing case).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { connect } from 'node:net';
import { once } from 'node:events';
import { encodeLengthPrefixed, FrameTooLargeError, LengthPrefixDecoder, LineDecoder, startMessageServer } from '../../src/index.js';
import { tally } from '../helpers/tally.js';

const SEED = Number(process.env['SOCKLAB_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
const MAX = 64;

/** Cuts `bytes` at the given offsets (sorted, deduplicated, in range): how TCP might deliver them. */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((offset) => offset % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return chunks;
}

/** A line's content: any bytes but LF (made 'x'), NUL, CR and bytes ≥ 0x80 included. */
const lineContent = (maxLength: number, minLength = 0) =>
  fc.uint8Array({ minLength, maxLength }).map((bytes) => Buffer.from(bytes.map((byte) => (byte === 0x0a ? 0x78 : byte))));
const ending = fc.constantFrom('\n', '\r\n');
const offsets = fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 12 });

/** What a LineDecoder must return for one line: the content, minus one CR right before the LF. */
function decodedLine(content: Buffer, end: string): Buffer {
  return end === '\n' && content.at(-1) === 0x0d ? content.subarray(0, -1) : content;
}

describe('fuzz (fast-check)', () => {
  it(`LineDecoder: any lines, any cuts, equal the model; too-long lines always fail, memory bounded (seed ${SEED})`, (t) => {
    t.diagnostic(`seed ${SEED}`);
    let runs = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(lineContent(MAX + 20), ending), { maxLength: 12 }), offsets, (lines, cuts) => {
        runs++;
        const wire = Buffer.concat(lines.map(([content, end]) => Buffer.concat([content, Buffer.from(end)])));
        const expected = lines.map(([content, end]) => decodedLine(content, end));
        const firstTooLong = expected.findIndex((line) => line.length > MAX);
        const decoder = new LineDecoder({ maxLineBytes: MAX });
        const got: Buffer[] = [];
        let threw = false;
        try {
          for (const chunk of cut(wire, cuts)) {
            got.push(...decoder.push(chunk));
            assert.ok(decoder.pendingBytes <= MAX + 1, `holds ${decoder.pendingBytes} bytes`);
          }
        } catch (err) {
          assert.ok(err instanceof FrameTooLargeError, String(err));
          threw = true;
        }
        if (firstTooLong === -1) {
          assert.equal(threw, false);
          assert.deepEqual(got, expected);
        } else {
          assert.equal(threw, true, 'a line over the limit is always refused');
          assert.deepEqual(got, expected.slice(0, got.length), 'what came out before is a prefix of the truth');
          assert.ok(got.length <= firstTooLong);
        }
      }),
      { seed: SEED, numRuns: 7000 },
    );
    tally({ inputs: runs });
  });

  it(`LengthPrefixDecoder: any payloads, any cuts, equal the model (seed ${SEED})`, (t) => {
    t.diagnostic(`seed ${SEED}`);
    let runs = 0;
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: MAX + 20 }), { maxLength: 10 }), offsets, (payloads, cuts) => {
        runs++;
        const wire = Buffer.concat(payloads.map((payload) => encodeLengthPrefixed(payload)));
        const decoder = new LengthPrefixDecoder({ maxPayloadBytes: MAX });
        const got: Buffer[] = [];
        let threw = false;
        try {
          for (const chunk of cut(wire, cuts)) got.push(...decoder.push(chunk));
        } catch (err) {
          assert.ok(err instanceof FrameTooLargeError);
          threw = true;
        }
        const firstTooLong = payloads.findIndex((payload) => payload.length > MAX);
        const expected = payloads.map((payload) => Buffer.from(payload));
        if (firstTooLong === -1) {
          assert.equal(threw, false);
          assert.deepEqual(got, expected);
          assert.equal(decoder.pendingBytes, 0);
        } else {
          assert.equal(threw, true);
          assert.deepEqual(got, expected.slice(0, got.length));
          assert.ok(got.length <= firstTooLong);
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
    tally({ inputs: runs });
  });

  it(`random sessions against a real server match the protocol model (seed ${SEED})`, async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const server = await startMessageServer({ port: 0, framing: 'line', greeting: 'hi', reply: 'ok {message}', logMessages: false, maxMessageBytes: MAX });
    t.after(() => server.tcp.destroy());
    const port = server.address().port;
    const step = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(lineContent(MAX), ending) },
      { weight: 1, arbitrary: fc.tuple(fc.constant(Buffer.from('quit')), ending) },
      { weight: 1, arbitrary: fc.tuple(lineContent(3 * MAX, MAX + 2), ending) },
    );
    let sessions = 0;
    let acks = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 10 }), offsets, async (lines, cuts) => {
        sessions++;
        // The model: greeting, then "ok <message>" per line, until quit (answered, then closed) or a line over
        // the limit (an error line, then closed). Input that just ends is answered in full, then closed.
        const expected: string[] = ['hi'];
        let closesWithError = false;
        for (const [content, end] of lines) {
          const message = decodedLine(content, end);
          if (message.length > MAX) {
            closesWithError = true;
            break;
          }
          expected.push(`ok ${message.toString('utf8')}`);
          if (message.equals(Buffer.from('quit'))) break;
        }
        const socket = connect({ host: '127.0.0.1', port });
        socket.on('error', () => {}); // we may still be writing after the server closed
        const received: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        await once(socket, 'connect');
        const wire = Buffer.concat(lines.map(([content, end]) => Buffer.concat([content, Buffer.from(end)])));
        for (const chunk of cut(wire, cuts)) socket.write(chunk);
        socket.end();
        await once(socket, 'close');
        const replies = Buffer.concat(received).toString('utf8').split('\n');
        assert.equal(replies.pop(), '', 'every reply ends with a newline');
        if (closesWithError) assert.match(replies.pop() ?? '', /^error SL_ERR_FRAME_TOO_LARGE: /);
        // Every line before the oversized one is answered, even when both came in the same read.
        assert.deepEqual(replies, expected);
        acks += expected.length - 1;
      }),
      { seed: SEED, numRuns: 500 },
    );
    tally({ inputs: sessions, fault: 'random sessions (model-checked)', acksChecked: acks });
  });
});
