import { Inbox, type WaitOptions } from '../_inbox.js';
import { SocklabError } from '../errors.js';
import { checkSignal } from '../options.js';
import { kHooks } from './_hooks.js';
import type { TcpConnection } from './connection.js';

/** Options of `TcpConnection.receive()`. */
export interface ReceiveOptions extends WaitOptions {}

/** Options of `TcpConnection.messages()`. */
export interface MessagesOptions {
  /** Aborting makes the waiting `next()` reject with SL_ERR_ABORTED; the connection stays open. */
  signal?: AbortSignal;
  /**
   * Throw the error that ended the connection (reset, oversize message, idle timeout…) from the loop instead of
   * ending it quietly. A clean end (the peer's FIN, our own `close()`) still just ends the loop. @default false
   */
  throwOnError?: boolean;
}

/**
 * The readers of one connection (made by its first `receive()` or `messages()`): the inbox they share, at most
 * `maxQueuedMessages` held (reading paused past that and resumed at half), and the loops running.
 */
export class Readers {
  readonly inbox: Inbox<Buffer>;
  /** `messages()` loops running: while any is, the peer's FIN does not close the connection. */
  loops = 0;
  readonly #conn: TcpConnection;

  constructor(conn: TcpConnection) {
    this.#conn = conn;
    this.inbox = connectionInbox(conn);
    if (conn.state !== 'open') this.inbox.end(conn.error);
    else if (conn.peerEnded) this.inbox.end();
  }

  /** A message for the readers; false when they hold `maxQueuedMessages` and the socket should pause. */
  push(message: Buffer): boolean {
    return !this.inbox.push(message) || this.inbox.size < this.#conn.options.maxQueuedMessages;
  }

  receive(options: ReceiveOptions = {}): Promise<Buffer> {
    return receiveOne(this.#conn, this, options);
  }

  messages(options?: MessagesOptions): AsyncIterableIterator<Buffer> {
    return messageLoop(this.#conn, this, options);
  }

  /** A reader saw the end of the messages (a loop ended, a `receive()` found none): close if nothing holds it open. */
  sawEnd(): void {
    closeAfterPeerEnd(this.#conn, this);
  }
}

/**
 * Who closes after the peer's FIN (docs/library-guide.md): an 'end' listener or hooks own the half-open connection;
 * a running messages() loop closes it when it ends; receive() when it reports the end; with no reader at all, now.
 */
export function closeAfterPeerEnd(conn: TcpConnection, readers: Readers | undefined): void {
  if (!conn.peerEnded || (readers !== undefined && readers.loops > 0) || conn[kHooks] !== undefined || conn.listenerCount('end') > 0) return;
  void conn.close();
}

function connectionInbox(conn: TcpConnection): Inbox<Buffer> {
  const limit = conn.options.maxQueuedMessages;
  return new Inbox<Buffer>({
    describe: () => `Receive from ${conn.peer}`,
    onTake: (remaining) => {
      if (remaining <= limit / 2 && conn.socket.isPaused() && conn.state === 'open') conn.socket.resume();
    },
  });
}

/** `receive()`: one message, or the reason there will be none. */
async function receiveOne(conn: TcpConnection, readers: Readers, options: ReceiveOptions): Promise<Buffer> {
  const { inbox } = readers;
  const message = await inbox.take(options);
  if (message !== undefined) return message;
  readers.sawEnd();
  throw inbox.error ?? new SocklabError('SL_ERR_CONNECTION_CLOSED', `Cannot receive from ${conn.peer}: ${conn.peerEnded ? 'the peer finished sending' : 'the connection is closed'}`);
}

/**
 * A `messages()` loop over the shared inbox. Leaving it early (`break`) closes the connection, as it does for a
 * Node stream; reaching its end tells the connection, which then closes if the peer has finished.
 */
function messageLoop(conn: TcpConnection, readers: Readers, options: MessagesOptions = {}): AsyncIterableIterator<Buffer> {
  const { inbox } = readers;
  const signal = checkSignal(options.signal);
  if (options.throwOnError !== undefined && typeof options.throwOnError !== 'boolean') {
    throw new TypeError(`throwOnError must be a boolean, got ${typeof options.throwOnError}`);
  }
  const throwOnError = options.throwOnError === true;
  let done = false;
  readers.loops++;
  const finish = (): void => {
    if (done) return;
    done = true;
    readers.loops--;
  };
  const iterator: AsyncIterableIterator<Buffer> = {
    async next(): Promise<IteratorResult<Buffer, undefined>> {
      if (done) return { value: undefined, done: true };
      let message: Buffer | undefined;
      try {
        message = await inbox.take(signal === undefined ? {} : { signal });
      } catch (err) {
        // An aborted loop is over (for await calls no return() when next() rejects): it no longer holds the connection.
        finish();
        throw err;
      }
      if (message !== undefined) return { value: message, done: false };
      finish();
      // The next turn of the event loop: a reply sent right after the loop, before any await, still goes out.
      setImmediate(() => readers.sawEnd());
      if (throwOnError && inbox.error) throw inbox.error;
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<Buffer, undefined>> {
      if (!done) {
        finish();
        void conn.close();
      }
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
