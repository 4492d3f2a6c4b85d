import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDecoder, encodeMessage } from './framing.js';

const text = (messages: Buffer[]): string[] => messages.map((message) => message.toString());

describe('auto framing', () => {
  it('treats each read as a message while the peer has sent no newline (the seed client.py)', () => {
    const decoder = createDecoder('auto', 100);
    assert.deepEqual(text(decoder.push(Buffer.from('ack'))), ['ack']);
    assert.deepEqual(text(decoder.push(Buffer.from('hello world'))), ['hello world']);
    assert.deepEqual(text(decoder.push(Buffer.from('quit'))), ['quit']);
  });

  it('switches to lines for good once the peer sends a newline (ncat, telnet)', () => {
    const decoder = createDecoder('auto', 100);
    assert.deepEqual(text(decoder.push(Buffer.from('a\nb\r\nc'))), ['a', 'b']);
    assert.deepEqual(text(decoder.push(Buffer.from('d'))), []);
    assert.deepEqual(text(decoder.push(Buffer.from('e\n'))), ['cde']);
  });

  it('delivers an unterminated last line at end of stream', () => {
    const decoder = createDecoder('auto', 100);
    decoder.push(Buffer.from('x\ny'));
    assert.deepEqual(text(decoder.end()), ['y']);
  });
});

describe('line, raw and length framing', () => {
  it('line framing holds a partial line until its newline', () => {
    const decoder = createDecoder('line', 100);
    assert.deepEqual(text(decoder.push(Buffer.from('ack'))), []);
    assert.deepEqual(text(decoder.push(Buffer.from('\n'))), ['ack']);
  });

  it('raw framing returns each read as it came, newlines and all', () => {
    assert.deepEqual(text(createDecoder('raw', 100).push(Buffer.from('a\nb'))), ['a\nb']);
  });

  it('length framing round-trips through encodeMessage', () => {
    const decoder = createDecoder('length', 100);
    assert.deepEqual(text(decoder.push(Buffer.concat([encodeMessage('length', 'a\nb', 'lf'), encodeMessage('length', '', 'lf')]))), ['a\nb', '']);
  });

  it('encodeMessage ends lines as asked and leaves raw messages alone', () => {
    assert.equal(encodeMessage('auto', 'x', 'crlf').toString(), 'x\r\n');
    assert.equal(encodeMessage('raw', 'x', 'crlf').toString(), 'x');
  });
});
