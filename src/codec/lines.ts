import { FrameTooLargeError } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';

const LF = 0x0a;
const CR = 0x0d;

/** Options of {@link LineDecoder}. */
export interface LineDecoderOptions {
  /** Longest line accepted, terminator excluded. @default DEFAULTS.maxMessageBytes */
  maxLineBytes?: number;
}

/**
 * Splits a byte stream into lines. A line ends at LF; a CR right before the LF is dropped too,
 * so LF (ncat, Unix) and CRLF (telnet, RFC 5198 network text) peers look the same.
 * Bytes after the last LF are held until more arrive, and at most `maxLineBytes` are ever held.
 *
 * @example
 * const decoder = new LineDecoder();
 * decoder.push(Buffer.from('hel'));          // []
 * decoder.push(Buffer.from('lo\r\nwor'));    // [<Buffer 'hello'>]
 * decoder.flush();                           // <Buffer 'wor'> (the unterminated tail, e.g. at EOF)
 */
export class LineDecoder {
  readonly maxLineBytes: number;
  /** Pieces of an unfinished line; made when one is first held (most reads end on a line ending). */
  #held: Buffer[] | undefined = undefined;
  #heldBytes = 0;
  #sawNewline = false;

  constructor(options: LineDecoderOptions = {}) {
    this.maxLineBytes = checkCount('maxLineBytes', options.maxLineBytes ?? DEFAULTS.maxMessageBytes, 1, true);
  }

  /** Bytes held that do not yet form a whole line. */
  get pendingBytes(): number {
    return this.#heldBytes;
  }

  /** True once any LF has been seen: the peer speaks in lines. */
  get sawNewline(): boolean {
    return this.#sawNewline;
  }

  /**
   * Feeds bytes; returns the lines they complete, without terminators.
   * @throws {FrameTooLargeError} when a line grows past `maxLineBytes`; the decoder must then be discarded.
   */
  push(chunk: Uint8Array): Buffer[] {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Made with its first line: `[]` then push() gives the array a 17-slot store (~150 bytes of garbage per read).
    let lines: Buffer[] | undefined;
    let start = 0;
    let newline = bytes.indexOf(LF);
    while (newline !== -1) {
      this.#sawNewline = true;
      let line: Buffer;
      if (this.#heldBytes > 0) {
        this.#held!.push(bytes.subarray(start, newline));
        line = Buffer.concat(this.#held!, this.#heldBytes + newline - start);
        this.#held = undefined;
        this.#heldBytes = 0;
      } else {
        line = bytes.subarray(start, newline);
      }
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      if (line.length > this.maxLineBytes) throw new FrameTooLargeError(line.length, this.maxLineBytes, lines ?? []);
      if (lines === undefined) lines = [line];
      else lines.push(line);
      start = newline + 1;
      // The usual read ends on its LF: no second search.
      newline = start < bytes.length ? bytes.indexOf(LF, start) : -1;
    }
    if (start < bytes.length) {
      const rest = bytes.length - start;
      // +1 leaves room for the CR of a CRLF that is split from its LF.
      if (this.#heldBytes + rest > this.maxLineBytes + 1) {
        throw new FrameTooLargeError(this.#heldBytes + rest, this.maxLineBytes, lines ?? []);
      }
      (this.#held ??= []).push(bytes.subarray(start));
      this.#heldBytes += rest;
    }
    return lines ?? [];
  }

  /** Returns and forgets the unterminated tail (a trailing CR dropped), or undefined when nothing is held. */
  flush(): Buffer | undefined {
    if (this.#heldBytes === 0) return undefined;
    let tail = Buffer.concat(this.#held!, this.#heldBytes);
    this.#held = undefined;
    this.#heldBytes = 0;
    if (tail[tail.length - 1] === CR) tail = tail.subarray(0, tail.length - 1);
    if (tail.length > this.maxLineBytes) throw new FrameTooLargeError(tail.length, this.maxLineBytes);
    return tail;
  }
}

/** Line terminators a sender can choose. */
export type LineEnding = 'lf' | 'crlf' | 'none';

/** The bytes of a line ending. */
export function lineEndingBytes(ending: LineEnding): string {
  return ending === 'lf' ? '\n' : ending === 'crlf' ? '\r\n' : '';
}

/**
 * Appends a line ending to a message.
 * @example encodeLine('hello', 'crlf') // <Buffer 68 65 6c 6c 6f 0d 0a>
 */
export function encodeLine(message: string | Uint8Array, ending: LineEnding = 'lf'): Buffer {
  const terminator = lineEndingBytes(ending);
  if (typeof message === 'string') return Buffer.from(message + terminator);
  return Buffer.concat([message, Buffer.from(terminator)]);
}
