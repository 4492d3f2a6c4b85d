/** Which way bytes went: `in` from the peer to us, `out` from us to the peer. */
export type Direction = 'in' | 'out';

const BYTES_PER_LINE = 16;
/** Bytes shown on one dump line. */
export const HEX_LINE_BYTES = BYTES_PER_LINE;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Where each part of a line starts: `00000000  68 69 …  |hi|` (8 offset digits, 2 spaces, 16 × 3 + 1 hex, ` |`). */
const HEX_AT = 10;
const BAR_AT = 60;
const ASCII_AT = 61;
/**
 * One line is laid out in this scratch buffer and read back as one string: a dump is built per byte, and
 * concatenating short strings per byte (or slicing a view per row) costs an allocation each.
 */
const scratch = Buffer.alloc(96);

/**
 * Lays out the dump line of `bytes[start, end)` (at most 16), whose first byte is at `offset` in the stream, in
 * `out` from `at`; returns where the line ends. Past 4 GiB the offset takes more than 8 digits, as hexdump -C
 * prints it. `out` needs room for 96 bytes.
 */
export function formatHexLineInto(out: Buffer, at: number, bytes: Uint8Array, start: number, end: number, offset: number): number {
  let base = at;
  if (offset <= 0xffffffff) {
    for (let digit = 7, value = offset; digit >= 0; digit--, value >>>= 4) out[base + digit] = HEX_DIGITS[value & 15]!;
  } else {
    const digits = offset.toString(16);
    out.write(digits, at, 'latin1');
    base = at + digits.length - 8;
  }
  out.fill(0x20, base + 8, base + BAR_AT);
  for (let i = 0; i < end - start; i++) {
    const byte = bytes[start + i]!;
    const hexAt = base + HEX_AT + i * 3 + (i >= 8 ? 1 : 0);
    out[hexAt] = HEX_DIGITS[byte >>> 4]!;
    out[hexAt + 1] = HEX_DIGITS[byte & 15]!;
    out[base + ASCII_AT + i] = byte >= 0x20 && byte < 0x7f ? byte : 0x2e; // '.'
  }
  out[base + BAR_AT] = 0x7c; // '|'
  out[base + ASCII_AT + end - start] = 0x7c;
  return base + ASCII_AT + end - start + 1;
}

/** The dump line of `bytes[start, end)` as a string. */
function formatHexLine(bytes: Uint8Array, start: number, end: number, offset: number): string {
  return scratch.toString('latin1', 0, formatHexLineInto(scratch, 0, bytes, start, end, offset));
}

/** The first line of a chunk's dump: `< 127.0.0.1:40000 offset 0, 2 bytes` (without its newline). */
export function hexDumpHeader(length: number, direction: Direction, peer: string, offset: number): string {
  return `${direction === 'in' ? '<' : '>'} ${peer} offset ${offset}, ${length} byte${length === 1 ? '' : 's'}`;
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
  let dump = hexDumpHeader(bytes.length, context.direction, context.peer, context.offset) + '\n';
  for (let start = 0; start < bytes.length; start += BYTES_PER_LINE) {
    dump += formatHexLine(bytes, start, Math.min(bytes.length, start + BYTES_PER_LINE), context.offset + start) + '\n';
  }
  return dump;
}
