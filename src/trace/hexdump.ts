/** Which way bytes went: `in` from the peer to us, `out` from us to the peer. */
export type Direction = 'in' | 'out';

const BYTES_PER_LINE = 16;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Where each part of a line starts: `00000000  68 69 …  |hi|` (8 offset digits, 2 spaces, 16 × 3 + 1 hex, ` |`). */
const HEX_AT = 10;
const BAR_AT = 60;
const ASCII_AT = 61;
/**
 * One line is laid out in this scratch buffer and read back as one string: a dump is built per byte, and
 * concatenating short strings per byte (or slicing a view per row) costs an allocation each.
 */
const scratch = Buffer.alloc(ASCII_AT + BYTES_PER_LINE + 1);

/** The dump line of `bytes[start, end)` (at most 16), whose first byte is at `offset` in the stream. */
function formatHexLine(bytes: Uint8Array, start: number, end: number, offset: number): string {
  scratch.fill(0x20, 0, BAR_AT);
  if (offset <= 0xffffffff) {
    for (let digit = 7, value = offset; digit >= 0; digit--, value >>>= 4) scratch[digit] = HEX_DIGITS[value & 15]!;
  }
  for (let i = 0; i < end - start; i++) {
    const byte = bytes[start + i]!;
    const at = HEX_AT + i * 3 + (i >= 8 ? 1 : 0);
    scratch[at] = HEX_DIGITS[byte >>> 4]!;
    scratch[at + 1] = HEX_DIGITS[byte & 15]!;
    scratch[ASCII_AT + i] = byte >= 0x20 && byte < 0x7f ? byte : 0x2e; // '.'
  }
  scratch[BAR_AT] = 0x7c; // '|'
  scratch[ASCII_AT + end - start] = 0x7c;
  const line = scratch.toString('latin1', 0, ASCII_AT + end - start + 1);
  // Past 4 GiB the offset takes more than 8 digits, as hexdump -C prints it.
  return offset <= 0xffffffff ? line : offset.toString(16) + line.slice(8);
}

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
    lines.push(formatHexLine(bytes, start, Math.min(bytes.length, start + BYTES_PER_LINE), offset + start));
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
  let dump = header + '\n';
  for (let start = 0; start < bytes.length; start += BYTES_PER_LINE) {
    dump += formatHexLine(bytes, start, Math.min(bytes.length, start + BYTES_PER_LINE), context.offset + start) + '\n';
  }
  return dump;
}
