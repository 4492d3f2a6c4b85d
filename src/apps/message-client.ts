import { LineDecoder, lineEndingBytes, type LineEnding } from '../codec/lines.js';
import { SocklabError } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';
import { connectTcp, type ConnectOptions } from '../tcp/client.js';
import type { TcpConnection } from '../tcp/connection.js';
import { tlsServerOnPlaintextError } from '../tls/errors.js';
import { looksLikeTlsRecord } from '../tls/sniff.js';

/** Options of `runMessageClient`: where to connect (as `connectTcp` takes it) and the session's own settings. */
export interface MessageClientOptions extends Omit<ConnectOptions, 'framing' | 'lineEnding'> {
  /** Sent first, as the seed's client.py sends `ack`; null sends nothing. @default 'ack' */
  hello?: string | null;
  /** Terminator after each message sent. `none` is what the seed's client sends. @default 'lf' */
  lineEnding?: LineEnding;
  /** Sending this ends the session (after its reply). @default 'quit' */
  quitCommand?: string;
  /** After the last message, how long to wait for a missing reply before giving up. @default 5000 */
  replyTimeoutMs?: number;
  /** After the last message, once every message has a reply, how long the server must stay quiet. @default 100 */
  lingerMs?: number;
  /**
   * Send a message only once every earlier one has had a reply, as the seed's client does. Servers that treat
   * each read as one message (the seed's) need this: pipelined lines would reach them merged into one read.
   * Set false to send without waiting (line-framed servers, or servers that do not reply). @default true
   */
  lockstep?: boolean;
  /**
   * Before sending anything, wait this long for the server's greeting. What arrives meanwhile is the greeting
   * and not a reply, which keeps `lockstep` exact; a server that does not greet just costs this wait once. 0
   * sends at once (the greeting then looks like the first reply). @default 200
   */
  greetingWaitMs?: number;
  /**
   * Replies end only at a newline. By default the end of a read also ends a reply (the seed's servers send
   * none), which a stream cut mid-line (a slow link, `proxy --slice`) can split; a line-based server's replies
   * are read exactly with this. @default false
   */
  lineReplies?: boolean;
}

/** What `runMessageClient` reports as it goes (`onEvent`). */
export type MessageClientEvent =
  | { type: 'connected'; connection: TcpConnection }
  /** `text` is the reply as UTF-8, any byte that is not UTF-8 shown as `\xNN` (`escaped` says so), never replaced. */
  | { type: 'reply'; text: string; escaped: boolean }
  | { type: 'closed-by-server'; missingReplies: number };

/** What `runMessageClient` resolves with once the session is over. */
export interface MessageClientResult {
  sent: number;
  replies: number;
  /** Why the session ended. */
  ending: 'quit' | 'eof' | 'server-closed';
  /** Messages sent that had no reply when the session ended. */
  missingReplies: number;
  /** Every message was sent (the hello, each input line until its end or `quit`): false when the server went first. */
  inputSent: boolean;
}

/**
 * Decodes UTF-8 without rewriting anything: each byte that is not part of a valid sequence (a stray
 * continuation, a truncated or overlong sequence, a surrogate, past U+10FFFF) comes out as `\xNN`.
 * @example escapeUtf8(Buffer.from([0x68, 0x69, 0xff])) // { text: 'hi\\xff', escaped: true }
 */
export function escapeUtf8(bytes: Uint8Array): { text: string; escaped: boolean } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text = '';
  let escaped = false;
  let start = 0;
  let i = 0;
  while (i < buffer.length) {
    const length = utf8SequenceLength(buffer, i);
    if (length > 0) {
      i += length;
      continue;
    }
    text += buffer.toString('utf8', start, i) + `\\x${buffer[i]!.toString(16).padStart(2, '0')}`;
    escaped = true;
    start = ++i;
  }
  return { text: text + buffer.toString('utf8', start), escaped };
}

/** The length of the valid UTF-8 sequence at `at`, or 0 when the byte there does not start one (RFC 3629 table). */
function utf8SequenceLength(bytes: Buffer, at: number): number {
  const lead = bytes[at]!;
  if (lead < 0x80) return 1;
  // [length, lowest and highest second byte]: the narrowed second-byte ranges rule out overlongs and surrogates.
  const shape: [number, number, number] | undefined =
    lead >= 0xc2 && lead <= 0xdf ? [2, 0x80, 0xbf]
    : lead === 0xe0 ? [3, 0xa0, 0xbf]
    : lead === 0xed ? [3, 0x80, 0x9f]
    : lead >= 0xe1 && lead <= 0xef ? [3, 0x80, 0xbf]
    : lead === 0xf0 ? [4, 0x90, 0xbf]
    : lead >= 0xf1 && lead <= 0xf3 ? [4, 0x80, 0xbf]
    : lead === 0xf4 ? [4, 0x80, 0x8f]
    : undefined;
  if (shape === undefined || at + shape[0] > bytes.length) return 0;
  const second = bytes[at + 1]!;
  if (second < shape[1] || second > shape[2]) return 0;
  for (let k = 2; k < shape[0]; k++) if ((bytes[at + k]! & 0xc0) !== 0x80) return 0;
  return shape[0];
}

/**
 * The seed's client.py, made robust: sends `hello`, then each input line, and reports every reply as it
 * arrives. Replies are read the way both kinds of server write them: a reply ends at LF, and bytes that end a
 * read with no LF are a reply too (the seed's servers send replies with no newline, one per `send`).
 *
 * When input ends (EOF or `quit`), it waits until it has as many replies as messages sent and the server has
 * been quiet for `lingerMs` (the server may also greet, so one reply more is normal), or until the server
 * closes. A reply still missing after `replyTimeoutMs` fails with SL_ERR_REPLY_TIMEOUT.
 *
 * @example
 * await runMessageClient({ port: 12345 }, ['hello', 'quit'], (e) => e.type === 'reply' && console.log(e.text));
 */
