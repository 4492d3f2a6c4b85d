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
  | { type: 'reply'; text: string }
  | { type: 'closed-by-server'; missingReplies: number };

/** What `runMessageClient` resolves with once the session is over. */
export interface MessageClientResult {
  sent: number;
  replies: number;
  /** Why the session ended. */
  ending: 'quit' | 'eof' | 'server-closed';
  /** Messages sent that had no reply when the session ended. */
  missingReplies: number;
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
    onEvent({ type: 'reply', text: text.toString('utf8') });
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
  const send = async (text: string): Promise<void> => {
    if (!open()) return;
    if (lockstep) await awaitReplies(0);
    if (!open()) return;
    sent++;
    lastDataAt = performance.now();
    if (!conn.send(text + terminator)) await conn.drained();
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
    if (hello !== null) await send(hello);
    // Race each input line against the server going away, so an idle interactive client notices at once.
    const lines = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
    const serverGone = new Promise<null>((resolve) => {
      conn.once('end', () => resolve(null));
      conn.once('close', () => resolve(null));
    });
    for (;;) {
      const next = await Promise.race([lines.next(), serverGone]);
      if (next === null || next.done || conn.state !== 'open' || conn.peerEnded) {
        if (!next?.done) await lines.return?.();
        break;
      }
      await send(next.value);
      if (next.value === quitCommand) {
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
  return { sent, replies, ending, missingReplies: missing };
}
