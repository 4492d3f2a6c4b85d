import { FrameTooLargeError, SocklabError } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';

/** A decoded RESP value (RESP2 and the RESP3 scalar and aggregate types). Errors stay values: a reply, not a throw. */
export type RespValue = string | number | bigint | boolean | null | Buffer | RespError | RespValue[] | Map<RespValue, RespValue>;

/**
 * A `-ERR …` (or RESP3 `!`) reply.
 *
 * @example
 * const [reply] = new RespDecoder().push(Buffer.from('-ERR unknown command\r\n'));
 * if (reply!.value instanceof RespError) console.log(reply!.value.message); // "ERR unknown command"
 */
export class RespError {
  constructor(readonly message: string) {}
}

/** One whole reply: its value, its type byte (`+`, `-`, `:`, `$`, `*`, …) and the bytes it came in. */
export interface RespFrame {
  type: string;
  value: RespValue;
  bytes: Buffer;
}

/** Limits of a {@link RespDecoder}. */
export interface RespDecoderOptions {
  /** Largest frame accepted (a bulk string's length counts as soon as its header arrives). @default DEFAULTS.maxMessageBytes */
  maxFrameBytes?: number;
  /** Deepest nesting of arrays/maps accepted (a peer could otherwise nest without end). @default 64 */
  maxDepth?: number;
}

const CR = 0x0d;
const LF = 0x0a;
/** Marker for "the frame has not fully arrived yet". */
const INCOMPLETE = -1;

/**
 * Splits a byte stream of RESP (the Redis protocol) into whole replies. Bytes are held until a reply is complete;
 * nothing is decoded twice once a bulk string's header says how much is still to come.
 *
 * @example
 * const decoder = new RespDecoder();
 * decoder.push(Buffer.from('+PONG\r\n$3\r\nb')); // [{ type: '+', value: 'PONG', … }]
 * decoder.push(Buffer.from('ar\r\n'));           // [{ type: '$', value: <Buffer 62 61 72>, … }]
 */
export class RespDecoder {
  readonly maxFrameBytes: number;
  readonly maxDepth: number;
  #held: Buffer = Buffer.alloc(0);
  /** Bytes the held frame needs at least before parsing it again is worth it. */
  #need = 0;
  /** Where (in the buffer being parsed) an incomplete bulk string ends. */
  #needUntil = 0;

  constructor(options: RespDecoderOptions = {}) {
    this.maxFrameBytes = checkCount('maxFrameBytes', options.maxFrameBytes ?? DEFAULTS.maxMessageBytes, 1, true);
    this.maxDepth = checkCount('maxDepth', options.maxDepth ?? 64, 1);
  }

  /** Bytes held that do not yet form a whole reply. */
  get pendingBytes(): number {
    return this.#held.length;
  }

  /**
   * Feeds bytes; returns the replies they complete.
   * @throws {FrameTooLargeError} past `maxFrameBytes`; {@link SocklabError} `SL_ERR_PROTOCOL` on bytes that are not RESP.
   */
  push(chunk: Uint8Array): RespFrame[] {
    const bytes = this.#held.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.#held, chunk]);
    const frames: RespFrame[] = [];
    let start = 0;
    while (start < bytes.length && bytes.length - start >= this.#need) {
      this.#needUntil = 0;
      const parsed = this.#parse(bytes, start, 0);
      if (parsed === INCOMPLETE) {
        this.#need = Math.max(0, this.#needUntil - start);
        break;
      }
      frames.push({ type: String.fromCharCode(bytes[start]!), value: parsed.value, bytes: bytes.subarray(start, parsed.end) });
      start = parsed.end;
      this.#need = 0;
    }
    if (bytes.length - start > this.maxFrameBytes) throw new FrameTooLargeError(bytes.length - start, this.maxFrameBytes);
    // Copy the remainder so a held fragment does not pin the whole read buffer.
    this.#held = start === bytes.length ? Buffer.alloc(0) : Buffer.from(bytes.subarray(start));
    return frames;
  }

