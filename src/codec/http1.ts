import { FrameTooLargeError, SocklabError } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';

/** One whole HTTP/1.x response: status, headers (names lower-case), body (de-chunked) and the bytes it came in. */
export interface HttpResponse {
  version: string;
  status: number;
  reason: string;
  headers: [string, string][];
  body: Buffer;
  /** Every byte of the response as sent: head, chunk framing, trailers. */
  bytes: Buffer;
  /** 1xx: an interim response, the final one is still to come (RFC 9110 §15.2). */
  interim: boolean;
  /** The server says it will close after this response (`Connection: close`, or HTTP/1.0 without keep-alive). */
  closes: boolean;
}

/** Limits of an {@link HttpResponseDecoder}. */
export interface HttpResponseDecoderOptions {
  /** Largest head (status line and headers) accepted. @default 16384 */
  maxHeadBytes?: number;
  /** Largest body accepted. @default DEFAULTS.maxMessageBytes */
  maxBodyBytes?: number;
}

type Body = { kind: 'length'; remaining: number } | { kind: 'chunked'; state: 'size' | 'data' | 'data-end' | 'trailers'; remaining: number } | { kind: 'close' };

const LF = 0x0a;

/**
 * Splits a byte stream from an HTTP/1.1 server into whole responses: Content-Length and chunked bodies
 * (RFC 9112 §6), keep-alive and pipelining, and read-until-close bodies finished by `end()`. It does not know the
 * request: for responses to HEAD (which carry no body whatever their headers say) call `expectNoBody()` first.
 *
 * @example
 * const decoder = new HttpResponseDecoder();
 * decoder.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')); // [{ status: 200, body: <'hi'>, … }]
 */
export class HttpResponseDecoder {
  readonly maxHeadBytes: number;
  readonly maxBodyBytes: number;
  #held: Buffer = Buffer.alloc(0);
  #head: Omit<HttpResponse, 'body' | 'bytes'> | undefined;
  #body: Body | undefined;
  #bodyParts: Buffer[] = [];
  #bodyLength = 0;
  #rawParts: Buffer[] = [];
  #noBody = 0;

  constructor(options: HttpResponseDecoderOptions = {}) {
    this.maxHeadBytes = checkCount('maxHeadBytes', options.maxHeadBytes ?? 16_384, 1);
    this.maxBodyBytes = checkCount('maxBodyBytes', options.maxBodyBytes ?? DEFAULTS.maxMessageBytes, 0, true);
  }

  /** The next response (in order) answers a HEAD request: it has no body. */
  expectNoBody(): void {
    this.#noBody++;
  }

  /** Bytes of a response that has started but not finished. */
  get pendingBytes(): number {
    return this.#held.length + this.#rawParts.reduce((sum, part) => sum + part.length, 0);
  }

