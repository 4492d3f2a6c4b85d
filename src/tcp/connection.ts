import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import { AsyncQueue } from '../_async-queue.js';
import { formatEndpoint, socketEndpoint, type Endpoint } from '../address.js';
import { createDecoder, encodeMessage, type Framing, type MessageDecoder } from '../codec/framing.js';
import type { LineEnding } from '../codec/lines.js';
import { FrameTooLargeError, SocklabError, connectionError } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';
import { IdleSweeper } from './idle-sweeper.js';

const debug = debuglog('socklab');

/** Options shared by client and server connections. Every limit has a finite default in {@link DEFAULTS}. */
export interface ConnectionOptions {
  /** How the byte stream is cut into messages. @default 'line' */
  framing?: Framing;
  /** Terminator `send()` appends to line messages. @default 'lf' */
  lineEnding?: LineEnding;
  /** Largest incoming message. @default DEFAULTS.maxMessageBytes */
  maxMessageBytes?: number;
  /** Output queued for a peer that does not read before it is cut off. @default DEFAULTS.maxBufferedBytes */
  maxBufferedBytes?: number;
  /** Messages held for a slow `messages()` consumer before reading pauses. @default DEFAULTS.maxQueuedMessages */
  maxQueuedMessages?: number;
  /**
   * Silence (no bytes in) after which the connection is closed with SL_ERR_IDLE_TIMEOUT: checked by a sweep shared
   * by all connections, so the close comes between this and 1.25 times this. @default Infinity (servers: DEFAULTS.idleTimeoutMs)
   */
  idleTimeoutMs?: number;
  /**
   * Once a message has started to arrive, the time its end may take before the connection is closed with
   * SL_ERR_SLOW_SENDER. @default Infinity (servers: DEFAULTS.messageTimeoutMs)
   */
  messageTimeoutMs?: number;
  /** Output queued above this is tolerated only for `outputSoftLimitMs`. @default DEFAULTS.outputSoftLimitBytes */
  outputSoftLimitBytes?: number;
  /** @default DEFAULTS.outputSoftLimitMs */
  outputSoftLimitMs?: number;
  /** How long `close()` waits for the peer to finish before destroying. @default DEFAULTS.closeTimeoutMs */
  closeTimeoutMs?: number;
  /**
   * A last line told to the peer when the connection is closed for a protocol error (too long, idle). Called
   * while the connection is still open, so it may send something first.
   */
  farewell?: (reason: SocklabError, connection: TcpConnection) => string | undefined;
}

type ResolvedConnectionOptions = Readonly<Required<Omit<ConnectionOptions, 'farewell'>>> & Pick<ConnectionOptions, 'farewell'>;

const resolvedOptions = new WeakSet<object>();

/**
 * Validates connection options once, before any socket exists. The result is frozen and can be shared by every
 * connection of a server (one object, not one per connection); passing it again returns it as it is.
 */
export function resolveConnectionOptions(options: ConnectionOptions = {}): ResolvedConnectionOptions {
  if (resolvedOptions.has(options)) return options as ResolvedConnectionOptions;
  const resolved = Object.freeze({
    framing: options.framing ?? 'line',
    lineEnding: options.lineEnding ?? 'lf',
    maxMessageBytes: checkCount('maxMessageBytes', options.maxMessageBytes ?? DEFAULTS.maxMessageBytes, 1, true),
    maxBufferedBytes: checkCount('maxBufferedBytes', options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes, 1, true),
    maxQueuedMessages: checkCount('maxQueuedMessages', options.maxQueuedMessages ?? DEFAULTS.maxQueuedMessages, 1, true),
    idleTimeoutMs: checkCount('idleTimeoutMs', options.idleTimeoutMs ?? Infinity, 1, true),
    messageTimeoutMs: checkCount('messageTimeoutMs', options.messageTimeoutMs ?? Infinity, 1, true),
    outputSoftLimitBytes: checkCount('outputSoftLimitBytes', options.outputSoftLimitBytes ?? DEFAULTS.outputSoftLimitBytes, 1, true),
    outputSoftLimitMs: checkCount('outputSoftLimitMs', options.outputSoftLimitMs ?? DEFAULTS.outputSoftLimitMs, 1, true),
    closeTimeoutMs: checkCount('closeTimeoutMs', options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs, 0, true),
    farewell: options.farewell,
  });
  resolvedOptions.add(resolved);
  return resolved;
}

const kOwner = Symbol('socklab.connection');
type OwnedSocket = Socket & { [kOwner]: TcpConnection };

/** `open` → `closing` (we or the peer started to close) → `closed`. */
export type ConnectionState = 'open' | 'closing' | 'closed';

