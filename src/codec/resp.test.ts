import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkings } from '../../test/helpers/feed.js';
import { RespDecoder, RespError, encodeRespCommand, type RespValue } from './resp.js';

const vectors: { name: string; input: string; values: RespValue[]; types: string }[] = [
  { name: 'simple string', input: '+PONG\r\n', values: ['PONG'], types: '+' },
  { name: 'error', input: '-ERR unknown command\r\n', values: [new RespError('ERR unknown command')], types: '-' },
  { name: 'integer', input: ':-42\r\n', values: [-42], types: ':' },
  { name: 'bulk string with CRLF inside', input: '$4\r\na\r\nb\r\n', values: [Buffer.from('a\r\nb')], types: '$' },
  { name: 'null bulk and null array', input: '$-1\r\n*-1\r\n', values: [null, null], types: '$*' },
  { name: 'empty bulk', input: '$0\r\n\r\n', values: [Buffer.alloc(0)], types: '$' },
  { name: 'nested array', input: '*2\r\n*1\r\n:1\r\n$1\r\nx\r\n', values: [[[1], Buffer.from('x')]], types: '*' },
  { name: 'pipelined replies', input: '+OK\r\n:1\r\n-WRONGTYPE x\r\n', values: ['OK', 1, new RespError('WRONGTYPE x')], types: '+:-' },
  { name: 'RESP3 scalars', input: '_\r\n#t\r\n,1.5\r\n(12345678901234567890\r\n', values: [null, true, 1.5, 12345678901234567890n], types: '_#,(' },
  { name: 'RESP3 map', input: '%1\r\n+a\r\n:1\r\n', values: [new Map<RespValue, RespValue>([['a', 1]])], types: '%' },
  { name: 'RESP3 blob error and verbatim', input: '!3\r\nERR\r\n=7\r\ntxt:abc\r\n', values: [new RespError('ERR'), 'abc'], types: '!=' },
];

describe('RespDecoder', () => {
  for (const vector of vectors) {
    it(`decodes ${vector.name} whole, byte by byte and split at every offset`, () => {
      for (const { name, chunks } of chunkings(Buffer.from(vector.input, 'latin1'))) {
        const decoder = new RespDecoder();
        const frames = chunks.flatMap((chunk) => decoder.push(chunk));
        assert.deepEqual(frames.map((f) => f.value), vector.values, name);
        assert.equal(frames.map((f) => f.type).join(''), vector.types, name);
        assert.equal(Buffer.concat(frames.map((f) => f.bytes)).toString('latin1'), vector.input, `${name}: bytes`);
        assert.equal(decoder.pendingBytes, 0, name);
      }
    });
  }

  it('holds a reply that has not fully arrived', () => {
    const decoder = new RespDecoder();
    assert.deepEqual(decoder.push(Buffer.from('$5\r\nhel')), []);
    assert.equal(decoder.pendingBytes, 7);
    assert.deepEqual(decoder.push(Buffer.from('lo\r\n')).map((f) => f.value), [Buffer.from('hello')]);
  });

  it('rejects a bulk string longer than maxFrameBytes as soon as its header arrives', () => {
    assert.throws(() => new RespDecoder({ maxFrameBytes: 10 }).push(Buffer.from('$100\r\n')), { code: 'SL_ERR_FRAME_TOO_LARGE' });
  });

  it('rejects bytes that are not RESP with SL_ERR_PROTOCOL', () => {
    assert.throws(() => new RespDecoder().push(Buffer.from('HTTP/1.1 200 OK\r\n')), { code: 'SL_ERR_PROTOCOL' });
    assert.throws(() => new RespDecoder().push(Buffer.from('+OK\n')), { code: 'SL_ERR_PROTOCOL' });
    assert.throws(() => new RespDecoder().push(Buffer.from(':12a\r\n')), { code: 'SL_ERR_PROTOCOL' });
  });

  it('rejects nesting deeper than maxDepth', () => {
    assert.throws(() => new RespDecoder({ maxDepth: 3 }).push(Buffer.from('*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n')), { code: 'SL_ERR_PROTOCOL' });
  });

  it('encodes a command as an array of bulk strings, which it decodes back', () => {
    const bytes = encodeRespCommand(['SET', 'key', 'välue']);
    assert.equal(bytes.toString(), '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$6\r\nvälue\r\n');
    assert.deepEqual(new RespDecoder().push(bytes)[0]!.value, [Buffer.from('SET'), Buffer.from('key'), Buffer.from('välue')]);
  });
});
