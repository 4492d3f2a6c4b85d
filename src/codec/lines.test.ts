import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkings, decodeAll } from '../../test/helpers/feed.js';
import { LineDecoder, encodeLine } from './lines.js';

const vectors: { input: string; lines: string[]; tail?: string }[] = [
  { input: 'hello\n', lines: ['hello'] },
  { input: 'hello\r\n', lines: ['hello'] },
  { input: 'a\nb\r\nc\n', lines: ['a', 'b', 'c'] },
  { input: '\n\r\n\n', lines: ['', '', ''] },
  { input: 'no newline', lines: [], tail: 'no newline' },
  { input: 'one\ntwo', lines: ['one'], tail: 'two' },
  { input: 'cr\rinside\n', lines: ['cr\rinside'] },
  { input: 'trailing cr\r', lines: [], tail: 'trailing cr' },
  { input: 'nul\0byte\n\xff\xfe\n', lines: ['nul\0byte', '\xff\xfe'] },
];

describe('LineDecoder', () => {
  for (const vector of vectors) {
    it(`decodes ${JSON.stringify(vector.input)} whole, byte by byte and split at every offset`, () => {
      for (const { name, chunks } of chunkings(Buffer.from(vector.input, 'latin1'))) {
        const decoder = new LineDecoder();
        const lines = chunks.flatMap((chunk) => decoder.push(chunk).map((line) => line.toString('latin1')));
        assert.deepEqual(lines, vector.lines, name);
        assert.equal(decoder.flush()?.toString('latin1'), vector.tail, `${name}: tail`);
      }
    });
  }

  it('decodes 1,000 lines arriving in one chunk', () => {
    const input = Buffer.from(Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join(''));
    const lines = decodeAll(() => new LineDecoder(), [input]);
    assert.equal(lines.length, 1000);
    assert.equal(lines[999], 'line 999');
  });

  it('rejects a line longer than maxLineBytes with SL_ERR_FRAME_TOO_LARGE, whether or not its newline came', () => {
    assert.throws(() => new LineDecoder({ maxLineBytes: 4 }).push(Buffer.from('12345\n')), { code: 'SL_ERR_FRAME_TOO_LARGE' });
    assert.throws(() => new LineDecoder({ maxLineBytes: 4 }).push(Buffer.from('123456')), { code: 'SL_ERR_FRAME_TOO_LARGE' });
    const decoder = new LineDecoder({ maxLineBytes: 4 });
    decoder.push(Buffer.from('123'));
    assert.throws(() => decoder.push(Buffer.from('456')), { code: 'SL_ERR_FRAME_TOO_LARGE' });
  });

  it('accepts a line of exactly maxLineBytes, even with CRLF split across chunks', () => {
    for (const { name, chunks } of chunkings(Buffer.from('1234\r\n'))) {
      assert.deepEqual(decodeAll(() => new LineDecoder({ maxLineBytes: 4 }), chunks), ['1234'], name);
    }
  });

  it('holds at most maxLineBytes + 1 bytes while waiting for a newline', () => {
    const decoder = new LineDecoder({ maxLineBytes: 1000 });
    for (let i = 0; i < 1000; i++) decoder.push(Buffer.from('x'));
    assert.equal(decoder.pendingBytes, 1000);
    decoder.push(Buffer.from('\r'));
    assert.throws(() => decoder.push(Buffer.from('x')), { code: 'SL_ERR_FRAME_TOO_LARGE' });
  });

  it('reports whether the peer has used newlines', () => {
    const decoder = new LineDecoder();
    decoder.push(Buffer.from('ack'));
    assert.equal(decoder.sawNewline, false);
    decoder.push(Buffer.from('\n'));
    assert.equal(decoder.sawNewline, true);
  });

  it('rejects a bad maxLineBytes before any use', () => {
    assert.throws(() => new LineDecoder({ maxLineBytes: 0 }), RangeError);
    assert.throws(() => new LineDecoder({ maxLineBytes: 1.5 }), RangeError);
  });
});

describe('encodeLine', () => {
  it('appends the chosen line ending', () => {
    assert.equal(encodeLine('hi').toString(), 'hi\n');
    assert.equal(encodeLine('hi', 'crlf').toString(), 'hi\r\n');
    assert.equal(encodeLine(Buffer.from('hi'), 'none').toString(), 'hi');
  });
});