export async function runMessageClient(
  options: MessageClientOptions,
  input: AsyncIterable<string> | Iterable<string>,
  onEvent: (event: MessageClientEvent) => void = () => {},
): Promise<MessageClientResult> {
  const hello = options.hello === undefined ? 'ack' : options.hello;
  const quitCommand = options.quitCommand ?? 'quit';
  const terminator = lineEndingBytes(options.lineEnding ?? 'lf');
  const replyTimeoutMs = checkCount('replyTimeoutMs', options.replyTimeoutMs ?? 5000, 0, true);
  const lingerMs = checkCount('lingerMs', options.lingerMs ?? 100, 0, true);
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULTS.maxMessageBytes;
  const lockstep = options.lockstep ?? true;
  const greetingWaitMs = checkCount('greetingWaitMs', options.greetingWaitMs ?? 200, 0);

  // MessageClientOptions keeps port and path both optional; connectTcp checks at run time that one is given.
  const conn = await connectTcp({ ...options, framing: 'raw', lineEnding: 'none' } as ConnectOptions);
  onEvent({ type: 'connected', connection: conn });
  const decoder = new LineDecoder({ maxLineBytes: maxMessageBytes });
  let replies = 0;
  let sent = 0;
  let lastDataAt = performance.now();
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const deliver = (text: Buffer): void => {
    replies++;
    onEvent({ type: 'reply', ...escapeUtf8(text) });
  };
  const deliverTail = (): void => {
    const tail = decoder.flush();
    if (tail !== undefined) deliver(tail);
  };
  /** Decoding throws for a reply over maxMessageBytes: that ends the connection, never the process. */
  const decodeSafely = (work: () => void): void => {
    try {
      work();
    } catch (err) {
      conn.destroy(err as SocklabError);
    }
    poke();
  };
  let firstChunk = !options.tls;
  conn.on('message', (chunk) => {
    lastDataAt = performance.now();
    // A TLS server answering our plaintext (an alert, or its ServerHello): say so instead of printing binary.
    if (firstChunk) {
      firstChunk = false;
      if (looksLikeTlsRecord(chunk)) {
        conn.destroy(tlsServerOnPlaintextError(conn.peer));
        poke();
        return;
      }
    }
    decodeSafely(() => {
      for (const line of decoder.push(chunk)) deliver(line);
      // The end of a read ends a reply too: the seed's servers send replies without a newline (server3.py
      // greets with one, then replies without). With lineReplies, a partial line waits for the rest.
      if (!options.lineReplies) deliverTail();
    });
  });
  conn.on('end', () => decodeSafely(deliverTail));
  conn.on('close', poke);

  const open = (): boolean => conn.state === 'open' && !conn.peerEnded;
  const missingReplies = (): SocklabError =>
    new SocklabError(
      'SL_ERR_REPLY_TIMEOUT',
      `${sent - replies} of ${sent} replies missing from ${conn.peer}: nothing received for ${replyTimeoutMs} ms (replyTimeoutMs)`,
    );
  /** Waits until every message sent has a reply; with `linger`, also until the server has been quiet that long. */
  const awaitReplies = async (linger: number): Promise<void> => {
    for (;;) {
      if (!open()) return;
      const quietMs = performance.now() - lastDataAt;
      if (replies >= sent && quietMs >= linger) return;
      if (replies < sent && quietMs >= replyTimeoutMs) throw missingReplies();
      const waitMs = replies >= sent ? linger - quietMs : replyTimeoutMs - quietMs;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, Math.max(1, waitMs)).unref();
      });
    }
  };
  let inputSent = false;
  /** Sends one message; false when the server has gone (what was left to send never went). */
  const send = async (text: string): Promise<boolean> => {
    if (!open()) return false;
    if (lockstep) await awaitReplies(0);
    if (!open()) return false;
    sent++;
    lastDataAt = performance.now();
    if (!conn.send(text + terminator)) await conn.drained();
    return true;
  };

  let ending: MessageClientResult['ending'] = 'eof';
  try {
    if (greetingWaitMs > 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, greetingWaitMs).unref();
      });
      replies = 0;
    }
    let allSent = hello === null || (await send(hello));
    // Race each input line against the server going away, so an idle interactive client notices at once.
    const lines = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
    const serverGone = new Promise<null>((resolve) => {
      conn.once('end', () => resolve(null));
      conn.once('close', () => resolve(null));
    });
    for (;;) {
      const next = await Promise.race([lines.next(), serverGone]);
      if (next === null || next.done || !open()) {
        inputSent = allSent && next?.done === true && open();
        if (!next?.done) await lines.return?.();
        break;
      }
      if (!(await send(next.value))) allSent = false;
      if (next.value === quitCommand) {
        inputSent = allSent;
        ending = 'quit';
        await lines.return?.();
        break;
      }
    }
    // Input is over: collect the replies still on their way.
    await awaitReplies(lingerMs);
  } catch (err) {
    // Nothing more is coming (a reply timed out, or input failed): do not wait for the server's FIN.
    conn.destroy();
    throw err;
  } finally {
    const serverClosed = conn.peerEnded || conn.state !== 'open';
    const error = await conn.close();
    if (serverClosed && ending !== 'quit') ending = 'server-closed';
    if (error) throw error;
  }
  const missing = Math.max(0, sent - replies);
  if (ending === 'server-closed') onEvent({ type: 'closed-by-server', missingReplies: missing });
  return { sent, replies, ending, missingReplies: missing, inputSent };
}
