/** Which way bytes went: `in` from the peer to us, `out` from us to the peer. */
export type Direction = 'in' | 'out';

const BYTES_PER_LINE = 16;

// Lookup tables: a dump is built per byte, so no per-byte toString/padStart in the loop.
const HEX = Array.from({ length: 256 }, (_, byte) => `${byte.toString(16).padStart(2, '0')} `);
const ASCII = Array.from({ length: 256 }, (_, byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.'));

/**
 * A hex dump in the classic `hexdump -C` layout: an 8-digit hex offset, 16 bytes in hex (a gap after the 8th),
 * then the same bytes as ASCII between bars. `offset` is where `bytes` start in the stream, so successive
 * chunks of one connection carry on counting. Pure: no I/O, no state.
 *
 * @example formatHexLines(Buffer.from('hi\n'), 0) // ['00000000  68 69 0a                                          |hi.|']
 */
export function formatHexLines(bytes: Uint8Array, offset = 0): string[] {
  const lines: string[] = [];
  for (let start = 0; start < bytes.length; start += BYTES_PER_LINE) {
    const row = bytes.subarray(start, Math.min(bytes.length, start + BYTES_PER_LINE));
    let hex = '';
    let ascii = '';
    for (let i = 0; i < BYTES_PER_LINE; i++) {
      if (i === 8) hex += ' ';
      if (i < row.length) {
        hex += HEX[row[i]!];
        ascii += ASCII[row[i]!];
      } else {
        hex += '   ';
      }
    }
    lines.push(`${(offset + start).toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  return lines;
}

/**
 * A chunk's dump with a header naming the direction and the peer: `<` received from, `>` sent to (as in
 * socat -x), the stream offset and the length.
 *
 * @example formatHexDump(Buffer.from('hi'), { direction: 'in', peer: '127.0.0.1:40000', offset: 0 })
 * // '< 127.0.0.1:40000 offset 0, 2 bytes\n00000000  68 69 …  |hi|\n'
 */
export function formatHexDump(bytes: Uint8Array, context: { direction: Direction; peer: string; offset: number }): string {
  const arrow = context.direction === 'in' ? '<' : '>';
  const header = `${arrow} ${context.peer} offset ${context.offset}, ${bytes.length} byte${bytes.length === 1 ? '' : 's'}`;
  return [header, ...formatHexLines(bytes, context.offset)].join('\n') + '\n';
}
