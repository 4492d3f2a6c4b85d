import { EventEmitter } from 'node:events';
import { SocklabError } from '../errors.js';

/** `open` → `closing` (we or the peer started to close) → `closed`. */
export type ConnectionState = 'open' | 'closing' | 'closed';

/** The events of a `TcpConnection`; any other name is a type error. */
export interface ConnectionEvents {
  message: [message: Buffer];
  /**
   * The peer finished sending (FIN). A listener for this owns the half-open connection: replies can still be
   * sent until it calls `close()`. Without one, the connection closes itself (docs/library-guide.md).
   */
  end: [];
  state: [state: ConnectionState];
  close: [error: SocklabError | undefined];
}

/**
 * Makes `cls` an EventEmitter (instanceof, every method) without EventEmitter's constructor, which makes a
 * listener table and sets four more fields on every connection: most server connections never get a listener.
 * Node's emitter methods make the table on the first listener.
 */
export function inheritLazyEmitter<T extends object>(cls: { prototype: T }, onMessageListener: (instance: T) => void): void {
  Object.setPrototypeOf(cls.prototype, EventEmitter.prototype);
  Object.setPrototypeOf(cls, EventEmitter);
  // Reading starts with the first 'message' listener, however it is added (on, once, prepend…: once and
  // prependOnceListener go through these). Overriding beats a 'newListener' listener, which would give every
  // connection a listener table.
  for (const method of ['on', 'addListener', 'prependListener'] as const) {
    const base = EventEmitter.prototype[method];
    Object.defineProperty(cls.prototype, method, {
      value: function (this: T, event: string | symbol, listener: (...args: unknown[]) => void) {
        if (event === 'message') onMessageListener(this);
        return base.call(this, event, listener);
      },
      writable: true,
      configurable: true,
    });
  }
}

/**
 * Whether anyone ever listened: Node's emitter makes `_events` on the first listener. Checked before each emit, so
 * that EventEmitter's emit(), shared with every socket, is not called for connections nobody listens to (socklab's
 * servers use hooks): a call saved each, and emit()'s inline caches see one shape of object fewer.
 */
export function hasListeners(emitter: object): boolean {
  return (emitter as { _events?: object })._events !== undefined;
}

/** Why a connection silent for `ms` was closed. */
export function idleTimeoutError(ms: number): SocklabError {
  return new SocklabError('SL_ERR_IDLE_TIMEOUT', `Connection idle for ${ms} ms: idleTimeoutMs is ${ms}`);
}

/** The idle sweeper's report, shared by every connection: tell the peer why, then close gracefully. */
export function closeIdle(conn: { readonly options: { idleTimeoutMs: number }; closeWithReason(reason: SocklabError): unknown }): void {
  void conn.closeWithReason(idleTimeoutError(conn.options.idleTimeoutMs));
}

/** Why a connection whose message did not finish within `ms` was closed. */
export function slowSenderError(ms: number, pendingBytes: number): SocklabError {
  return new SocklabError('SL_ERR_SLOW_SENDER', `Message incomplete after ${ms} ms (${pendingBytes} bytes so far): messageTimeoutMs is ${ms}`);
}

/** A send after `end()` or `close()`. */
export function sendClosedError(peer: string, state: ConnectionState): SocklabError {
  return new SocklabError('SL_ERR_CONNECTION_CLOSED', `Cannot send to ${peer}: ${state === 'open' ? 'end() already sent FIN' : `the connection is ${state}`}`);
}