  /** Parses one value at `at`; INCOMPLETE when more bytes are needed. */
  #parse(bytes: Buffer, at: number, depth: number): { value: RespValue; end: number } | typeof INCOMPLETE {
    const lineEnd = bytes.indexOf(LF, at);
    if (lineEnd === -1) {
      if (bytes.length - at > this.maxFrameBytes) throw new FrameTooLargeError(bytes.length - at, this.maxFrameBytes);
      return INCOMPLETE;
    }
    if (bytes[lineEnd - 1] !== CR) throw protocolError(`a RESP line must end in CRLF (at byte ${lineEnd})`);
    const type = bytes[at]!;
    const line = bytes.toString('latin1', at + 1, lineEnd - 1);
    const next = lineEnd + 1;
    switch (type) {
      case 0x2b: // + simple string
        return { value: bytes.toString('utf8', at + 1, lineEnd - 1), end: next };
      case 0x2d: // - error
        return { value: new RespError(bytes.toString('utf8', at + 1, lineEnd - 1)), end: next };
      case 0x3a: // : integer
        return { value: integer(line), end: next };
      case 0x28: // ( big number (RESP3)
        return { value: BigInt(line), end: next };
      case 0x2c: // , double (RESP3)
        return { value: Number(line.replace(/^(-?)inf$/, '$1Infinity')), end: next };
      case 0x23: // # boolean (RESP3)
        return { value: line === 't', end: next };
      case 0x5f: // _ null (RESP3)
        return { value: null, end: next };
      case 0x24: // $ bulk string
      case 0x21: // ! blob error (RESP3)
      case 0x3d: {
        // = verbatim string (RESP3)
        const length = integer(line);
        if (length === -1) return { value: null, end: next }; // RESP2 null bulk string
        if (length < 0) throw protocolError(`bulk length ${length}`);
        if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
        const end = next + length + 2;
        if (bytes.length < end) {
          this.#needUntil = end;
          return INCOMPLETE;
        }
        const body = Buffer.from(bytes.subarray(next, next + length));
        if (type === 0x21) return { value: new RespError(body.toString('utf8')), end };
        return { value: type === 0x3d ? body.toString('utf8', 4) : body, end };
      }
      case 0x2a: // * array
      case 0x7e: // ~ set (RESP3)
      case 0x3e: // > push (RESP3)
      case 0x25: // % map (RESP3)
      case 0x7c: {
        // | attribute (RESP3): kept as a map frame of its own
        const count = integer(line);
        if (count === -1) return { value: null, end: next }; // RESP2 null array
        if (count < 0) throw protocolError(`aggregate length ${count}`);
        if (depth >= this.maxDepth) throw protocolError(`nesting deeper than maxDepth ${this.maxDepth}`);
        const pairs = type === 0x25 || type === 0x7c;
        const items: RespValue[] = [];
        let end = next;
        for (let i = 0; i < count * (pairs ? 2 : 1); i++) {
          const item = this.#parse(bytes, end, depth + 1);
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item.value);
          end = item.end;
        }
        if (!pairs) return { value: items, end };
        const map = new Map<RespValue, RespValue>();
        for (let i = 0; i < items.length; i += 2) map.set(items[i]!, items[i + 1]!);
        return { value: map, end };
      }
      default:
        throw protocolError(`unknown RESP type byte 0x${type.toString(16).padStart(2, '0')}`);
    }
  }
}

function integer(text: string): number {
  if (!/^-?\d+$/.test(text)) throw protocolError(`"${text}" is not a RESP integer`);
  return Number(text);
}

function protocolError(why: string): SocklabError {
  return new SocklabError('SL_ERR_PROTOCOL', `Cannot decode RESP: ${why}`);
}

/**
 * Encodes a command as a RESP array of bulk strings, the way every Redis client sends one.
 *
 * @example
 * const bytes = encodeRespCommand(['SET', 'k', 'v']);
 * console.log(JSON.stringify(bytes.toString())); // "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
 */
export function encodeRespCommand(args: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const body = typeof arg === 'string' ? Buffer.from(arg) : Buffer.from(arg);
    parts.push(Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
