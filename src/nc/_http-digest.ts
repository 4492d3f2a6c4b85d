import { createHash, randomBytes } from 'node:crypto';

/** One challenge of a `Proxy-Authenticate` header: its scheme (lower case) and its parameters. */
export interface HttpChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * The challenges in `Proxy-Authenticate` field values (RFC 9110 §11.6.1): a scheme, then `name=token` or
 * `name="quoted"` parameters, several challenges in one field separated by commas.
 */
export function parseChallenges(values: readonly string[]): HttpChallenge[] {
  const challenges: HttpChallenge[] = [];
  for (const value of values) {
    const tokenRe = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/y;
    const paramRe = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;
    let at = 0;
    while (at < value.length) {
      tokenRe.lastIndex = at;
      const scheme = tokenRe.exec(value);
      if (!scheme) break;
      at = tokenRe.lastIndex;
      const challenge: HttpChallenge = { scheme: scheme[1]!.toLowerCase(), params: {} };
      challenges.push(challenge);
      for (;;) {
        paramRe.lastIndex = at;
        const param = paramRe.exec(value);
        // A name followed by something other than '=' starts the next challenge.
        if (!param) break;
        challenge.params[param[1]!.toLowerCase()] = param[2] === undefined ? param[3]! : param[2].replace(/\\(.)/g, '$1');
        at = paramRe.lastIndex;
      }
      if (value[at] === ',') at++;
    }
  }
  return challenges;
}

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');
const quoted = (text: string): string => `"${text.replace(/["\\]/g, '\\$&')}"`;

/**
 * The `Proxy-Authorization` value answering a Digest challenge (RFC 7616 / 2617, MD5, qop `auth` when offered,
 * else the RFC 2069 form), for one request: nonce count 00000001, as ncat sends (one CONNECT per challenge).
 * Returns undefined for a challenge it cannot answer (no nonce or realm, an algorithm other than MD5).
 */
export function digestAuthorization(challenge: HttpChallenge, user: string, password: string, method: string, uri: string, cnonce = randomBytes(8).toString('hex')): string | undefined {
  const { realm, nonce, qop, opaque, algorithm } = challenge.params;
  if (realm === undefined || nonce === undefined || (algorithm !== undefined && algorithm.toUpperCase() !== 'MD5')) return undefined;
  const auth = qop !== undefined && qop.split(',').some((item) => item.trim().toLowerCase() === 'auth');
  const nc = '00000001';
  const response = digestResponse({ user, realm, password, method, uri, nonce, ...(auth ? { nc, cnonce } : {}) });
  const fields = [`username=${quoted(user)}`, `realm=${quoted(realm)}`, `nonce=${quoted(nonce)}`, `uri=${quoted(uri)}`];
  if (auth) fields.push('qop=auth', `cnonce=${quoted(cnonce)}`, `nc=${nc}`);
  fields.push(`response=${quoted(response)}`);
  if (opaque !== undefined) fields.push(`opaque=${quoted(opaque)}`);
  if (algorithm !== undefined) fields.push(`algorithm=${algorithm}`);
  return `Digest ${fields.join(', ')}`;
}

/** The `response` of RFC 2617 §3.2.2.1 (MD5): with `nc` and `cnonce` for qop=auth, without them the RFC 2069 form. */
export function digestResponse(a: { user: string; realm: string; password: string; method: string; uri: string; nonce: string; nc?: string; cnonce?: string }): string {
  const ha1 = md5(`${a.user}:${a.realm}:${a.password}`);
  const ha2 = md5(`${a.method}:${a.uri}`);
  return a.nc !== undefined ? md5(`${ha1}:${a.nonce}:${a.nc}:${a.cnonce ?? ''}:auth:${ha2}`) : md5(`${ha1}:${a.nonce}:${ha2}`);
}
