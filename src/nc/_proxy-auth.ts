import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { digestResponse, parseChallenges } from './_http-digest.js';

/** How long a nonce we issued is good for (ncat: 10 s). */
export const DIGEST_NONCE_EXPIRY_MS = 10_000;

const REALM = 'socklab';

/**
 * The proxy server's side of `--proxy-auth user:pass`, as ncat's: a 407 offers Basic and Digest (MD5, qop=auth);
 * a Digest nonce is `<seconds>.<microseconds>-MD5(secret:time)`, so it is checked without keeping what was
 * issued, and is stale after {@link DIGEST_NONCE_EXPIRY_MS}. Unlike ncat (which notes it cannot, being forked per
 * client), a nonce and nonce count that authenticated once are refused when sent again: replays fail.
 */
export class ProxyAuthenticator {
  readonly #user: string;
  readonly #password: string;
  readonly #basic: string;
  readonly #secret = randomBytes(16);
  /** `nonce nc` pairs that authenticated, each until its nonce expires. */
  readonly #used = new Map<string, number>();

  constructor(auth: string) {
    const [user = '', password = ''] = auth.split(/:(.*)/s);
    this.#user = user;
    this.#password = password;
    this.#basic = Buffer.from(auth).toString('base64');
  }

  /** The Proxy-Authenticate fields of a 407 (CRLF-terminated lines). */
  challenge(stale: boolean): string {
    const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const nonce = this.#nonce(`${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`);
    return `Proxy-Authenticate: Basic realm="${REALM}"\r\nProxy-Authenticate: Digest realm="${REALM}", nonce="${nonce}", qop="auth"${stale ? ', stale=true' : ''}\r\n`;
  }

  /** Checks a Proxy-Authorization value (undefined: none was sent) for a request with `method`. */
  check(value: string | undefined, method: string): 'ok' | 'stale' | 'refused' {
    if (value === undefined) return 'refused';
    const basic = /^basic\s+(\S+)\s*$/i.exec(value);
    if (basic) return basic[1] === this.#basic ? 'ok' : 'refused';
    const [credentials] = parseChallenges([value]);
    if (credentials?.scheme !== 'digest') return 'refused';
    const { username, realm, nonce, uri, response, qop, nc, cnonce, algorithm } = credentials.params;
    if (username !== this.#user || realm !== REALM || !nonce || !uri || !response) return 'refused';
    if (algorithm !== undefined && algorithm.toUpperCase() !== 'MD5') return 'refused';
    if (qop !== undefined && (qop !== 'auth' || !nc || !cnonce)) return 'refused';
    const issued = /^(\d+)\.(\d{6})-[0-9a-f]{32}$/.exec(nonce);
    if (!issued || this.#nonce(`${issued[1]}.${issued[2]}`) !== nonce) return 'refused';
    const expected = digestResponse({ user: username, realm, password: this.#password, method, uri, nonce, ...(qop ? { nc: nc!, cnonce: cnonce! } : {}) });
    if (expected.length !== response.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(response))) return 'refused';
    const now = Date.now();
    const ageMs = now - Number(issued[1]) * 1000;
    if (ageMs < -1000) return 'refused';
    if (ageMs > DIGEST_NONCE_EXPIRY_MS) return 'stale';
    for (const [key, expires] of this.#used) if (expires < now) this.#used.delete(key);
    const key = `${nonce} ${nc ?? ''}`;
    if (this.#used.has(key)) return 'refused';
    this.#used.set(key, Number(issued[1]) * 1000 + DIGEST_NONCE_EXPIRY_MS + 1000);
    return 'ok';
  }

  /** `seconds.micros-MD5(secret:seconds.micros)`: made again from its time to check one we issued. */
  #nonce(time: string): string {
    return `${time}-${createHash('md5').update(this.#secret).update(`:${time}`).digest('hex')}`;
  }
}