interface ConnectionEvents {
  message: [message: Buffer];
  /**
   * The peer finished sending (FIN). If anyone listens for this, replies can still be sent until they call
   * `close()`; with no listener, the connection closes itself after the peer's FIN.
   */
  end: [];
  state: [state: ConnectionState];
  close: [error: SocklabError | undefined];
  newListener: [event: string | symbol, listener: unknown];
}

/**
 * One TCP connection that speaks in messages. Reading starts when the first `'message'` listener is added
 * or `messages()` is called, so no message is lost between accept and the handler.
 *
 * @example
 * const conn = await connectTcp({ port });
 * conn.send('hello');
 * for await (const reply of conn.messages()) console.log(reply.toString());
 * const err = await conn.closed; // undefined, or why it ended
 */
export class TcpConnection extends EventEmitter<ConnectionEvents> {
  readonly socket: Socket;
  readonly options: ResolvedConnectionOptions;
  /** The peer's endpoint, kept after close. */
  readonly remote: Endpoint;
  readonly stats = { messagesIn: 0, messagesOut: 0, bytesDiscarded: 0 };

  // Per-connection state is kept small: a server may hold tens of thousands of these. Handlers are shared
  // functions (see the statics below), `local` and `closed` are made only when asked for.
  #state: ConnectionState = 'open';
  #decoder: MessageDecoder;
  #reading = false;
  #peerEnded = false;
  #error: SocklabError | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  #idle: IdleSweeper<TcpConnection> | undefined;
  /** @internal The idle sweeper's tick when bytes last arrived. */
  idleTick = 0;
  /** Runs while a started message waits for its end (messageTimeoutMs). */
  #messageTimer: NodeJS.Timeout | undefined;
  /** Runs while queued output is above outputSoftLimitBytes. */
  #softLimitTimer: NodeJS.Timeout | undefined;
  #local: Endpoint | undefined;
  #closed: Promise<SocklabError | undefined> | undefined;
  #resolveClosed: ((error: SocklabError | undefined) => void) | undefined;

  constructor(socket: Socket, options: ConnectionOptions = {}) {
    super();
    this.socket = socket;
    this.options = resolveConnectionOptions(options);
    this.remote = socketEndpoint(socket, 'remote');
    this.#decoder = createDecoder(this.options.framing, this.options.maxMessageBytes);
    (socket as OwnedSocket)[kOwner] = this;
    // Request/response traffic: Nagle plus the peer's delayed ACK would hold each small reply ~40 ms.
    socket.setNoDelay(true);
    // Without an 'error' listener a peer's RST would crash the whole process.
    socket.on('error', TcpConnection.#onSocketError);
    socket.on('close', TcpConnection.#onSocketClose);
    if (this.options.idleTimeoutMs !== Infinity) {
      // One shared sweeper per timeout rather than socket.setTimeout, whose timer every read and write refreshes.
      this.#idle = IdleSweeper.for(this.options.idleTimeoutMs, TcpConnection.#onIdle, 'tcp');
      this.#idle.add(this);
    }
    this.on('newListener', TcpConnection.#onNewListener);
    if (socket.destroyed) queueMicrotask(() => this.#onClose());
  }

  static #onSocketError(this: Socket, err: Error): void {
    const conn = (this as OwnedSocket)[kOwner];
    // Once we are closing, a reset only means the peer left without reading the rest (the seed's client
    // closes right after sending "quit"): that is its choice, not a failure of this connection.
    const error = connectionError(conn.peer, err);
    if (conn.#state === 'closing' && error.code === 'SL_ERR_CONNECTION_RESET') return;
    conn.#fail(error);
  }

  static #onSocketClose(this: Socket): void {
    (this as OwnedSocket)[kOwner].#onClose();
  }

  static #onIdle(conn: TcpConnection): void {
    const ms = conn.options.idleTimeoutMs;
    void conn.closeWithReason(new SocklabError('SL_ERR_IDLE_TIMEOUT', `Connection idle for ${ms} ms: idleTimeoutMs is ${ms}`));
  }

  static #onMessageTimeout(conn: TcpConnection): void {
    conn.#messageTimer = undefined;
    const ms = conn.options.messageTimeoutMs;
    void conn.closeWithReason(
      new SocklabError('SL_ERR_SLOW_SENDER', `Message incomplete after ${ms} ms (${conn.#decoder.pendingBytes} bytes so far): messageTimeoutMs is ${ms}`),
    );
  }

  static #onSoftLimitTimeout(conn: TcpConnection): void {
    conn.#softLimitTimer = undefined;
    const queued = conn.socket.writableLength;
    if (queued <= conn.options.outputSoftLimitBytes || conn.#state === 'closed') return;
    conn.destroy(
      new SocklabError(
        'SL_ERR_OUTPUT_OVERFLOW',
        `Peer ${conn.peer} is reading too slowly: ${queued} bytes queued for over ${conn.options.outputSoftLimitMs} ms (outputSoftLimitBytes is ${conn.options.outputSoftLimitBytes})`,
      ),
    );
  }

  static #onSocketDrain(this: Socket): void {
    const conn = (this as OwnedSocket)[kOwner];
    clearTimeout(conn.#softLimitTimer);
    conn.#softLimitTimer = undefined;
  }

  static #onSocketData(this: Socket, chunk: Buffer): void {
    (this as OwnedSocket)[kOwner].#onData(chunk);
  }

