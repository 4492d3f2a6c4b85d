import { createServer, type ListenOptions, type Server } from 'node:net';
import { formatEndpoint } from './address.js';
import { bindError } from './errors.js';
import type { ResolvedTlsServerOptions } from './tls/options.js';
import { createTlsListener } from './tls/server.js';
import { formatSocketPath, prepareSocketPath } from './unix/socket-path.js';

/** Where a stream listener binds: a host and port, or a UNIX socket path (as {@link toSocketPath} returns it). */
export interface ListenTarget {
  host: string;
  port: number;
  path?: string | undefined;
  /** Omitted: Node's default. */
  backlog?: number | undefined;
}

/**
 * Creates a stream listener (TLS when `tls` is given, else plaintext and half-open capable) and binds it. A stale
 * UNIX socket file is replaced first and a live one refused; a failed bind rejects with the {@link bindError}
 * that names the address. The TCP server and the TCP proxy both listen through here, so they fail alike.
 */
export async function bindStreamListener(target: ListenTarget, tls: ResolvedTlsServerOptions | undefined, options: { pauseOnConnect: boolean }): Promise<Server> {
  const { host, port, path, backlog } = target;
  if (path !== undefined) await prepareSocketPath(path);
  const server = tls ? createTlsListener(tls) : createServer({ allowHalfOpen: true, pauseOnConnect: options.pauseOnConnect });
  const where = path === undefined ? formatEndpoint({ address: host, port }) : formatSocketPath(path);
  await listenOn(server, path === undefined ? { host, port, backlog } : { path, backlog }, where);
  return server;
}

/** Binds any node:net server (HTTP included); a failed bind rejects with the {@link bindError} naming `where`. */
export function listenOn(server: Server, options: ListenOptions, where: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(bindError(where, err)));
    server.listen(options, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
}
