import type { Inbox } from '../_inbox.js';
import { formatEndpoint } from '../address.js';
import { SocklabError } from '../errors.js';
import { checkCount, checkSignal } from '../options.js';
import type { Datagram, UdpEndpoint, UdpTarget } from './endpoint.js';

/** Options of `UdpEndpoint.request()`. */
export interface RequestOptions {
  /** How long each attempt waits for its reply before the request is sent again. @default 1000 */
  timeoutMs?: number;
  /** Times the request is sent again after a timeout (so `retries + 1` attempts in all). @default 0 */
  retries?: number;
  /**
   * Whether a datagram is the reply (e.g. it carries the request's id). Datagrams it refuses stay in the inbox for
   * `receive()` and `messages()`. @default any datagram from the peer the request went to
   */
  match?: (datagram: Datagram) => boolean;
  /** Rejects with SL_ERR_ABORTED when it fires. */
  signal?: AbortSignal;
  /** A bound endpoint's peer; a connected endpoint sends to its own peer and takes none. */
  to?: UdpTarget;
}

/** `request()`: send, wait for the matching reply, resend after each timeout. */
export async function requestReply(endpoint: UdpEndpoint, inbox: Inbox<Datagram>, data: string | Uint8Array, options: RequestOptions): Promise<Datagram> {
  const timeoutMs = checkCount('timeoutMs', options.timeoutMs ?? 1000, 1, true);
  const retries = checkCount('retries', options.retries ?? 0, 0);
  const signal = checkSignal(options.signal);
  if (options.match !== undefined && typeof options.match !== 'function') throw new TypeError(`match must be a function, got ${typeof options.match}`);
  const peer = endpoint.remote ?? options.to;
  if (peer === undefined) throw new TypeError('A bound UDP endpoint must name the peer of a request: request(data, { to: { address, port } })');
  const match = options.match ?? (endpoint.remote !== undefined ? () => true : (d: Datagram) => d.from.port === peer.port && sameHost(d.from.address, peer.address));
  // The overloads of send() are for callers; here the endpoint's kind was checked above.
  const send = endpoint.send as (this: UdpEndpoint, data: string | Uint8Array, to?: UdpTarget) => Promise<void>;
  for (let attempt = 0; attempt <= retries; attempt++) {
    await send.call(endpoint, data, endpoint.remote === undefined ? peer : undefined);
    try {
      const reply = await inbox.take(signal === undefined ? { timeoutMs } : { timeoutMs, signal }, match);
      if (reply === undefined) throw new SocklabError('SL_ERR_CONNECTION_CLOSED', 'Cannot wait for a reply: the UDP endpoint is closed');
      return reply;
    } catch (err) {
      if ((err as SocklabError).code !== 'SL_ERR_REPLY_TIMEOUT') throw err;
    }
  }
  const attempts = retries + 1;
  throw new SocklabError(
    'SL_ERR_REPLY_TIMEOUT',
    `No reply from ${formatEndpoint({ address: peer.address, port: peer.port })} to ${attempts} attempt${attempts === 1 ? '' : 's'} of ${timeoutMs} ms each (timeoutMs, retries)`,
  );
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one host. */
function sameHost(a: string, b: string): boolean {
  const plain = (address: string): string => address.replace(/^::ffff:/i, '').toLowerCase();
  return plain(a) === plain(b) || (b === 'localhost' && (plain(a) === '127.0.0.1' || a === '::1'));
}
