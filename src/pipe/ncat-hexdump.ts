/** Bytes per line, and where the hex and the ASCII columns start, in ncat's `-x` layout (Wireshark's, 73 columns). */
const BYTES_PER_LINE = 16;
const HEX_AT = 7;
const ASCII_AT = 57;
const LINE_CHARS = 73;

/** Printable in the C locale: letters, digits and punctuation; space and everything else shows as '.'. */
function shown(byte: number): number {
  return byte > 0x20 && byte < 0x7f ? byte : 0x2e;
}

/**
 * One chunk as `ncat -x` writes it to its hex log: each chunk is dumped on its own, its lines numbered from 0000
 * (4 hex digits, wrapping as ncat's do), 16 bytes in hex with a gap after the 8th, then the bytes as text.
 * Directions are not marked: ncat's log does not mark them either.
 *
 * @example formatNcatHexDump(Buffer.from('abc\n'))
 * // '0000   61 62 63 0a                                         abc.            \n'
 */
export function formatNcatHexDump(bytes: Uint8Array): string {
  const line = Buffer.alloc(LINE_CHARS + 1);
  let out = '';
  for (let start = 0, row = 0; start < bytes.length; start += BYTES_PER_LINE, row++) {
    line.fill(0x20);
    line.write(((row * BYTES_PER_LINE) % 0xffff).toString(16).padStart(4, '0'), 0, 'latin1');
    const end = Math.min(bytes.length, start + BYTES_PER_LINE);
    for (let i = start; i < end; i++) {
      const column = i - start;
      const at = HEX_AT + column * 3 + (column >= 8 ? 1 : 0);
      line.write(bytes[i]!.toString(16).padStart(2, '0'), at, 'latin1');
      line[ASCII_AT + column] = shown(bytes[i]!);
    }
    line[LINE_CHARS] = 0x0a;
    out += line.toString('latin1');
  }
  return out;
}
