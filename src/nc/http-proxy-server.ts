import { createServer, type Server, type Socket } from 'node:net';
import { formatEndpoint, socketEndpoint } from '../address.js';
import type { AccessCheck } from '../access.js';
import { listenOn } from '../listen.js';
import { dial } from './dial.js';
import { ProxyAuthenticator } from './_proxy-auth.js';

/** Longest request header the proxy reads (ncat refuses overlong request lines and headers too). */
const MAX_HEADER_BYTES = 65_536;

export interface HttpProxyServerOptions {
  host?: string | undefined;
  port: number;
  family?: 4 | 6 | undefined;
  access?: AccessCheck | undefined;
  /** `user:pass` that clients must send as Proxy-Authorization, Basic or Digest (a 407 offers both, as ncat's). */
  auth?: string | undefined;
  /** Each upstream connect gets this long. @default 10000 */
  connectTimeoutMs?: number;
  onListening?: (where: string) => void;
  report?: (level: number, line: string) => void;
  signal?: AbortSignal | undefined;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 405: 'Method Not Allowed', 407: 'Proxy Authentication Required', 504: 'Gateway Timeout' };

function reply(socket: Socket, status: number, extra = ''): void {
  socket.end(`HTTP/1.0 ${status} ${STATUS_TEXT[status]}\r\n${extra}\r\n`);
}

/** `host:port`, `[v6]:port` or (for GET) a bare host with a default port. */
function parseAuthority(text: string, defaultPort: number | undefined): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/]+))(?::(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port === undefined || port < 1 || port > 65_535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

/**
 * `ncat -l --proxy-type http`: an HTTP proxy for any number of clients. `CONNECT host:port` opens a tunnel (200,
 * then bytes both ways untouched, half-close carried); `GET http://host/path` (any method with an absolute URI)
 * is forwarded with the origin-form path, `Connection: close` and the hop-by-hop headers (RFC 9110 §7.6.1)
 * removed. Runs until the signal fires.
 */
export async function runHttpProxyServer(options: HttpProxyServerOptions): Promise<void> {
  const report = options.report ?? (() => {});
  const authenticator = options.auth === undefined ? undefined : new ProxyAuthenticator(options.auth);
  const host = options.host ?? (options.family === 4 ? '0.0.0.0' : '::');
  const server: Server = createServer({ allowHalfOpen: true });
  await listenOn(server, { host, port: options.port, ipv6Only: options.host === undefined && options.family === 6 }, formatEndpoint({ address: host, port: options.port }));
  const where = formatEndpoint(server.address() as { address: string; port: number });
  report(options.port === 0 ? 0 : 1, `Listening on ${where} (HTTP proxy)`);
  options.onListening?.(where);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    const peer = socketEndpoint(socket, 'remote');
    if (options.access && !options.access(peer.address)) {
      report(1, `Connection from ${formatEndpoint(peer)} denied`);
      socket.destroy();
      return;
    }
    report(1, `Connection from ${formatEndpoint(peer)}`);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    serveClient(socket, options, authenticator).catch((err: Error) => {
      report(1, `Proxy request from ${formatEndpoint(peer)} failed: ${err.message}`);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => {
    if (options.signal?.aborted) resolve();
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  for (const socket of sockets) socket.destroy();
  server.close();
}

/** Reads one request header; the bytes after it stay unread on the socket (a tunnel's first bytes). */
function readHeader(socket: Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1 && buffered.length <= MAX_HEADER_BYTES) return;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (end === -1) return resolve(undefined);
      if (end + 4 < buffered.length) socket.unshift(buffered.subarray(end + 4));
      resolve(buffered.subarray(0, end).toString('latin1'));
    };
    const onEnd = (): void => resolve(undefined);
    socket.on('data', onData);
    socket.once('end', onEnd);
  });
}

async function serveClient(socket: Socket, options: HttpProxyServerOptions, authenticator: ProxyAuthenticator | undefined): Promise<void> {
  const header = await readHeader(socket);
  const [requestLine = '', ...fields] = (header ?? '').split('\r\n');
  const request = /^([A-Z]+) (\S+) HTTP\/(1\.[01])$/.exec(requestLine);
  if (!request) return reply(socket, 400);
  const [, method, uri, version] = request;
  if (authenticator) {
    const given = fields.find((field) => /^proxy-authorization:/i.test(field))?.replace(/^[^:]*:\s*/, '');
    const verdict = authenticator.check(given, method!);
    if (verdict !== 'ok') return reply(socket, 407, authenticator.challenge(verdict === 'stale'));
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  if (method === 'CONNECT') {
    const target = parseAuthority(uri!, undefined);
    if (!target) return reply(socket, 400);
    const upstream = await dial({ ...target, connectTimeoutMs }).catch(() => undefined);
    if (!upstream) return reply(socket, 504);
    socket.write('HTTP/1.0 200 OK\r\n\r\n');
    return tunnel(socket, upstream.socket);
  }
  const absolute = /^http:\/\/([^/?#]+)([^#]*)$/i.exec(uri!);
  if (!absolute) return reply(socket, 400);
  const target = parseAuthority(absolute[1]!, 80);
  if (!target) return reply(socket, 400);
  const upstream = await dial({ ...target, connectTimeoutMs }).catch(() => undefined);
  if (!upstream) return reply(socket, 504);
  const hopByHop = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'te', 'trailer', 'upgrade']);
  for (const field of fields) {
    const name = field.slice(0, field.indexOf(':')).trim().toLowerCase();
    if (name === 'connection') for (const listed of field.slice(field.indexOf(':') + 1).split(',')) hopByHop.add(listed.trim().toLowerCase());
  }
  const kept = fields.filter((field) => field !== '' && !hopByHop.has(field.slice(0, field.indexOf(':')).trim().toLowerCase()));
  upstream.socket.write(`${method} ${absolute[2] || '/'} HTTP/${version}\r\n${[...kept, 'Connection: close'].join('\r\n')}\r\n\r\n`);
  return tunnel(socket, upstream.socket);
}

/** Bytes both ways, with backpressure (pipe) and each side's FIN passed on to the other. */
function tunnel(client: Socket, upstream: Socket): Promise<void> {
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  return new Promise((resolve) => {
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 2) resolve();
      else setTimeout(() => (client.destroy(), upstream.destroy()), 10_000).unref();
    };
    client.once('close', onClose);
    upstream.once('close', onClose);
  });
}
