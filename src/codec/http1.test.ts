import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkings } from '../../test/helpers/feed.js';
import { HttpResponseDecoder } from './http1.js';

const vectors: { name: string; input: string; responses: { status: number; body: string; interim?: boolean; closes?: boolean }[]; atEnd?: boolean }[] = [
  { name: 'Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', responses: [{ status: 200, body: 'hello' }] },
  {
    name: 'two pipelined keep-alive responses',
    input: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno',
    responses: [{ status: 200, body: 'a' }, { status: 404, body: 'no' }],
  },
  {
    name: 'chunked with extension and trailer',
    input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n',
    responses: [{ status: 200, body: 'abcde' }],
  },
  { name: 'chunked wins over Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n', responses: [{ status: 200, body: 'z' }] },
  { name: '100 Continue then the response', input: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n', responses: [{ status: 100, body: '', interim: true }, { status: 204, body: '' }] },
  { name: '304 ignores Content-Length', input: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', responses: [{ status: 304, body: '' }] },
  { name: 'HTTP/1.0 without length reads until close', input: 'HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it', responses: [{ status: 200, body: 'all of it', closes: true }], atEnd: true },
  { name: 'bare LF line ends', input: 'HTTP/1.1 200 OK\nContent-Length: 2\nConnection: close\n\nok', responses: [{ status: 200, body: 'ok', closes: true }] },
];

describe('HttpResponseDecoder', () => {
  for (const vector of vectors) {
    it(`decodes ${vector.name} whole, byte by byte and split at every offset`, () => {
      for (const { name, chunks } of chunkings(Buffer.from(vector.input, 'latin1'))) {
        const decoder = new HttpResponseDecoder();
        const responses = chunks.flatMap((chunk) => decoder.push(chunk));
        if (vector.atEnd) responses.push(...decoder.end());
        assert.deepEqual(
          responses.map((r) => ({ status: r.status, body: r.body.toString('latin1'), ...(r.interim ? { interim: true } : {}), ...(r.closes ? { closes: true } : {}) })),
          vector.responses,
          name,
        );
        assert.equal(Buffer.concat(responses.map((r) => r.bytes)).toString('latin1'), vector.input, `${name}: bytes`);
        assert.equal(decoder.pendingBytes, 0, name);
      }
    });
  }

  it('gives a HEAD response no body whatever its Content-Length says', () => {
    const decoder = new HttpResponseDecoder();
    decoder.expectNoBody();
    const responses = decoder.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc'));
    assert.deepEqual(responses.map((r) => r.body.toString()), ['', 'abc']);
  });

  it('says a response cut short by the close is one, with SL_ERR_PROTOCOL', () => {
    const decoder = new HttpResponseDecoder();
    decoder.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    assert.throws(() => decoder.end(), { code: 'SL_ERR_PROTOCOL' });
  });

  it('rejects what is not HTTP, and heads and bodies past their limits', () => {
    assert.throws(() => new HttpResponseDecoder().push(Buffer.from('+PONG\r\n\r\n')), { code: 'SL_ERR_PROTOCOL' });
    assert.throws(() => new HttpResponseDecoder({ maxHeadBytes: 20 }).push(Buffer.from('HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaa')), { code: 'SL_ERR_FRAME_TOO_LARGE' });
    assert.throws(() => new HttpResponseDecoder({ maxBodyBytes: 4 }).push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n')), { code: 'SL_ERR_FRAME_TOO_LARGE' });
    assert.throws(() => new HttpResponseDecoder({ maxBodyBytes: 4 }).push(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n')), { code: 'SL_ERR_FRAME_TOO_LARGE' });
  });
});
