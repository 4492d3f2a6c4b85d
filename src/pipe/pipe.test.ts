import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CrlfEncoder } from './crlf.js';
import { parseDuration } from './duration.js';
import { formatNcatHexDump } from './ncat-hexdump.js';

test('parseDuration takes ncat units and reads a bare number as seconds', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('1m'), 60_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('3'), 3000);
  assert.equal(parseDuration('0.5'), 500);
  for (const bad of ['', 'ms', '-1', '2x', '1.2.3']) assert.throws(() => parseDuration(bad), RangeError, bad);
});

test('CrlfEncoder turns lone LFs into CRLF across chunk boundaries, as ncat -C does', () => {
  // ncat-test.pl's "-C translation on input" vector, fed in its chunks.
  const chunks = ['\na\nb\n', '---', '\r\nc\r\nd\r\n', '---', 'e\n\nf\n', '---\r', '\n'];
  const expected = '\r\na\r\nb\r\n---\r\nc\r\nd\r\n---e\r\n\r\nf\r\n---\r\n';
  const whole = new CrlfEncoder();
  assert.equal(chunks.map((c) => whole.encode(Buffer.from(c)).toString('latin1')).join(''), expected);
  const input = chunks.join('');
  for (let at = 0; at <= input.length; at++) {
    const split = new CrlfEncoder();
    const out = split.encode(Buffer.from(input.slice(0, at))).toString('latin1') + split.encode(Buffer.from(input.slice(at))).toString('latin1');
    assert.equal(out, expected, `split at ${at}`);
  }
  const bytewise = new CrlfEncoder();
  assert.equal([...input].map((c) => bytewise.encode(Buffer.from(c)).toString('latin1')).join(''), expected);
});

test('formatNcatHexDump lays out lines as ncat -x writes them (73 columns, offsets per chunk)', () => {
  const dump = formatNcatHexDump(Buffer.from('abc\n\x00\x01hello world 1234567890\n', 'latin1'));
  assert.equal(
    dump,
    '0000   61 62 63 0a 00 01 68 65  6c 6c 6f 20 77 6f 72 6c  abc...hello.worl\n' +
      '0010   64 20 31 32 33 34 35 36  37 38 39 30 0a           d.1234567890.   \n',
  );
  assert.equal(formatNcatHexDump(Buffer.alloc(0)), '');
});
