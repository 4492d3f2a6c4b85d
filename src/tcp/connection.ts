import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import { formatEndpoint, socketEndpoint, type Endpoint } from '../address.js';
import { createDecoder, encodeMessage, type MessageDecoder } from '../codec/framing.js';
import { FrameTooLargeError, SocklabError, connectionError } from '../errors.js';
import { resolveConnectionOptions, type ConnectionOptions, type ResolvedConnectionOptions } from './_connection-options.js';
import { kAppState, kHooks, kOwner, type ConnectionHooks, type ConnectionOwner } from './_hooks.js';
import { messageQueue } from './_message-queue.js';
import { drained, guardOutput } from './_output-guard.js';
import { RareState, destroySocket, peerEndpoint, type ConnectionStats } from './_connection-state.js';
import { IdleSweeper } from './idle-sweeper.js';

export { resolveConnectionOptions, type ConnectionOptions } from './_connection-options.js';
export type { ConnectionStats } from './_connection-state.js';

const debug = debuglog('socklab');

const kConnection = Symbol('socklab.connection');
type OwnedSocket = Socket & { [kConnection]: TcpConnection };

let startReading: (connection: TcpConnection) => void;
/** @internal close() without the `closed` promise, for socklab's own servers, which never await it (BENCHMARKS.md). */
export let closeConnection: (connection: TcpConnection) => void;

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
export interface TcpConnection extends EventEmitter<ConnectionEvents> {}
export class TcpConnection {
  readonly socket: Socket;
  readonly options: ResolvedConnectionOptions;
  /** The peer's endpoint, kept after close. */
  readonly remote: Endpoint;

  // Per-connection state is kept small: a server may hold tens of thousands of these (see BENCHMARKS.md for
  // what each costs). Handlers are shared functions (see the statics below); the decoder is made on the first
  // bytes, timers and the `closed` promise in RareState on first use, and the EventEmitter's listener table
  // only when someone listens (socklab's servers use hooks instead, see _hooks.ts).
  #state: ConnectionState = 'open';
  #decoder: MessageDecoder | undefined = undefined;
  #reading = false;
  #peerEnded = false;
  #idle: IdleSweeper<TcpConnection> | undefined = undefined;
  /** @internal The idle sweeper's tick when bytes last arrived. */
  idleTick = 0;
  #rare: RareState | undefined = undefined;
  #stats: ConnectionStats | undefined = undefined;
  /** @internal */
  [kHooks]: ConnectionHooks | undefined = undefined;
  /** @internal */
  [kOwner]: ConnectionOwner | undefined = undefined;
  /** @internal */
  [kAppState]: unknown = undefined;

  constructor(socket: Socket, options: ConnectionOptions = {}) {
    this.socket = socket;
    this.options = resolveConnectionOptions(options);
    this.remote = peerEndpoint(socket);
    (socket as OwnedSocket)[kConnection] = this;
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
    if (socket.destroyed) queueMicrotask(() => this.#onClose());
  }

  static #onSocketError(this: Socket, err: Error): void {
    const conn = (this as OwnedSocket)[kConnection];
    // Once we are closing, a reset only means the peer left without reading the rest (the seed's client
    // closes right after sending "quit"): that is its choice, not a failure of this connection.
    const error = connectionError(conn.peer, err);
    if (conn.#state === 'closing' && error.code === 'SL_ERR_CONNECTION_RESET') return;
    conn.#fail(error);
  }

  static #onSocketClose(this: Socket): void {
    (this as OwnedSocket)[kConnection].#onClose();
  }

