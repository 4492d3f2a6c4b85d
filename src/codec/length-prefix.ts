import { FrameTooLargeError } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';

const HEADER_BYTES = 4;

/** Options of {@link LengthPrefixDecoder}. */
export interface LengthPrefixDecoderOptions {
  /** Largest payload accepted. @default DEFAULTS.maxMessageBytes */
  maxPayloadBytes?: number;
}

/**
 * Splits a byte stream into frames of a 4-byte big-endian (network order) length followed by that many bytes.
 * Unlike lines, a payload may hold any byte, newlines included.
 *
 * @example
 * const decoder = new LengthPrefixDecoder();
 * decoder.push(encodeLengthPrefixed('hi')); // [<Buffer 68 69>]
 */
export class LengthPrefixDecoder {
  readonly maxPayloadBytes: number;
  #held: Buffer = Buffer.alloc(0);

  constructor(options: LengthPrefixDecoderOptions = {}) {
    this.maxPayloadBytes = checkCount('maxPayloadBytes', options.maxPayloadBytes ?? DEFAULTS.maxMessageBytes, 0, true);
  }

  /** Bytes held that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.#held.length;
  }

  /**
   * Feeds bytes; returns the payloads of the frames they complete.
   * @throws {FrameTooLargeError} as soon as a header announces more than `maxPayloadBytes`.
   */
  push(chunk: Uint8Array): Buffer[] {
    let bytes = this.#held.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.#held, chunk]);
    const frames: Buffer[] = [];
    while (bytes.length >= HEADER_BYTES) {
      const length = bytes.readUInt32BE(0);
      if (length > this.maxPayloadBytes) throw new FrameTooLargeError(length, this.maxPayloadBytes, frames);
      if (bytes.length < HEADER_BYTES + length) break;
      frames.push(bytes.subarray(HEADER_BYTES, HEADER_BYTES + length));
      bytes = bytes.subarray(HEADER_BYTES + length);
    }
    // Copy the remainder so a held fragment does not pin the whole (possibly 64 KiB) read buffer.
    this.#held = bytes.length === 0 ? Buffer.alloc(0) : Buffer.from(bytes);
    return frames;
  }
}

/**
 * Prefixes a payload with its length as 4 bytes, big-endian.
 * @example encodeLengthPrefixed('hi') // <Buffer 00 00 00 02 68 69>
 */
export function encodeLengthPrefixed(payload: string | Uint8Array): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, HEADER_BYTES);
  return frame;
}