  static #onSocketEnd(this: Socket): void {
    (this as OwnedSocket)[kOwner].#onEnd();
  }

  static #onNewListener(this: TcpConnection, event: string | symbol): void {
    if (event === 'message') this.#startReading();
  }

  /** Our endpoint, read from the socket on first use (so read it while the connection is open). */
  get local(): Endpoint {
    this.#local ??= socketEndpoint(this.socket, 'local');
    return this.#local;
  }

  /** Resolves once the socket is fully closed: with undefined, or the error that ended the connection. */
  get closed(): Promise<SocklabError | undefined> {
    if (this.#closed === undefined) {
      this.#closed =
        this.#state === 'closed' ? Promise.resolve(this.#error) : new Promise((resolve) => (this.#resolveClosed = resolve));
    }
    return this.#closed;
  }

  /** The peer as `address:port`, for logs. */
  get peer(): string {
    return formatEndpoint(this.remote);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** True once the peer has half-closed (sent FIN). */
  get peerEnded(): boolean {
    return this.#peerEnded;
  }

  /**
   * Sends one message, framed (a line gets its line ending). Returns false when the kernel buffer is full:
   * `await conn.drained()` before sending more. Sends after `close()` began throw SL_ERR_CONNECTION_CLOSED.
   */
  send(message: string | Uint8Array): boolean {
    if (this.#state !== 'open') {
      throw new SocklabError('SL_ERR_CONNECTION_CLOSED', `Cannot send to ${this.peer}: the connection is ${this.#state}`);
    }
    return this.#write(encodeMessage(this.options.framing, message, this.options.lineEnding));
  }

  /**
   * Sends bytes that are already framed (from `encodeMessage`), for a hot path that sends the same reply over and
   * over: encode it once, send it many times. Same return value and limits as `send()`.
   * @example const reply = encodeMessage('line', 'ok', 'lf'); conn.on('message', () => conn.sendEncoded(reply));
   */
  sendEncoded(frame: Uint8Array): boolean {
    if (this.#state !== 'open') {
      throw new SocklabError('SL_ERR_CONNECTION_CLOSED', `Cannot send to ${this.peer}: the connection is ${this.#state}`);
    }
    return this.#write(frame);
  }

  /** Resolves when queued output has been handed to the kernel (at once if nothing waits). */
  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.#state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.on('close', done);
    });
  }

  /**
   * Incoming messages, in order. Ends when the peer half-closes or the connection closes; `await closed`
   * tells why. At most `maxQueuedMessages` are held: past that, reading pauses (TCP flow control then slows
   * the peer). Leaving the loop early (`break`) closes the connection, as it does for a Node stream.
   */
  messages(): AsyncIterableIterator<Buffer> {
    const limit = this.options.maxQueuedMessages;
    const onMessage = (message: Buffer): void => {
      queue.push(message);
      if (queue.size >= limit) this.socket.pause();
    };
    const onFinish = (): void => queue.end();
    const queue = new AsyncQueue<Buffer>({
      onTake: (remaining) => {
        if (remaining <= limit / 2 && this.socket.isPaused() && this.#state === 'open') this.socket.resume();
      },
      onDone: (early) => {
        this.off('message', onMessage);
        this.off('end', onFinish);
        this.off('close', onFinish);
        if (early) void this.close();
      },
    });
    this.on('end', onFinish);
    this.on('close', onFinish);
    this.on('message', onMessage);
    if (this.#peerEnded || this.#state === 'closed') queue.end();
    return queue;
  }

  /**
   * Graceful close: stops delivering messages, flushes queued output, sends FIN, and waits (up to
   * `closeTimeoutMs`) for the peer to finish, discarding what it still sends. Reading until the peer's FIN
   * matters: closing with unread input makes the kernel send RST, which can destroy our last reply in
   * flight. Safe to call any number of times.
   */
  close(): Promise<SocklabError | undefined> {
    if (this.#state === 'open') {
      this.#setState('closing');
      this.socket.end();
      this.#startReading();
      if (this.socket.isPaused()) this.socket.resume();
      if (this.options.closeTimeoutMs !== Infinity) {
        this.#closeTimer = setTimeout(() => this.socket.destroy(), this.options.closeTimeoutMs);
        this.#closeTimer.unref();
      }
    }
    return this.closed;
  }

  /** Tells the peer why (through `farewell`), then closes gracefully; `closed` resolves with `reason`. */
  closeWithReason(reason: SocklabError): Promise<SocklabError | undefined> {
    if (this.#state !== 'open') return this.closed;
    this.#error ??= reason;
    debug('closing %s: %s', this.peer, reason.code);
    const last = this.options.farewell?.(reason, this);
    if (last !== undefined && !this.socket.destroyed) this.#write(encodeMessage(this.options.framing, last, this.options.lineEnding), false);
    return this.close();
  }

  /** Immediate close: drops queued output; the peer sees RST if it still had data in flight. Idempotent. */
  destroy(error?: SocklabError): void {
    if (error) this.#error ??= error;
    if (this.#state === 'open') this.#setState('closing');
    this.socket.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #write(bytes: Uint8Array, enforceCap = true): boolean {
    this.stats.messagesOut++;
    const flushed = this.socket.write(bytes);
    if (!enforceCap) return flushed;
    const queued = this.socket.writableLength;
    if (queued > this.options.outputSoftLimitBytes && this.#softLimitTimer === undefined && this.options.outputSoftLimitMs !== Infinity) {
      // Past the soft limit write() has returned false, so 'drain' will fire once the peer catches up.
      this.#softLimitTimer = setTimeout(TcpConnection.#onSoftLimitTimeout, this.options.outputSoftLimitMs, this);
      this.socket.once('drain', TcpConnection.#onSocketDrain);
    }
    if (queued > this.options.maxBufferedBytes) {
      this.destroy(
        new SocklabError(
          'SL_ERR_OUTPUT_OVERFLOW',
          `Peer ${this.peer} is not reading: ${this.socket.writableLength} bytes queued, maxBufferedBytes is ${this.options.maxBufferedBytes}`,
        ),
      );
      return false;
    }
    return flushed;
  }

  #startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.socket.on('data', TcpConnection.#onSocketData);
    this.socket.on('end', TcpConnection.#onSocketEnd);
  }

  #onData(chunk: Buffer): void {
    if (this.#idle) this.idleTick = this.#idle.tick;
    if (this.#state !== 'open') {
      this.stats.bytesDiscarded += chunk.length;
      return;
    }
    let messages: Buffer[];
    let tooLarge: FrameTooLargeError | undefined;
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      // The messages completed before the oversized one still get delivered (and answered), then we close.
      tooLarge = err as FrameTooLargeError;
      messages = tooLarge.decoded ?? [];
    }
    if (this.options.messageTimeoutMs !== Infinity) this.#watchMessageProgress(messages.length > 0);
    // Replies written while handling one read leave in one writev instead of one syscall each. Corking has a
    // cost of its own (the buffered write path), so only when a read carries several messages.
    const cork = messages.length > 1;
    if (cork) this.socket.cork();
    for (const message of messages) {
      if (this.#state !== 'open') {
        this.stats.bytesDiscarded += message.length;
        continue;
      }
      this.stats.messagesIn++;
      this.emit('message', message);
    }
    if (cork) this.socket.uncork();
    if (tooLarge) void this.closeWithReason(tooLarge);
  }

  /** Starts the slow-sender clock when a message begins, restarts it when one completes, stops it when none is pending. */
  #watchMessageProgress(completedOne: boolean): void {
    const pending = this.#decoder.pendingBytes > 0;
    if (this.#messageTimer !== undefined && (completedOne || !pending)) {
      clearTimeout(this.#messageTimer);
      this.#messageTimer = undefined;
    }
    if (pending && this.#messageTimer === undefined) {
      this.#messageTimer = setTimeout(TcpConnection.#onMessageTimeout, this.options.messageTimeoutMs, this);
    }
  }

  #onEnd(): void {
    this.#peerEnded = true;
    if (this.#state === 'open') {
      let tail: Buffer[] = [];
      try {
        tail = this.#decoder.end();
      } catch (err) {
        this.closeWithReason(err as SocklabError);
      }
      for (const message of tail) {
        this.stats.messagesIn++;
        this.emit('message', message);
      }
    }
    // Whoever listens for 'end' (messages() does) owns the half-open connection and closes it when done
    // replying; with nobody listening, nobody would, so close now.
    const owned = this.listenerCount('end') > 0;
    this.emit('end');
    if (!owned) void this.close();
  }

  #fail(error: SocklabError): void {
    this.#error ??= error;
    debug('error on %s: %s', this.peer, error.message);
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  #onClose(): void {
    if (this.#state === 'closed') return;
    clearTimeout(this.#closeTimer);
    this.#idle?.remove(this);
    clearTimeout(this.#messageTimer);
    clearTimeout(this.#softLimitTimer);
    this.#setState('closed');
    this.#resolveClosed?.(this.#error);
    this.emit('close', this.#error);
  }
}