  static #onIdle(conn: TcpConnection): void {
    const ms = conn.options.idleTimeoutMs;
    void conn.closeWithReason(new SocklabError('SL_ERR_IDLE_TIMEOUT', `Connection idle for ${ms} ms: idleTimeoutMs is ${ms}`));
  }

  static #onMessageTimeout(conn: TcpConnection): void {
    conn.#rare!.messageTimer = undefined;
    const ms = conn.options.messageTimeoutMs;
    void conn.closeWithReason(
      new SocklabError('SL_ERR_SLOW_SENDER', `Message incomplete after ${ms} ms (${conn.#decoder?.pendingBytes ?? 0} bytes so far): messageTimeoutMs is ${ms}`),
    );
  }

  static #onSocketData(this: Socket, chunk: Buffer): void {
    (this as OwnedSocket)[kConnection].#onData(chunk);
  }

  static #onSocketEnd(this: Socket): void {
    (this as OwnedSocket)[kConnection].#onEnd();
  }

  static {
    // An EventEmitter (instanceof, every method) without EventEmitter's constructor, which makes a listener table
    // and sets four more fields on every connection: most server connections never get a listener. Node's
    // emitter methods make the table on the first listener.
    Object.setPrototypeOf(this.prototype, EventEmitter.prototype);
    Object.setPrototypeOf(this, EventEmitter);
    startReading = (conn) => conn.#startReading();
    closeConnection = (conn) => conn.#beginClose();
    // Reading starts with the first 'message' listener, however it is added (on, once, prepend…: once and
    // prependOnceListener go through these). Overriding beats a 'newListener' listener, which would give every
    // connection a listener table.
    for (const method of ['on', 'addListener', 'prependListener'] as const) {
      const base = EventEmitter.prototype[method];
      Object.defineProperty(this.prototype, method, {
        value: function (this: TcpConnection, event: string | symbol, listener: (...args: unknown[]) => void) {
          if (event === 'message') this.#startReading();
          return base.call(this, event, listener);
        },
        writable: true,
        configurable: true,
      });
    }
  }

  /** Messages delivered and sent, and bytes discarded while closing (made on first use: idle clients have none). */
  get stats(): ConnectionStats {
    return (this.#stats ??= { messagesIn: 0, messagesOut: 0, bytesDiscarded: 0 });
  }

  #rareState(): RareState {
    return (this.#rare ??= new RareState());
  }

  /** Our endpoint, read from the socket on first use (so read it while the connection is open). */
  get local(): Endpoint {
    const rare = this.#rareState();
    rare.local ??= socketEndpoint(this.socket, 'local');
    return rare.local;
  }

  /** Resolves once the socket is fully closed: with undefined, or the error that ended the connection. */
  get closed(): Promise<SocklabError | undefined> {
    const rare = this.#rareState();
    rare.closed ??= this.#state === 'closed' ? Promise.resolve(rare.error) : new Promise((resolve) => (rare.resolveClosed = resolve));
    return rare.closed;
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
    return drained(this);
  }

  /**
   * Incoming messages, in order. Ends when the peer half-closes or the connection closes; `await closed`
   * tells why. At most `maxQueuedMessages` are held: past that, reading pauses (TCP flow control then slows
   * the peer). Leaving the loop early (`break`) closes the connection, as it does for a Node stream.
   */
  messages(): AsyncIterableIterator<Buffer> {
    return messageQueue(this);
  }

  /**
   * Graceful close: stops delivering messages, flushes queued output, sends FIN, and waits (up to
   * `closeTimeoutMs`) for the peer to finish, discarding what it still sends. Reading until the peer's FIN
   * matters: closing with unread input makes the kernel send RST, which can destroy our last reply in
   * flight. Safe to call any number of times.
   */
  close(): Promise<SocklabError | undefined> {
    this.#beginClose();
    return this.closed;
  }

  #beginClose(): void {
    if (this.#state !== 'open') return;
    this.#setState('closing');
    this.socket.end();
    this.#startReading();
    if (this.socket.isPaused()) this.socket.resume();
    // After the peer's FIN, with nothing queued, Node destroys the socket once our FIN is out: no timer to wait on.
    if (this.options.closeTimeoutMs === Infinity || (this.#peerEnded && this.socket.writableLength === 0)) return;
    this.#rareState().closeTimer = setTimeout(destroySocket, this.options.closeTimeoutMs, this.socket).unref();
  }

  /** Tells the peer why (through `farewell`), then closes gracefully; `closed` resolves with `reason`. */
  closeWithReason(reason: SocklabError): Promise<SocklabError | undefined> {
    if (this.#state !== 'open') return this.closed;
    this.#setError(reason);
    debug('closing %s: %s', this.peer, reason.code);
    const last = this.options.farewell?.(reason, this);
    if (last !== undefined && !this.socket.destroyed) this.#write(encodeMessage(this.options.framing, last, this.options.lineEnding), false);
    return this.close();
  }

  /** Immediate close: drops queued output; the peer sees RST if it still had data in flight. Idempotent. */
  destroy(error?: SocklabError): void {
    if (error) this.#setError(error);
    if (this.#state === 'open') this.#setState('closing');
    this.socket.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #write(bytes: Uint8Array, enforceCap = true): boolean {
    this.stats.messagesOut++;
    const flushed = this.socket.write(bytes);
    const queued = this.socket.writableLength;
    // The common case costs one comparison; the limits live in _output-guard.ts.
    if (enforceCap && (queued > this.options.outputSoftLimitBytes || queued > this.options.maxBufferedBytes)) {
      return guardOutput(this, this.#rareState(), queued) && flushed;
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
      this.#decoder ??= createDecoder(this.options.framing, this.options.maxMessageBytes);
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
      this.#deliver(message);
    }
    if (cork) this.socket.uncork();
    if (tooLarge) void this.closeWithReason(tooLarge);
  }

  /** Starts the slow-sender clock when a message begins, restarts it when one completes, stops it when none is pending. */
  #watchMessageProgress(completedOne: boolean): void {
    const pending = this.#decoder!.pendingBytes > 0;
    const rare = this.#rare;
    if (rare?.messageTimer !== undefined && (completedOne || !pending)) {
      clearTimeout(rare.messageTimer);
      rare.messageTimer = undefined;
    }
    if (pending && this.#rare?.messageTimer === undefined) {
      this.#rareState().messageTimer = setTimeout(TcpConnection.#onMessageTimeout, this.options.messageTimeoutMs, this);
    }
  }

  #deliver(message: Buffer): void {
    this.stats.messagesIn++;
    this[kHooks]?.message.call(this, message);
    this.emit('message', message);
  }

  #onEnd(): void {
    this.#peerEnded = true;
    if (this.#state === 'open') {
      let tail: Buffer[] = [];
      try {
        tail = this.#decoder?.end() ?? [];
      } catch (err) {
        this.closeWithReason(err as SocklabError);
      }
      for (const message of tail) this.#deliver(message);
    }
    // Whoever listens for 'end' (messages() does) owns the half-open connection and closes it when done
    // replying; with nobody listening, nobody would, so close now.
    const hooks = this[kHooks];
    const owned = hooks !== undefined || this.listenerCount('end') > 0;
    hooks?.end.call(this);
    this.emit('end');
    if (!owned) this.#beginClose();
  }

  #setError(error: SocklabError): void {
    const rare = this.#rareState();
    rare.error ??= error;
  }

  #fail(error: SocklabError): void {
    this.#setError(error);
    debug('error on %s: %s', this.peer, error.message);
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  #onClose(): void {
    if (this.#state === 'closed') return;
    this.#idle?.remove(this);
    const rare = this.#rare;
    if (rare !== undefined) {
      clearTimeout(rare.closeTimer);
      clearTimeout(rare.messageTimer);
      clearTimeout(rare.softLimitTimer);
    }
    this.#setState('closed');
    const error = rare?.error;
    rare?.resolveClosed?.(error);
    this[kOwner]?.connectionClosed(this);
    this[kHooks]?.close.call(this, error);
    this.emit('close', error);
  }
}

/**
 * @internal Lets socklab's own servers follow a connection through shared hooks instead of listeners (see
 * _hooks.ts); starts reading, as a 'message' listener would.
 */
export function setConnectionHooks(connection: TcpConnection, hooks: ConnectionHooks): void {
  connection[kHooks] = hooks;
  startReading(connection);
}
