import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import { formatEndpoint, socketEndpoint, type Endpoint } from '../address.js';
import { createDecoder, encodeMessage, type MessageDecoder } from '../codec/framing.js';
import { FrameTooLargeError, SocklabError, connectionError } from '../errors.js';
import { resolveConnectionOptions, type ConnectionOptions, type ResolvedConnectionOptions } from './_connection-options.js';
import { kAppState, kHooks, kOwner, type ConnectionHooks, type ConnectionOwner } from './_hooks.js';
import { Readers, closeAfterPeerEnd, type MessagesOptions, type ReceiveOptions } from './_message-queue.js';
import { connectionTls, type ConnectionTls } from './_connection-tls.js';
import { drained, guardOutput } from './_output-guard.js';
import { RareState, destroySocket, peerEndpoint, type ConnectionStats } from './_connection-state.js';
import { IdleSweeper, type IdleMember } from './idle-sweeper.js';
import { closeIdle, hasListeners, inheritLazyEmitter, sendClosedError, slowSenderError, type ConnectionEvents, type ConnectionState } from './_connection-events.js';

export { resolveConnectionOptions, type ConnectionOptions } from './_connection-options.js';
export type { ConnectionStats } from './_connection-state.js';
export type { MessagesOptions, ReceiveOptions } from './_message-queue.js';
export type { ConnectionTls } from './_connection-tls.js';
export type { ConnectionEvents, ConnectionState } from './_connection-events.js';

const debug = debuglog('socklab');

const kConnection = Symbol('socklab.connection');
type OwnedSocket = Socket & { [kConnection]: TcpConnection };

let startReading: (connection: TcpConnection) => void;
// The interface adds EventEmitter's typed methods to the class (the prototype is set in the static block).
export interface TcpConnection extends EventEmitter<ConnectionEvents> {}
/** @internal close() without the `closed` promise, for socklab's own servers, which never await it (BENCHMARKS.md). */
export let closeConnection: (connection: TcpConnection) => void;
/**
 * One TCP connection that speaks in messages. Reading starts when the first `'message'` listener is added,
 * or `messages()` or `receive()` is called, so no message is lost between accept and the handler. After the
 * peer's FIN the connection closes itself once its reader is done (docs/library-guide.md, "Who closes when").
 *
 * @example
 * await using server = await listenTcp({ port: 0 });
 * server.on('connection', (c) => c.on('message', (m) => void (c.send(`echo ${m}`), c.close())));
 * const conn = await connectTcp({ host: '127.0.0.1', port: server.address().port });
 * conn.send('hello');
 * for await (const reply of conn.messages()) console.log(reply.toString()); // "echo hello"; the server's FIN ends the loop
 * const err = await conn.closed; // undefined, or why it ended
 */
export class TcpConnection {
  readonly socket: Socket;
  readonly options: ResolvedConnectionOptions;
  /** The peer's endpoint, kept after close. */
  readonly remote: Endpoint;

  // Per-connection state is kept small: a server may hold tens of thousands of these (BENCHMARKS.md). Handlers are
  // shared functions (the statics below); the decoder is made on the first bytes, timers and the `closed` promise in
  // RareState on first use, the listener table only when someone listens (socklab's servers use hooks, _hooks.ts).
  #state: ConnectionState = 'open';
  #decoder: MessageDecoder | undefined = undefined;
  #reading = false;
  #peerEnded = false;
  /** We sent FIN (`end()`) and may send no more. */
  #writeEnded = false;
  /** Made by the first `receive()` or `messages()`: the inbox every reader shares. */
  #readers: Readers | undefined = undefined;
  #idle: IdleSweeper<TcpConnection> | undefined = undefined;
  /** @internal The idle sweeper's tick when bytes last arrived. */
  idleTick = 0;
  /** @internal */
  idlePrev: IdleMember | undefined = undefined;
  /** @internal Links in the idle sweeper's list (idle-sweeper.ts): no Set entry per connection. */
  idleNext: IdleMember | undefined = undefined;
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
    // One shared sweeper per timeout rather than socket.setTimeout, whose timer every read and write refreshes.
    if (this.options.idleTimeoutMs !== Infinity) this.#idle = IdleSweeper.for<TcpConnection>(this.options.idleTimeoutMs, closeIdle, 'tcp').add(this);
    if (socket.destroyed) queueMicrotask(() => this.#onClose());
  }

  static #onSocketError(this: Socket, err: Error): void {
    const conn = (this as OwnedSocket)[kConnection];
    // Once we are closing, a reset only means the peer left without reading the rest (the seed's client
    // closes right after sending "quit"): that is its choice, not a failure of this connection.
    const error = connectionError(conn.peer, err);
    if (conn.#state === 'closing' && error.code === 'SL_ERR_CONNECTION_RESET') return;
    conn.#setError(error);
    debug('error on %s: %s', conn.peer, error.message);
  }

