import type { SocklabError } from '../errors.js';
import type { TcpConnection } from './connection.js';

/**
 * Internal: how socklab's own servers follow a connection without event listeners. An EventEmitter with
 * listeners carries a dictionary of them per connection (measured: ~350 bytes for message/end/close); a hooks
 * object is one shared value per server, so 10,000 idle clients pay one field each. Public listeners still work
 * alongside: the hook runs first, then the listeners.
 */
export interface ConnectionHooks {
  /** Like a `'message'` listener; setting hooks starts reading, as adding that listener does. */
  message(this: TcpConnection, message: Buffer): void;
  /** Like an `'end'` listener: the hooks own the half-open connection and close it when done. */
  end(this: TcpConnection): void;
  /** Like a `'close'` listener. */
  close(this: TcpConnection, error: SocklabError | undefined): void;
}

/** Internal: the server that accepted a connection, told when it closes (before any hook or listener). */
export interface ConnectionOwner {
  connectionClosed(connection: TcpConnection): void;
}

/** The hooks slot of a connection. */
export const kHooks = Symbol('socklab.hooks');
/** The owner slot of a connection. */
export const kOwner = Symbol('socklab.owner');
/** A slot the hooks' owner may use for its per-connection state (one value, kept in the connection object itself). */
export const kAppState = Symbol('socklab.appState');
