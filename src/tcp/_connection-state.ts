import type { Socket } from 'node:net';
import { socketEndpoint, type Endpoint } from '../address.js';
import type { SocklabError } from '../errors.js';

/** What most connections never need: made on first use, so an idle connection does not carry it. */
export class RareState {
  error: SocklabError | undefined = undefined;
  closeTimer: NodeJS.Timeout | undefined = undefined;
  /** Runs while a started message waits for its end (messageTimeoutMs). */
  messageTimer: NodeJS.Timeout | undefined = undefined;
  /** Runs while queued output is above outputSoftLimitBytes. */
  softLimitTimer: NodeJS.Timeout | undefined = undefined;
  local: Endpoint | undefined = undefined;
  closed: Promise<SocklabError | undefined> | undefined = undefined;
  resolveClosed: ((error: SocklabError | undefined) => void) | undefined = undefined;
}

/** Counters of one connection. */
export interface ConnectionStats {
  messagesIn: number;
  messagesOut: number;
  bytesDiscarded: number;
}

/** A timer callback that needs no closure: `setTimeout(destroySocket, ms, socket)`. */
export function destroySocket(socket: Socket): void {
  socket.destroy();
}

/**
 * The peer's endpoint. Node caches it on the socket as `{ address, family, port }` (family a string since Node 18.4)
 * the first time anyone asks; using that object rather than a copy saves one object per connection.
 */
export function peerEndpoint(socket: Socket): Endpoint {
  const cached = (socket as Socket & { _getpeername?: () => Partial<Endpoint> })._getpeername?.();
  if (typeof cached?.address === 'string' && typeof cached.port === 'number' && (cached.family === 'IPv4' || cached.family === 'IPv6')) {
    return cached as Endpoint;
  }
  return socketEndpoint(socket, 'remote');
}
