import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkings, decodeAll } from '../../test/helpers/feed.js';
import { LengthPrefixDecoder, encodeLengthPrefixed } from './length-prefix.js';

describe('LengthPrefixDecoder', () => {
  const payloads = ['hello', '', 'with\nnewline\0and nul', 'x'.repeat(300)];
  const stream = Buffer.concat(payloads.map((payload) => encodeLengthPrefixed(payload)));

  it('decodes a stream of frames whole, byte by byte and split at every offset', () => {
    for (const { name, chunks } of chunkings(stream)) {
      assert.deepEqual(decodeAll(() => new LengthPrefixDecoder(), chunks), payloads, name);
    }
  });

  it('encodes the length as 4 bytes big-endian', () => {
    assert.deepEqual([...encodeLengthPrefixed('hi')], [0, 0, 0, 2, 0x68, 0x69]);
    assert.deepEqual([...encodeLengthPrefixed(Buffer.alloc(258)).subarray(0, 4)], [0, 0, 1, 2]);
  });

  it('rejects a header announcing more than maxPayloadBytes before the payload arrives', () => {
    const decoder = new LengthPrefixDecoder({ maxPayloadBytes: 10 });
    assert.throws(() => decoder.push(Buffer.from([0, 0, 0, 11])), { code: 'SL_ERR_FRAME_TOO_LARGE' });
    assert.throws(() => new LengthPrefixDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0xff])), { code: 'SL_ERR_FRAME_TOO_LARGE' });
  });

  it('holds an incomplete frame without returning it', () => {
    const decoder = new LengthPrefixDecoder();
    assert.deepEqual(decoder.push(encodeLengthPrefixed('hello').subarray(0, 6)), []);
    assert.equal(decoder.pendingBytes, 6);
  });
});
