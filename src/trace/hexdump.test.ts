import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatHexDump, formatHexLines } from './hexdump.js';

describe('formatHexLines', () => {
  it('lays out a full line as offset, 8 + 8 hex bytes and the ASCII column, byte for byte', () => {
    const bytes = Buffer.from('Hello, socklab!\n');
    assert.deepEqual(formatHexLines(bytes), ['00000000  48 65 6c 6c 6f 2c 20 73  6f 63 6b 6c 61 62 21 0a  |Hello, socklab!.|']);
  });

  it('pads a short last line so the ASCII column stays aligned, and continues the offset', () => {
    const bytes = Buffer.from([...Buffer.from('0123456789abcdef'), 0x00, 0x7f, 0x80, 0xff, 0x20, 0x7e]);
    assert.deepEqual(formatHexLines(bytes, 0x1f0), [
      '000001f0  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|',
      '00000200  00 7f 80 ff 20 7e                                 |.... ~|',
    ]);
  });

  it('gives every line the same width whatever the length, and nothing for no bytes', () => {
    assert.deepEqual(formatHexLines(Buffer.alloc(0)), []);
    for (let length = 1; length <= 16; length++) {
      const [line] = formatHexLines(Buffer.alloc(length, 0x41));
      assert.equal(line!.indexOf('|'), 60, `length ${length}`);
      assert.equal(line!.length, 62 + length);
    }
  });

  it('shows every byte value in hex and only printable ASCII as itself', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const lines = formatHexLines(all);
    assert.equal(lines.length, 16);
    lines.forEach((line, row) => {
      const hex = line.slice(10, 58).replace(/\s+/g, '');
      assert.equal(hex, all.subarray(row * 16, row * 16 + 16).toString('hex'));
      const ascii = line.slice(61, -1);
      assert.equal(ascii.length, 16);
      for (let i = 0; i < 16; i++) {
        const byte = row * 16 + i;
        assert.equal(ascii[i], byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.');
      }
    });
  });
});

describe('formatHexLines past the first 4 GiB of a stream', () => {
  it('prints the offset in as many hex digits as it takes, as hexdump -C does, and keeps the columns', () => {
    const [line] = formatHexLines(Buffer.from('ab'), 0x1_0000_0010);
    assert.equal(line, '100000010  61 62                                             |ab|');
    assert.deepEqual(formatHexLines(Buffer.from('ab'), 0xffff_fff0), ['fffffff0  61 62                                             |ab|']);
  });

  it('matches the dump built line by line from hex strings, for any bytes and offset', () => {
    // A second, independent way to lay out the same format (slow and obvious), checked on random input.
    const slowDump = (bytes: Buffer, offset: number): string[] => {
      const lines: string[] = [];
      for (let start = 0; start < bytes.length; start += 16) {
        const row = [...bytes.subarray(start, start + 16)];
        const hex = row.map((byte) => byte.toString(16).padStart(2, '0'));
        const left = hex.slice(0, 8).join(' ').padEnd(23);
        const right = hex.slice(8).join(' ').padEnd(23);
        const ascii = row.map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
        lines.push(`${(offset + start).toString(16).padStart(8, '0')}  ${left}  ${right}  |${ascii}|`);
      }
      return lines;
    };
    let seed = 12345;
    const random = (limit: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % limit);
    for (let round = 0; round < 500; round++) {
      const bytes = Buffer.from(Array.from({ length: random(50) }, () => random(256)));
      const offset = round % 5 === 0 ? 2 ** 32 - 8 + random(64) : random(1 << 20);
      assert.deepEqual(formatHexLines(bytes, offset), slowDump(bytes, offset), `offset ${offset}, bytes ${bytes.toString('hex')}`);
    }
  });
});

describe('formatHexDump', () => {
  it('heads the dump with direction, peer, offset and length', () => {
    assert.equal(
      formatHexDump(Buffer.from('ok'), { direction: 'out', peer: '[::1]:40000', offset: 32 }),
      '> [::1]:40000 offset 32, 2 bytes\n00000020  6f 6b                                             |ok|\n',
    );
    assert.match(formatHexDump(Buffer.from('x'), { direction: 'in', peer: 'p', offset: 0 }), /^< p offset 0, 1 byte\n/);
  });
});
