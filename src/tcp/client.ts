import { connect as netConnect, type Socket } from 'node:net';
import { formatEndpoint } from '../address.js';
import { resolveHostAll } from '../dns.js';
import { SocklabError, abortedError, connectError } from '../errors.js';
import { DEFAULTS, checkCount, checkHost, checkOneOf, checkPort, checkSignal } from '../options.js';
import { startTlsClient } from '../tls/client.js';
import { resolveTlsClientOptions, type TlsClientOptions } from '../tls/options.js';
import { formatSocketPath, toSocketPath } from '../unix/socket-path.js';
import { setTlsVerification } from './_connection-tls.js';
import { TcpConnection, resolveConnectionOptions, type ConnectionOptions } from './connection.js';

/** Where to connect: a TCP `port` (on `host`), or a UNIX socket `path`. */
export type ConnectTarget =
  | {
      /** Host name or IP literal. @default 'localhost' */
      host?: string;
      port: number;
      path?: undefined;
    }
  | {
      /** A UNIX domain socket at this path (`@name`: a Linux abstract name). */
      path: string;
      host?: undefined;
      port?: undefined;
    };

/** Options of {@link connectTcp}: a target (`port`, or `path`) and the connection's options. */
export type ConnectOptions = ConnectTarget & ConnectClientOptions;

/** What {@link connectTcp} takes besides the target. */
export interface ConnectClientOptions extends ConnectionOptions {
  /** Only IPv4 (4) or IPv6 (6) addresses. @default either */
  family?: 4 | 6;
  /** Fails with SL_ERR_CONNECT_TIMEOUT after this long. @default DEFAULTS.connectTimeoutMs */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Speak TLS over the connection: `true` for the defaults (the server's certificate verified against Node's CA
   * list and the host name), or {@link TlsClientOptions}. The connection API and limits are the same.
   */
  tls?: boolean | TlsClientOptions;
}

/**
 * Resolves `host`, then opens a TCP connection to the first of its addresses that accepts. Each way this can fail has its own code:
 * SL_ERR_RESOLVE, SL_ERR_CONNECT_REFUSED, SL_ERR_CONNECT_TIMEOUT, SL_ERR_CONNECT, SL_ERR_ABORTED, and with `tls` the
 * SL_ERR_TLS_* codes (README, error table).
 *
 * @example
 * await using conn = await connectTcp({ host: 'localhost', port }); // `port`: a server that answers "echo <message>"
 * conn.send('ack');
 * console.log(`${await conn.receive({ timeoutMs: 1000 })}`); // "echo ack"
 */
export async function connectTcp(options: ConnectOptions): Promise<TcpConnection> {
  if (typeof options !== 'object' || options === null) throw new TypeError('connectTcp needs an options object with a port or a path');
  const timeoutMs = checkCount('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs, 1, true);
  resolveConnectionOptions(options);
  const signal = checkSignal(options.signal);
  const tls = options.tls ? resolveTlsClientOptions(options.tls) : undefined;
  const connection = (socket: Socket): TcpConnection => {
    if (tls) setTlsVerification(socket, tls.fingerprint !== undefined ? 'fingerprint' : tls.insecure ? 'insecure' : 'ca');
    return new TcpConnection(socket, options);
  };
  if (options.path !== undefined) {
    if (options.port !== undefined || options.host !== undefined) throw new TypeError('connectTcp takes a path or a host and port, not both');
    const path = toSocketPath(options.path);
    const target = formatSocketPath(path);
    if (signal?.aborted) throw abortedError(`Connect to ${target}`, signal);
    const socket = await openSocket({ path }, target, timeoutMs, signal);
    // Over a socket file there is no host name to check: the certificate is verified against `servername`, or pinned.
    return connection(tls ? await startTlsClient(socket, tls, tls.servername ?? 'localhost', target, signal) : socket);
  }
  if (options.port === undefined) throw new TypeError('connectTcp needs a port (or a path for a UNIX socket)');
  const port = checkPort('port', options.port);
  const host = checkHost('host', options.host ?? 'localhost');
  const family = options.family === undefined ? undefined : checkOneOf('family', options.family, [4, 6] as const);
  if (signal?.aborted) throw abortedError(`Connect to ${host}:${port}`, signal);
  const addresses = await resolveHostAll(host, family === undefined ? {} : { family });
  if (signal?.aborted) throw abortedError(`Connect to ${host}:${port}`, signal);
  // Try each address in the OS's order: `localhost` is often ::1 first while a server listens on 127.0.0.1 only.
  let lastError: unknown;
  for (const { address } of addresses) {
    try {
      const target = formatEndpoint({ address, port });
      const socket = await openSocket({ host: address, port }, target, timeoutMs, signal);
      return connection(tls ? await startTlsClient(socket, tls, host, target, signal) : socket);
    } catch (err) {
      lastError = err;
      const code = (err as SocklabError).code;
      if (code !== 'SL_ERR_CONNECT_REFUSED' && code !== 'SL_ERR_CONNECT') throw err;
    }
  }
  throw lastError;
}

function openSocket(where: { host: string; port: number } | { path: string }, target: string, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: after the server's FIN we may still owe it data (and the reverse).
    const socket = netConnect({ ...where, allowHalfOpen: true });
    const timer =
      timeoutMs === Infinity
        ? undefined
        : setTimeout(
            () =>
              fail(
                new SocklabError('SL_ERR_CONNECT_TIMEOUT', `Cannot connect to ${target}: no answer within ${timeoutMs} ms (connectTimeoutMs)`),
              ),
            timeoutMs,
          );
    const onAbort = (): void => fail(abortedError(`Connect to ${target}`, signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
    };
    const fail = (error: SocklabError): void => {
      settle();
      socket.destroy();
      reject(error);
    };
    const onError = (err: Error): void => fail(connectError(target, err));
    socket.once('error', onError);
    socket.once('connect', () => {
      settle();
      resolve(socket);
    });
  });
}
