import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { unbracket } from './address.js';
import { ResolveError } from './errors.js';

/** One resolved address. */
export interface ResolvedAddress {
  address: string;
  family: 'IPv4' | 'IPv6';
}

/** Options of `resolveHost` and `resolveHostAll`. */
export interface ResolveOptions {
  /** Only IPv4 (4) or only IPv6 (6) answers. @default either */
  family?: 4 | 6;
}

/**
 * Resolves a host name the way the OS does (`/etc/hosts`, then DNS), like Python's `gethostbyname`
 * but IPv6-aware. IP literals are returned as they are, with no lookup.
 *
 * @throws {ResolveError} code `SL_ERR_RESOLVE`, with the DNS error (`ENOTFOUND`, `EAI_AGAIN`) as `cause`.
 * @example await resolveHost('localhost') // { address: '127.0.0.1', family: 'IPv4' }
 */
export async function resolveHost(host: string, options: ResolveOptions = {}): Promise<ResolvedAddress> {
  const name = unbracket(host);
  const literal = isIP(name);
  if (literal !== 0) return { address: name, family: literal === 6 ? 'IPv6' : 'IPv4' };
  try {
    const answer = await lookup(name, { family: options.family ?? 0 });
    return { address: answer.address, family: answer.family === 6 ? 'IPv6' : 'IPv4' };
  } catch (err) {
    throw new ResolveError(host, err);
  }
}

/**
 * Every address a host name resolves to, in the order the OS prefers (IP literals: just themselves).
 * @throws {ResolveError} code `SL_ERR_RESOLVE`
 * @example await resolveHostAll('localhost') // [{ address: '::1', family: 'IPv6' }, { address: '127.0.0.1', family: 'IPv4' }]
 */
export async function resolveHostAll(host: string, options: ResolveOptions = {}): Promise<ResolvedAddress[]> {
  const name = unbracket(host);
  const literal = isIP(name);
  if (literal !== 0) return [{ address: name, family: literal === 6 ? 'IPv6' : 'IPv4' }];
  try {
    const answers = await lookup(name, { family: options.family ?? 0, all: true });
    return answers.map((answer) => ({ address: answer.address, family: answer.family === 6 ? 'IPv6' : 'IPv4' }));
  } catch (err) {
    throw new ResolveError(host, err);
  }
}
