import { FRAMINGS, type Framing } from '../codec/framing.js';
import type { LineEnding } from '../codec/lines.js';
import type { SocklabError } from '../errors.js';
import { DEFAULTS, checkCount, checkOneOf } from '../options.js';
import type { TcpConnection } from './connection.js';

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

/** {@link ConnectionOptions} validated, with every default filled in and frozen (read from `conn.options`). */
export type ResolvedConnectionOptions = Readonly<Required<Omit<ConnectionOptions, 'farewell'>>> & Pick<ConnectionOptions, 'farewell'>;

const resolvedOptions = new WeakSet<object>();
const LINE_ENDINGS: readonly LineEnding[] = ['lf', 'crlf', 'none'];

/**
 * Validates connection options once, before any socket exists. The result is frozen and can be shared by every
 * connection of a server (one object, not one per connection); passing it again returns it as it is.
 */
export function resolveConnectionOptions(options: ConnectionOptions = {}): ResolvedConnectionOptions {
  if (resolvedOptions.has(options)) return options as ResolvedConnectionOptions;
  if (options.farewell !== undefined && typeof options.farewell !== 'function') {
    throw new TypeError(`farewell must be a function (reason, connection) => string | undefined, got ${typeof options.farewell}`);
  }
  const resolved = Object.freeze({
    framing: checkOneOf('framing', options.framing ?? 'line', FRAMINGS),
    lineEnding: checkOneOf('lineEnding', options.lineEnding ?? 'lf', LINE_ENDINGS),
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
