import { isIP, type Socket } from 'node:net';
import { resolveHost } from '../dns.js';
import { SocklabError } from '../errors.js';

export type ProxyType = 'socks4' | 'socks5' | 'http';
export type ProxyDns = 'local' | 'remote' | 'both' | 'none';

/** ncat's default proxy ports. */
export const PROXY_DEFAULT_PORTS: Record<ProxyType, number> = { socks4: 1080, socks5: 1080, http: 3128 };

export interface ProxyHandshake {
  type: ProxyType;
  /** Where the proxy should connect. */
  host: string;
  port: number;
  /** `user:pass` (HTTP Basic or Digest, SOCKS5 RFC 1929); for SOCKS4 the part before ':' is the user id. */
  auth?: string | undefined;
  /** Who resolves `host`. @default 'remote' (socks4: 'local', as ncat) */
  dns?: ProxyDns | undefined;
  /** The handshake must be over within this long. @default 10000 */
  timeoutMs?: number;
  /**
   * HTTP with `auth`: a new connection to the proxy. Given, the credentials are sent as ncat does: a CONNECT
   * without them first, then, on 407, a new connection answering the proxy's challenge (Digest when offered, else
   * Basic). Without it they go as Basic in the first CONNECT.
   */
  reconnect?: (() => Promise<Socket>) | undefined;
}

function proxyError(message: string): SocklabError {
  return new SocklabError('SL_ERR_PROXY', message);
}