  /**
   * Feeds bytes; returns the responses they complete.
   * @throws {FrameTooLargeError} past `maxHeadBytes`/`maxBodyBytes`; {@link SocklabError} `SL_ERR_PROTOCOL` on bytes that are not HTTP/1.x.
   */
  push(chunk: Uint8Array): HttpResponse[] {
    let bytes = this.#held.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.#held, chunk]);
    this.#held = Buffer.alloc(0);
    const done: HttpResponse[] = [];
    while (bytes.length > 0) {
      if (this.#head === undefined) {
        const used = this.#readHead(bytes);
        if (used === 0) break;
        bytes = bytes.subarray(used);
        if (this.#body === undefined) {
          done.push(this.#finish());
          continue;
        }
      }
      const used = this.#readBody(bytes);
      bytes = bytes.subarray(used);
      if (this.#body === undefined) done.push(this.#finish());
      else if (used === 0) break;
    }
    if (bytes.length > 0) this.#held = Buffer.from(bytes);
    return done;
  }

  /** At end of stream: a read-until-close body ends here; any other unfinished response is cut short. */
  end(): HttpResponse[] {
    if (this.#body?.kind === 'close') {
      this.#body = undefined;
      return [this.#finish()];
    }
    if (this.#head !== undefined || this.#held.length > 0) throw protocolError('the connection closed in the middle of a response');
    return [];
  }

  /** Parses the head if it is all there; returns the bytes it used (0: not yet). */
  #readHead(bytes: Buffer): number {
    let end = bytes.indexOf('\r\n\r\n');
    let used = end + 4;
    const bare = bytes.indexOf('\n\n');
    if (bare !== -1 && (end === -1 || bare < end)) [end, used] = [bare, bare + 2]; // bare LF (RFC 9112 §2.2 allows it)
    if (end === -1) {
      if (bytes.length > this.maxHeadBytes) throw new FrameTooLargeError(bytes.length, this.maxHeadBytes);
      return 0;
    }
    if (end > this.maxHeadBytes) throw new FrameTooLargeError(end, this.maxHeadBytes);
    const lines = bytes.toString('latin1', 0, end).split(/\r?\n/);
    const status = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (!status) throw protocolError(`"${lines[0]!.slice(0, 60)}" is not an HTTP/1.x status line`);
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw protocolError(`"${line.slice(0, 60)}" is not a header line`);
      headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
    const code = Number(status[2]);
    const version = status[1]!;
    const header = (name: string): string | undefined => headers.find(([key]) => key === name)?.[1];
    const connection = (header('connection') ?? '').toLowerCase();
    const interim = code >= 100 && code < 200 && code !== 101;
    this.#head = { version, status: code, reason: status[3] ?? '', headers, interim, closes: connection.includes('close') || (version === 'HTTP/1.0' && !connection.includes('keep-alive')) };
    this.#rawParts = [bytes.subarray(0, used)];
    this.#bodyParts = [];
    this.#bodyLength = 0;
    // RFC 9112 §6.3: no body for 1xx, 204, 304 and HEAD; chunked wins over Content-Length; else length; else until close.
    const noBody = interim || code === 204 || code === 304 || (this.#noBody > 0 && !interim);
    if (noBody && !interim && this.#noBody > 0) this.#noBody--;
    const encoding = (header('transfer-encoding') ?? '').toLowerCase();
    const length = header('content-length');
    if (noBody) this.#body = undefined;
    else if (encoding.split(',').map((s) => s.trim()).at(-1) === 'chunked') this.#body = { kind: 'chunked', state: 'size', remaining: 0 };
    else if (length !== undefined) {
      if (!/^\d+$/.test(length)) throw protocolError(`Content-Length "${length}"`);
      const remaining = Number(length);
      if (remaining > this.maxBodyBytes) throw new FrameTooLargeError(remaining, this.maxBodyBytes);
      this.#body = remaining === 0 ? undefined : { kind: 'length', remaining };
    } else this.#body = { kind: 'close' };
    return used;
  }

  /** Takes what it can of the body; returns the bytes used. Sets `#body` undefined when the body is complete. */
  #readBody(bytes: Buffer): number {
    const body = this.#body!;
    if (body.kind === 'close') {
      this.#take(bytes, bytes.length, true);
      return bytes.length;
    }
    if (body.kind === 'length') {
      const n = Math.min(body.remaining, bytes.length);
      this.#take(bytes, n, true);
      body.remaining -= n;
      if (body.remaining === 0) this.#body = undefined;
      return n;
    }
    let at = 0;
    while (at < bytes.length) {
      if (body.state === 'data') {
        const n = Math.min(body.remaining, bytes.length - at);
        this.#take(bytes.subarray(at), n, true);
        at += n;
        body.remaining -= n;
        if (body.remaining === 0) body.state = 'data-end';
        continue;
      }
      const eol = bytes.indexOf(LF, at);
      if (eol === -1) {
        if (bytes.length - at > this.maxHeadBytes) throw new FrameTooLargeError(bytes.length - at, this.maxHeadBytes);
        break;
      }
      const line = bytes.toString('latin1', at, eol).replace(/\r$/, '');
      this.#take(bytes.subarray(at), eol + 1 - at, false);
      at = eol + 1;
      if (body.state === 'data-end') {
        if (line !== '') throw protocolError('a chunk must end in CRLF');
        body.state = 'size';
      } else if (body.state === 'size') {
        const size = /^([0-9a-fA-F]+)\s*(?:;.*)?$/.exec(line);
        if (!size) throw protocolError(`chunk size "${line.slice(0, 30)}"`);
        body.remaining = parseInt(size[1]!, 16);
        if (this.#bodyLength + body.remaining > this.maxBodyBytes) throw new FrameTooLargeError(this.#bodyLength + body.remaining, this.maxBodyBytes);
        body.state = body.remaining === 0 ? 'trailers' : 'data';
      } else if (line === '') {
        this.#body = undefined; // the empty line after the last chunk's trailers
        return at;
      }
    }
    return at;
  }

  #take(bytes: Buffer, n: number, isBody: boolean): void {
    const part = Buffer.from(bytes.subarray(0, n));
    this.#rawParts.push(part);
    if (!isBody) return;
    if (this.#bodyLength + n > this.maxBodyBytes) throw new FrameTooLargeError(this.#bodyLength + n, this.maxBodyBytes);
    this.#bodyParts.push(part);
    this.#bodyLength += n;
  }

  #finish(): HttpResponse {
    const head = this.#head!;
    this.#head = undefined;
    const response = { ...head, body: Buffer.concat(this.#bodyParts), bytes: Buffer.concat(this.#rawParts) };
    this.#rawParts = [];
    this.#bodyParts = [];
    return response;
  }
}

function protocolError(why: string): SocklabError {
  return new SocklabError('SL_ERR_PROTOCOL', `Cannot decode HTTP/1.1: ${why}`);
}
