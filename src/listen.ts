import { readFileSync } from 'node:fs';
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
    server.once('error', (err: NodeJS.ErrnoException) => {
      const port = err.code === 'EADDRINUSE' && options.path === undefined ? options.port : undefined;
      reject(bindError(where, err, port === undefined ? undefined : tcpPortUse(port)));
    });
    server.listen(options, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
}

/** Linux's TCP states, as /proc/net/tcp writes them (include/net/tcp_states.h). */
const TCP_LISTEN = '0A';

/**
 * What holds a TCP port on this machine, from /proc/net/tcp and tcp6 (Linux): a listener, or only connections
 * (TIME-WAIT and the other closing states) of a server that is gone. Another OS, or a /proc we cannot read:
 * undefined, and the message stays general.
 *
 * @example tcpPortUse(12345) // 'time-wait' a minute after a Python server without SO_REUSEADDR exited
 */
export function tcpPortUse(port: number): 'listening' | 'time-wait' | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let states: string[] = [];
  try {
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        // "  sl  local_address rem_address   st …": the local port is after the colon, the state is field 4.
        const fields = line.trim().split(/\s+/);
        if (fields.length > 3 && fields[1]!.endsWith(`:${hex}`)) states.push(fields[3]!);
      }
    }
  } catch {
    states = [];
  }
  if (states.includes(TCP_LISTEN)) return 'listening';
  return states.length > 0 ? 'time-wait' : undefined;
}
