import type { Socket } from 'node:net';
import type { Endpoint } from '../address.js';
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
