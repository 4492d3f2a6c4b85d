import { HttpResponseDecoder } from '../codec/http1.js';
import { LengthPrefixDecoder } from '../codec/length-prefix.js';
import { LineDecoder } from '../codec/lines.js';
import { RespDecoder } from '../codec/resp.js';

/**
 * How the bench cuts a server's byte stream into replies:
 * - `line`: a reply ends at LF (CRLF too);
 * - `read`: whatever one read brings (servers that reply without a newline; only safe in lockstep);
 * - `fixed`: every reply is exactly `replyBytes` bytes;
 * - `length`: a 4-byte big-endian length, then that many bytes;
 * - `resp`: one RESP value (redis);
 * - `http`: one HTTP/1.1 response (Content-Length, chunked or until close; 1xx interim responses skipped).
 */
export type ReplyFraming = 'line' | 'read' | 'fixed' | 'length' | 'resp' | 'http';

export const REPLY_FRAMINGS: readonly ReplyFraming[] = ['line', 'read', 'fixed', 'length', 'resp', 'http'];

/** One reply: its first bytes as text (what `--expect` is checked against), and whether the server will close after it. */
export interface Reply {
  text: string;
  closes?: boolean;
}

/** Cuts replies out of a connection's bytes. One per connection; `end()` at the server's FIN. */
export interface ReplyFramer {
  push(chunk: Buffer): Reply[];
  end(): Reply[];
  /** The next reply answers a request that gets no body back (HTTP HEAD). */
  expectNoBody?(): void;
}

/** `--expect` is checked against this much of each reply: enough for a status line or an error message. */
export const EXPECT_TEXT_BYTES = 4096;

function text(bytes: Buffer): string {
  return bytes.toString('latin1', 0, Math.min(bytes.length, EXPECT_TEXT_BYTES));
}

/** A new framer for one connection. `maxReplyBytes` bounds what a reply may grow to (a peer could send without end). */
export function createReplyFramer(framing: ReplyFraming, options: { replyBytes?: number; maxReplyBytes: number }): ReplyFramer {
  switch (framing) {
    case 'read':
      return { push: (chunk) => [{ text: text(chunk) }], end: () => [] };
    case 'line': {
      const decoder = new LineDecoder({ maxLineBytes: options.maxReplyBytes });
      return { push: (chunk) => decoder.push(chunk).map((line) => ({ text: text(line) })), end: () => [] };
    }
    case 'fixed':
      return fixedFramer(options.replyBytes ?? 1);
    case 'length': {
      const decoder = new LengthPrefixDecoder({ maxPayloadBytes: options.maxReplyBytes });
      return { push: (chunk) => decoder.push(chunk).map((payload) => ({ text: text(payload) })), end: () => [] };
    }
    case 'resp': {
      const decoder = new RespDecoder({ maxFrameBytes: options.maxReplyBytes });
      return { push: (chunk) => decoder.push(chunk).map((frame) => ({ text: text(frame.bytes) })), end: () => [] };
    }
    case 'http': {
      const decoder = new HttpResponseDecoder({ maxBodyBytes: options.maxReplyBytes });
      const replies = (responses: ReturnType<HttpResponseDecoder['push']>): Reply[] =>
        responses.filter((r) => !r.interim).map((r) => ({ text: text(r.bytes), closes: r.closes }));
      return { push: (chunk) => replies(decoder.push(chunk)), end: () => replies(decoder.end()), expectNoBody: () => decoder.expectNoBody() };
    }
  }
}

/** Every `replyBytes` bytes is a reply; a reply's text is its first bytes. */
function fixedFramer(replyBytes: number): ReplyFramer {
  let have = 0;
  let head: Buffer[] = [];
  return {
    push(chunk) {
      const replies: Reply[] = [];
      let at = 0;
      while (at < chunk.length) {
        const take = Math.min(replyBytes - have, chunk.length - at);
        if (have < EXPECT_TEXT_BYTES) head.push(chunk.subarray(at, at + Math.min(take, EXPECT_TEXT_BYTES - have)));
        have += take;
        at += take;
        if (have === replyBytes) {
          replies.push({ text: Buffer.concat(head).toString('latin1') });
          have = 0;
          head = [];
        }
      }
      return replies;
    },
    end: () => [],
  };
}
