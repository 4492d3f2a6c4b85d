import { JSON_EVENTS_VERSION } from './event-version.js';
import { formatHexLineInto, HEX_LINE_BYTES } from './hexdump.js';
import type { LogFormat, TraceEntry } from './_trace-types.js';

/**
 * Trace entries formatted straight into bytes for a file: the same text as formatTraceEntry() gives, without a
 * string per entry that is then joined and encoded again (measured: that made up most of what `--log` cost per
 * chunk, BENCHMARKS.md). Internal: session-trace.ts uses it for sinks that take bytes.
 */
export class TraceBytes {
  #buf = Buffer.allocUnsafe(INITIAL_BYTES);
  #length = 0;

  /** The bytes so far, handed over (not copied: a copy costs the same allocation and a memcpy); the builder starts again empty. */
  take(): Buffer {
    const bytes = this.#buf.subarray(0, this.#length);
    this.#buf = Buffer.allocUnsafe(Math.max(INITIAL_BYTES, this.#length));
    this.#length = 0;
    return bytes;
  }

  #room(bytes: number): Buffer {
    if (this.#length + bytes > this.#buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#length + bytes));
      this.#buf.copy(bigger, 0, 0, this.#length);
      this.#buf = bigger;
    }
    return this.#buf;
  }

  /** ASCII (or latin1) text as one byte per character. */
  ascii(text: string): void {
    const out = this.#room(text.length);
    // Short pieces (a space, an arrow) copied by hand: a native write() per piece costs more than the loop.
    if (text.length > 8) this.#length += out.write(text, this.#length, 'latin1');
    else for (let i = 0; i < text.length; i++) out[this.#length++] = text.charCodeAt(i);
  }

  /** `bytes` as JSON.stringify(bytes.toString('latin1')) would give them, UTF-8 encoded, quotes included. */
  jsonLatin1(bytes: Uint8Array): void {
    const out = this.#room(bytes.length * 6 + 2);
    let at = this.#length;
    out[at++] = 0x22;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      const escape = ESCAPES[byte];
      if (escape === undefined) out[at++] = byte;
      else for (let k = 0; k < escape.length; k++) out[at++] = escape[k]!;
    }
    out[at++] = 0x22;
    this.#length = at;
  }

  /** The dump lines of `bytes` (see formatHexDump), each ending in a newline. */
  hexLines(bytes: Uint8Array, offset: number): void {
    for (let start = 0; start < bytes.length; start += HEX_LINE_BYTES) {
      const end = Math.min(bytes.length, start + HEX_LINE_BYTES);
      const out = this.#room(HEX_LINE_MAX + 1);
      this.#length = formatHexLineInto(out, this.#length, bytes, start, end, offset + start);
      out[this.#length++] = 0x0a;
    }
  }

  /**
   * Bytes copied: by hand for the short pieces of an entry (a peer, a separator), where a loop beats a call; with
   * `set` (a memcpy) from SET_MIN_BYTES, e.g. the time and jsonl's 40-byte key runs (measured per entry).
   */
  bytes(piece: Uint8Array): void {
    const out = this.#room(piece.length);
    let at = this.#length;
    if (piece.length >= SET_MIN_BYTES) {
      out.set(piece, at);
      at += piece.length;
    } else for (let i = 0; i < piece.length; i++) out[at++] = piece[i]!;
    this.#length = at;
  }

  /** A whole number ≥ 0 in decimal, as String(n) writes it. */
  decimal(n: number): void {
    if (n >= 1e15) return this.ascii(String(n));
    const out = this.#room(16);
    if (n < 0x80000000) {
      // Offsets and lengths are mostly small: int arithmetic, the digit count by comparison.
      let at = this.#length + digitsOf(n);
      this.#length = at;
      let rest = n | 0;
      while (rest >= 10) {
        const tenth = (rest / 10) | 0;
        out[--at] = 0x30 + rest - tenth * 10;
        rest = tenth;
      }
      out[--at] = 0x30 + rest;
      return;
    }
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.#length + digits;
    this.#length = at;
    for (let rest = n; digits > 0; digits--, rest = Math.floor(rest / 10)) out[--at] = 0x30 + (rest % 10);
  }

  /** `bytes` in base64, as Buffer#toString('base64') writes it. */
  base64(bytes: Uint8Array): void {
    const out = this.#room(Math.ceil(bytes.length / 3) * 4);
    let at = this.#length;
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
      out[at++] = BASE64[n >>> 18]!;
      out[at++] = BASE64[(n >>> 12) & 63]!;
      out[at++] = BASE64[(n >>> 6) & 63]!;
      out[at++] = BASE64[n & 63]!;
    }
    if (i < bytes.length) {
      const n = (bytes[i]! << 16) | (i + 1 < bytes.length ? bytes[i + 1]! << 8 : 0);
      out[at++] = BASE64[n >>> 18]!;
      out[at++] = BASE64[(n >>> 12) & 63]!;
      out[at++] = i + 1 < bytes.length ? BASE64[(n >>> 6) & 63]! : 0x3d;
      out[at++] = 0x3d; // '='
    }
    this.#length = at;
  }

  /**
   * One entry in `format`, written piece by piece (a template would make a string per entry only to copy it out
   * again). `ts` is its time piece ({@link timePiece}, made once per millisecond) and `mid` what follows it up to the
   * entry's own numbers and data ({@link PeerPieces}, made once per peer and direction): two pieces copied, not eight.
   */
  entry(format: LogFormat, entry: TraceEntry, ts: Uint8Array, mid: Uint8Array): void {
    const bytes = entry.bytes;
    this.bytes(ts);
    this.bytes(mid);
    switch (format) {
      case 'text':
        this.jsonLatin1(bytes);
        this.ascii('\n');
        return;
      case 'hex':
        this.decimal(entry.offset);
        this.ascii(', ');
        this.decimal(bytes.length);
        this.ascii(bytes.length === 1 ? ' byte\n' : ' bytes\n');
        this.hexLines(bytes, entry.offset);
        return;
      case 'jsonl':
        this.decimal(entry.offset);
        this.bytes(JSONL_BYTES);
        this.decimal(bytes.length);
        this.bytes(JSONL_BASE64);
        this.base64(bytes);
        this.bytes(JSONL_END);
        return;
    }
  }
}