/** Reads from a socket in steps (a handshake's fixed fields, an HTTP header); what follows is given back to the socket. */
class HandshakeReader {
  #buffered = Buffer.alloc(0);
  #waiting: (() => void) | undefined;
  #failed: Error | undefined;
  readonly #socket: Socket;
  readonly #onData = (chunk: Buffer): void => {
    this.#buffered = Buffer.concat([this.#buffered, chunk]);
    this.#waiting?.();
  };
  readonly #onEnd = (): void => {
    this.#failed = proxyError('The proxy closed the connection during the handshake');
    this.#waiting?.();
  };

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onEnd);
  }

  async #until(enough: () => number | undefined): Promise<Buffer> {
    for (;;) {
      const length = enough();
      if (length !== undefined) {
        const head = this.#buffered.subarray(0, length);
        this.#buffered = this.#buffered.subarray(length);
        return head;
      }
      if (this.#failed) throw this.#failed;
      await new Promise<void>((resolve) => (this.#waiting = resolve));
      this.#waiting = undefined;
    }
  }

  bytes(count: number): Promise<Buffer> {
    return this.#until(() => (this.#buffered.length >= count ? count : undefined));
  }

  /** Up to and with the blank line that ends an HTTP header (at most 64 KiB). */
  header(): Promise<Buffer> {
    return this.#until(() => {
      const end = this.#buffered.indexOf('\r\n\r\n');
      if (end === -1 && this.#buffered.length > 65_536) throw proxyError('The proxy sent a header over 64 KiB');
      return end === -1 ? undefined : end + 4;
    });
  }

  /** Stops reading; bytes already past the handshake go back to the socket for whoever reads next. */
  release(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('error', this.#onEnd);
    this.#socket.pause();
    if (this.#buffered.length > 0) this.#socket.unshift(this.#buffered);
  }
}

async function targetAddress(host: string, dns: ProxyDns): Promise<{ ip?: string; name?: string }> {
  if (isIP(host) !== 0) return { ip: host };
  if (dns === 'none') throw proxyError(`--proxy-dns none: "${host}" is not an IP address`);
  if (dns === 'remote') return { name: host };
  try {
    return { ip: (await resolveHost(host)).address };
  } catch (err) {
    if (dns === 'both') return { name: host };
    throw err;
  }
}

/**
 * Asks the proxy on `socket` (already connected to it) for a tunnel to `host:port`: SOCKS4/4a, SOCKS5 (RFC 1928,
 * no auth or user/password RFC 1929) or HTTP CONNECT (RFC 9110 §9.3.6, Basic or Digest auth). Resolves once the tunnel is
 * open; the socket then carries the target's bytes.
 *
 * @throws {SocklabError} SL_ERR_PROXY with the proxy's answer when it refuses
 * @example await proxyHandshake(socket, { type: 'socks5', host: 'example.com', port: 80 });
 */
export function proxyHandshake(socket: Socket, options: ProxyHandshake): Promise<Socket> {
  return handshake(socket, options, undefined);
}

/** With `authorization`: the Proxy-Authorization value for this connection's CONNECT (after a 407). */
async function handshake(socket: Socket, options: ProxyHandshake, authorization: string | undefined): Promise<Socket> {
  const reader = new HandshakeReader(socket);
  const timer = setTimeout(() => socket.destroy(proxyError(`The proxy did not open the tunnel within ${options.timeoutMs ?? 10_000} ms`)), options.timeoutMs ?? 10_000);
  try {
    const dns = options.dns ?? (options.type === 'socks4' ? 'local' : 'remote');
    if (options.type === 'http') {
      const first = authorization === undefined;
      const challenged = await httpConnect(socket, reader, options, first && !options.reconnect ? basic(options.auth) : authorization, first);
      if (challenged === undefined) return socket;
      socket.destroy();
      return await handshake(await options.reconnect!(), options, challenged);
    }
    if (options.type === 'socks5') await socks5(socket, reader, options, await targetAddress(options.host, dns));
    else await socks4(socket, reader, options, await targetAddress(options.host, dns));
    return socket;
  } finally {
    clearTimeout(timer);
    reader.release();
  }
}

const basic = (auth: string | undefined): string | undefined => (auth === undefined ? undefined : `Basic ${Buffer.from(auth).toString('base64')}`);

/**
 * One CONNECT. Resolves undefined once the tunnel is open; with credentials still to send (`reconnect`), a 407
 * resolves with the Proxy-Authorization value that answers its challenge (for the next connection).
 */
async function httpConnect(socket: Socket, reader: HandshakeReader, options: ProxyHandshake, authorization: string | undefined, mayRetry: boolean): Promise<string | undefined> {
  const authority = isIP(options.host) === 6 ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
  const auth = authorization === undefined ? '' : `Proxy-Authorization: ${authorization}\r\n`;
  socket.write(`CONNECT ${authority} HTTP/1.0\r\nHost: ${authority}\r\n${auth}\r\n`);
  const header = (await reader.header()).toString('latin1');
  const status = /^HTTP\/1\.[01] (\d{3})[^\r\n]*/.exec(header);
  if (!status) throw proxyError(`The HTTP proxy answered something else than HTTP: ${JSON.stringify(header.slice(0, 60))}`);
  if (status[1] === '407' && mayRetry && options.reconnect && options.auth !== undefined) {
    const { parseChallenges, digestAuthorization } = await import('./_http-digest.js');
    const fields = header.split('\r\n').filter((line) => /^proxy-authenticate:/i.test(line)).map((line) => line.replace(/^[^:]*:\s*/, ''));
    const challenges = parseChallenges(fields);
    const [user, password = ''] = options.auth.split(/:(.*)/s);
    const digest = challenges.find((challenge) => challenge.scheme === 'digest');
    const answer = digest && digestAuthorization(digest, user!, password, 'CONNECT', authority);
    if (answer) return answer;
    if (challenges.some((challenge) => challenge.scheme === 'basic')) return basic(options.auth);
    throw proxyError(`The HTTP proxy asks for authentication socklab nc cannot give: ${fields.join('; ') || status[0]}`);
  }
  if (status[1] !== '200') throw proxyError(`The HTTP proxy refused CONNECT ${authority}: ${status[0]}`);
  return undefined;
}

const SOCKS5_REPLIES: Record<number, string> = {
  1: 'general failure',
  2: 'not allowed by its rules',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

async function socks5(socket: Socket, reader: HandshakeReader, options: ProxyHandshake, target: { ip?: string; name?: string }): Promise<void> {
  const userPass = options.auth === undefined ? undefined : options.auth.split(/:(.*)/s);
  socket.write(Buffer.from(userPass ? [5, 2, 0, 2] : [5, 1, 0]));
  const [version, method] = await reader.bytes(2);
  if (version !== 5) throw proxyError(`The proxy does not speak SOCKS5 (version byte ${version})`);
  if (method === 2 && userPass) {
    const user = Buffer.from(userPass[0] ?? '');
    const pass = Buffer.from(userPass[1] ?? '');
    socket.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([pass.length]), pass]));
    const [, status] = await reader.bytes(2);
    if (status !== 0) throw proxyError('The SOCKS5 proxy refused the user name and password (--proxy-auth)');
  } else if (method !== 0) {
    throw proxyError(method === 0xff ? 'The SOCKS5 proxy accepts none of our authentication methods (try --proxy-auth)' : `The SOCKS5 proxy chose an unknown method ${method}`);
  }
  const port = Buffer.from([options.port >> 8, options.port & 0xff]);
  let address: Buffer;
  if (target.name !== undefined) address = Buffer.concat([Buffer.from([3, Buffer.byteLength(target.name)]), Buffer.from(target.name)]);
  else if (isIP(target.ip!) === 4) address = Buffer.from([1, ...target.ip!.split('.').map(Number)]);
  else address = Buffer.concat([Buffer.from([4]), ipv6Bytes(target.ip!)]);
  socket.write(Buffer.concat([Buffer.from([5, 1, 0]), address, port]));
  const [, reply, , type] = await reader.bytes(4);
  if (reply !== 0) throw proxyError(`The SOCKS5 proxy could not connect to ${options.host}:${options.port}: ${SOCKS5_REPLIES[reply!] ?? `reply ${reply}`}`);
  const length = type === 1 ? 4 : type === 4 ? 16 : (await reader.bytes(1))[0]!;
  await reader.bytes(length + 2);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const groups = (text: string): string[] => (text === '' ? [] : text.split(':'));
  const parts = [...groups(head), ...Array<string>(8 - groups(head).length - groups(tail).length).fill('0'), ...groups(tail)];
  return Buffer.from(parts.flatMap((part) => [parseInt(part, 16) >> 8, parseInt(part, 16) & 0xff]));
}

async function socks4(socket: Socket, reader: HandshakeReader, options: ProxyHandshake, target: { ip?: string; name?: string }): Promise<void> {
  if (target.ip !== undefined && isIP(target.ip) !== 4) throw proxyError('SOCKS4 carries IPv4 addresses only');
  const user = Buffer.from(`${(options.auth ?? '').split(':')[0]}\0`);
  // SOCKS4a: the address 0.0.0.1 says "the name follows the user id".
  const ip = target.ip === undefined ? [0, 0, 0, 1] : target.ip.split('.').map(Number);
  const name = target.name === undefined ? Buffer.alloc(0) : Buffer.from(`${target.name}\0`);
  socket.write(Buffer.concat([Buffer.from([4, 1, options.port >> 8, options.port & 0xff, ...ip]), user, name]));
  const [, status] = await reader.bytes(8);
  if (status !== 0x5a) throw proxyError(`The SOCKS4 proxy refused the connection to ${options.host}:${options.port} (status 0x${status!.toString(16)})`);
}
