import { connect as netConnect, isIP, type Socket } from 'node:net';
import { formatEndpoint } from '../address.js';
import { resolveHostAll } from '../dns.js';
import { SocklabError, abortedError, connectError } from '../errors.js';
import { formatSocketPath, toSocketPath } from '../unix/socket-path.js';

/** Where and how `nc` connects (before any proxy or TLS). */
export interface DialOptions {
  host: string;
  port: number;
  /** A UNIX stream socket instead of host and port (`-U`). */
  path?: string | undefined;
  /** Only IPv4 or IPv6 addresses (`-4`, `-6`). */
  family?: 4 | 6 | undefined;
  /** Take `host` only as an IP literal, never resolve it (`-n/--nodns`). @default false */
  noDns?: boolean;
  /** Source address (`-s`) and port (`-p` in connect mode). */
  localAddress?: string | undefined;
  localPort?: number | undefined;
  /** Each address gets this long to accept (`-w`). @default Infinity */
  connectTimeoutMs?: number;
  signal?: AbortSignal | undefined;
}

/** A connected stream socket, half-open capable, and a label for it (`127.0.0.1:80`, `unix:/tmp/s`). */
export interface Dialed {
  socket: Socket;
  target: string;
}

/**
 * Opens a stream socket the way ncat does: every address of the host in the OS's order until one accepts
 * (a `localhost` that is ::1 first still reaches a server on 127.0.0.1), from the source address and port asked for.
 *
 * @throws {SocklabError} SL_ERR_RESOLVE, SL_ERR_CONNECT_REFUSED, SL_ERR_CONNECT_TIMEOUT, SL_ERR_CONNECT, SL_ERR_ABORTED
 * @example const { socket } = await dial({ host: 'localhost', port: 6379 });
 */
export async function dial(options: DialOptions): Promise<Dialed> {
  const timeoutMs = options.connectTimeoutMs ?? Infinity;
  if (options.path !== undefined) {
    const path = toSocketPath(options.path);
    const target = `unix:${formatSocketPath(path)}`;
    return { socket: await open({ path }, target, timeoutMs, options.signal), target };
  }
  if (options.noDns && isIP(options.host.replace(/^\[|\]$/g, '')) === 0) {
    throw new SocklabError('SL_ERR_RESOLVE', `Cannot resolve host "${options.host}": -n/--nodns takes IP addresses only`);
  }
  const addresses = await resolveHostAll(options.host, options.family === undefined ? {} : { family: options.family });
  let lastError: unknown;
  for (const { address } of addresses) {
    const target = formatEndpoint({ address, port: options.port });
    const local = {
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      ...(options.localPort === undefined ? {} : { localPort: options.localPort }),
    };
    try {
      return { socket: await open({ host: address, port: options.port, ...local }, target, timeoutMs, options.signal), target };
    } catch (err) {
      lastError = err;
      const code = (err as SocklabError).code;
      if (code !== 'SL_ERR_CONNECT_REFUSED' && code !== 'SL_ERR_CONNECT') throw err;
    }
  }
  throw lastError;
}

type Where = { path: string } | { host: string; port: number; localAddress?: string; localPort?: number };

function open(where: Where, target: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<Socket> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    // allowHalfOpen: after our FIN the peer may still send, and after theirs we may still owe them bytes.
    const socket = netConnect({ ...where, allowHalfOpen: true });
    const onTimeout = (): void => fail(new SocklabError('SL_ERR_CONNECT_TIMEOUT', `Cannot connect to ${target}: no answer within ${timeoutMs} ms (-w)`));
    const timer = timeoutMs === Infinity ? undefined : setTimeout(onTimeout, timeoutMs);
    const onAbort = (): void => fail(abortedError(`Connect to ${target}`, signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const fail = (error: SocklabError): void => {
      settle();
      socket.destroy();
      reject(error);
    };
    const onError = (err: Error): void => fail(connectError(target, err));
    const settle = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      settle();
      resolve(socket);
    });
  });
}