/** Decimal digits of 0 ≤ n < 2^31. */
function digitsOf(n: number): number {
  if (n < 100_000) return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10_000 ? 4 : 5;
  return n < 1_000_000 ? 6 : n < 10_000_000 ? 7 : n < 100_000_000 ? 8 : n < 1_000_000_000 ? 9 : 10;
}

/** The time of an entry as it starts the entry's line in `format` (jsonl: the object up to the time, then the time). */
export function timePiece(format: LogFormat, iso: string): Buffer {
  return Buffer.from(format === 'jsonl' ? `{"v":${JSON_EVENTS_VERSION},"ts":"${iso}` : iso, 'latin1');
}

/**
 * What an entry holds between its time and its own numbers and data, per format and direction, for one peer: the
 * peer's text (`name`, as in `127.0.0.1:40000`) or its JSON (`json`) with what surrounds them. Made on first use.
 */
export class PeerPieces {
  readonly #name: string;
  readonly #json: string;
  readonly #pieces: (Buffer | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];

  constructor(name: string, json: string) {
    this.#name = name;
    this.#json = json;
  }

  mid(format: LogFormat, inbound: boolean): Buffer {
    const slot = (format === 'text' ? 0 : format === 'hex' ? 2 : 4) + (inbound ? 0 : 1);
    return (this.#pieces[slot] ??= Buffer.from(this.#text(format, inbound), 'utf8'));
  }

  #text(format: LogFormat, inbound: boolean): string {
    const arrow = inbound ? '<' : '>';
    switch (format) {
      case 'text':
        return ` ${this.#name} ${arrow} `;
      case 'hex':
        return ` ${arrow} ${this.#name} offset `;
      case 'jsonl':
        return `","event":"data","direction":"${inbound ? 'in' : 'out'}","peer":${this.#json},"offset":`;
    }
  }
}

const SET_MIN_BYTES = 16;
const INITIAL_BYTES = 16 * 1024;
const JSONL_BYTES = Buffer.from(',"bytes":', 'latin1');
const JSONL_BASE64 = Buffer.from(',"base64":"', 'latin1');
const JSONL_END = Buffer.from('"}\n', 'latin1');
const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');

/** A dump line is at most 8 offset digits more than the usual 78 bytes (offsets past 4 GiB). */
const HEX_LINE_MAX = 96;

/** What JSON.stringify makes of each latin1 character, as UTF-8 bytes; undefined where it is the byte itself. */
const ESCAPES: (Uint8Array | undefined)[] = Array.from({ length: 256 }, (_, byte) => {
  if (byte >= 0x20 && byte < 0x80 && byte !== 0x22 && byte !== 0x5c) return undefined;
  return Buffer.from(JSON.stringify(String.fromCharCode(byte)).slice(1, -1), 'utf8');
});