  static #onSocketClose(this: Socket): void {
    (this as OwnedSocket)[kConnection].#onClose();
  }
  static #onMessageTimeout(conn: TcpConnection): void {
    conn.#rare!.messageTimer = undefined;
    void conn.closeWithReason(slowSenderError(conn.options.messageTimeoutMs, conn.#decoder?.pendingBytes ?? 0));
  }

  static #onSocketData(this: Socket, chunk: Buffer): void {
    (this as OwnedSocket)[kConnection].#onData(chunk);
  }
  static #onSocketEnd(this: Socket): void {
    (this as OwnedSocket)[kConnection].#onEnd();
  }

  static {
    inheritLazyEmitter(this, (conn) => conn.#startReading());
    startReading = (conn) => conn.#startReading();
    closeConnection = (conn) => conn.#beginClose();
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
    return (this.#rareState().local ??= socketEndpoint(this.socket, 'local'));
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

  /** `open`, `closing` or `closed` (docs/library-guide.md). */
  get state(): ConnectionState {
    return this.#state;
  }

  /** True once the peer has half-closed (sent FIN). */
  get peerEnded(): boolean {
    return this.#peerEnded;
  }

  /** Why the connection is ending or ended, once known (what `closed` will resolve with); undefined for a clean end. */
  get error(): SocklabError | undefined {
    return this.#rare?.error;
  }

  /** The TLS session (protocol, cipher, the peer's certificate), or undefined for plaintext. */
  get tls(): ConnectionTls | undefined {
    return connectionTls(this.socket);
  }

  /**
   * Sends one message, framed (a line gets its line ending). Returns false when the kernel buffer is full:
   * `await conn.drained()` before sending more. Sends after `close()` began throw SL_ERR_CONNECTION_CLOSED.
   */
  send(message: string | Uint8Array): boolean {
    if (this.#state !== 'open' || this.#writeEnded) throw sendClosedError(this.peer, this.#state);
    return this.#write(encodeMessage(this.options.framing, message, this.options.lineEnding));
  }

  /**
   * Sends bytes that are already framed (from `encodeMessage`), for a hot path that sends the same reply over and
   * over: encode it once, send it many times. Same return value and limits as `send()`.
   * @example
   * conn.sendEncoded(encodeMessage('line', 'ping', 'lf')); // encode once, send it many times
   * console.log(`${await conn.receive({ timeoutMs: 1000 })}`); // "echo ping"
   */
  sendEncoded(frame: Uint8Array): boolean {
    if (this.#state !== 'open' || this.#writeEnded) throw sendClosedError(this.peer, this.#state);
    return this.#write(frame);
  }

  /** Resolves when queued output has been handed to the kernel (at once if nothing waits). */
  drained(): Promise<void> {
    return drained(this);
  }

  /**
   * Incoming messages, in order. Ends after the peer's FIN (then the connection closes, so replies sent in the loop
   * go out) or when it closes: `closed` tells why, or `throwOnError` throws it. Past `maxQueuedMessages` held,
   * reading pauses (TCP flow control slows the peer). Leaving the loop early (`break`) closes the connection.
   * @example
   * conn.send('a'), conn.send('b'), conn.end(); // the server answers both, then sees our FIN and closes
   * for await (const m of conn.messages({ throwOnError: true })) console.log(`${m}`); // "echo a", "echo b"; a reset would throw
   */
  messages(options?: MessagesOptions): AsyncIterableIterator<Buffer> {
    return this.#openReaders().messages(options);
  }

  /**
   * The next message (those arriving between calls wait). Rejects with SL_ERR_REPLY_TIMEOUT, SL_ERR_ABORTED, or
   * once none will come the error that ended the connection or SL_ERR_CONNECTION_CLOSED (after a FIN it then closes).
   * @example
   * conn.send('ping');
   * console.log(`${await conn.receive({ timeoutMs: 1000 })}`); // "echo ping"
   */
  receive(options: ReceiveOptions = {}): Promise<Buffer> {
    return this.#openReaders().receive(options);
  }

  /**
   * Half-close: FIN after the queued output; the peer's messages keep coming until its FIN closes the connection.
   * @example
   * conn.send('last request'), conn.end();
   * for await (const reply of conn.messages()) console.log(`${reply}`); // "echo last request", then the server's FIN
   */
  end(): void {
    if (this.#state !== 'open' || this.#writeEnded) return;
    this.#writeEnded = true;
    this.#startReading();
    this.socket.end();
  }

  /**
   * Graceful close: stops delivering messages, flushes queued output, sends FIN, and waits (up to `closeTimeoutMs`)
   * for the peer's FIN, discarding what it still sends: closing with unread input makes the kernel send RST, which
   * can destroy our last reply in flight. Safe to call any number of times.
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
    if (this.options.closeTimeoutMs === Infinity || (this.#peerEnded && this.socket.writableLength === 0)) return; // FIN in, nothing queued: Node destroys it once ours is out
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
    if (hasListeners(this)) this.emit('message', message);
    if (this.#readers !== undefined && !this.#readers.push(message)) this.socket.pause();
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
    this[kHooks]?.end.call(this);
    if (hasListeners(this)) this.emit('end');
    // With readers, the one that sees the end closes (closeAfterPeerEnd tells who closes when).
    if (this.#readers === undefined) closeAfterPeerEnd(this, undefined);
    else this.#readers.inbox.end();
  }

  #openReaders(): Readers {
    if (this.#readers === undefined) {
      this.#readers = new Readers(this);
      this.#startReading();
    }
    return this.#readers;
  }

  #setError(error: SocklabError): void {
    this.#rareState().error ??= error;
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    // Readers see the end as soon as no more messages will be delivered, with the reason if there is one.
    this.#readers?.inbox.end(this.#rare?.error);
    if (hasListeners(this)) this.emit('state', state);
  }

  #onClose(): void {
    if (this.#state === 'closed') return;
    this.#idle?.remove(this);
    const rare = this.#rare;
    if (rare !== undefined) for (const timer of [rare.closeTimer, rare.messageTimer, rare.softLimitTimer]) clearTimeout(timer);
    this.#setState('closed');
    const error = rare?.error;
    rare?.resolveClosed?.(error);
    this[kOwner]?.connectionClosed(this);
    this[kHooks]?.close.call(this, error);
    if (hasListeners(this)) this.emit('close', error);
  }
}

/** @internal Socklab's own servers follow a connection through shared hooks (_hooks.ts); starts reading. */
export function setConnectionHooks(connection: TcpConnection, hooks: ConnectionHooks): void {
  connection[kHooks] = hooks;
  startReading(connection);
}
