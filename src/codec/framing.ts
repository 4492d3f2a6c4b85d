import { LengthPrefixDecoder, encodeLengthPrefixed } from './length-prefix.js';
import { LineDecoder, encodeLine, type LineEnding } from './lines.js';

/**
 * How a TCP byte stream is cut into messages. TCP keeps no message boundaries, so this is a choice:
 * - `line`: a message ends at LF (CRLF accepted). What ncat, telnet and socklab's client send.
 * - `raw`: each read is one message, as the seed's `recv(1500)` assumes. Only safe when the peer waits for a
 *   reply between messages; two quick sends can arrive as one read, and one send can arrive as two.
 * - `auto`: `raw` until the peer sends its first LF, `line` from then on. It serves the seed's client.py
 *   (no newlines, one message per reply) and line-based peers alike, and is `socklab serve`'s default.
 * - `length`: each message is preceded by its length as 4 bytes, big-endian.
 */
export type Framing = 'line' | 'raw' | 'auto' | 'length';

/**
 * Every {@link Framing}, for validating a flag or option.
 * @example FRAMINGS.includes('line') // true
 */
export const FRAMINGS: readonly Framing[] = ['line', 'raw', 'auto', 'length'];

/** Turns bytes into messages. `end()` is called once at end of stream for whatever is left. */
export interface MessageDecoder {
  push(chunk: Uint8Array): Buffer[];
  end(): Buffer[];
  /** Bytes of a message that has started but not finished. */
  readonly pendingBytes: number;
}

/** Each read is a message. Stateless, so one instance serves every connection. */
const RAW_DECODER: MessageDecoder = {
  push: (chunk) => [Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)],
  end: () => [],
  pendingBytes: 0,
};

/** `line` and `auto` framing. A class, not closures: one of these lives per connection. */
class LineMessageDecoder extends LineDecoder implements MessageDecoder {
  readonly #flushUntilNewline: boolean;

  constructor(maxLineBytes: number, flushUntilNewline: boolean) {
    super({ maxLineBytes });
    this.#flushUntilNewline = flushUntilNewline;
  }

  override push(chunk: Uint8Array): Buffer[] {
    const lines = super.push(chunk);
    if (this.#flushUntilNewline && !this.sawNewline) {
      const tail = this.flush();
      if (tail !== undefined) lines.push(tail);
    }
    return lines;
  }

  end(): Buffer[] {
    const tail = this.flush();
    return tail === undefined ? [] : [tail];
  }
}

class LengthMessageDecoder extends LengthPrefixDecoder implements MessageDecoder {
  end(): Buffer[] {
    return [];
  }
}

/**
 * Creates the decoder for a framing.
 * @example createDecoder('auto', 65536).push(Buffer.from('ack')) // [<Buffer 'ack'>]
 */
export function createDecoder(framing: Framing, maxMessageBytes: number): MessageDecoder {
  switch (framing) {
    case 'raw':
      return RAW_DECODER;
    case 'length':
      return new LengthMessageDecoder({ maxPayloadBytes: maxMessageBytes });
    case 'line':
    case 'auto':
      return new LineMessageDecoder(maxMessageBytes, framing === 'auto');
  }
}

/**
 * Encodes one outgoing message for a framing. Lines get `lineEnding` appended; raw messages are sent as they are.
 * @example encodeMessage('line', 'hi', 'crlf') // <Buffer 68 69 0d 0a>
 */
export function encodeMessage(framing: Framing, message: string | Uint8Array, lineEnding: LineEnding): Buffer {
  switch (framing) {
    case 'length':
      return encodeLengthPrefixed(message);
    case 'raw':
      return typeof message === 'string' ? Buffer.from(message) : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    case 'line':
    case 'auto':
      return encodeLine(message, lineEnding);
  }
}
