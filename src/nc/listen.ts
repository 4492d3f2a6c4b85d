import { createServer, type ListenOptions, type Server, type Socket } from 'node:net';
import { formatEndpoint, socketEndpoint } from '../address.js';
import type { AccessCheck } from '../access.js';
import { ResolveError, SocklabError, bindError } from '../errors.js';
import type { ResolvedTlsServerOptions } from '../tls/options.js';
import { formatSocketPath, prepareSocketPath, toSocketPath } from '../unix/socket-path.js';
import { FanOutHub } from './hub.js';
import { LendingReader } from '../pipe/_lending-reader.js';
import { runSession, type SessionOptions } from './session.js';

/** ncat's listen port when none is given. */
export const NCAT_DEFAULT_PORT = 31337;
/** ncat's `-m/--max-conns` default. */
export const NCAT_DEFAULT_MAX_CONNS = 100;

export interface NcListenOptions {
  /** Omitted: every address, IPv4 and IPv6 (one dual-stack socket), `-4`/`-6` narrow it. */
  host?: string | undefined;
  port: number;
  /** A UNIX stream socket path (`-U`). */
  path?: string | undefined;
  family?: 4 | 6 | undefined;
  tls?: ResolvedTlsServerOptions | undefined;
  access?: AccessCheck | undefined;
  /** `-k`: serve clients until stopped; without it, one client and exit. */
  keepOpen?: boolean;
  /** `-m`: clients at once. @default NCAT_DEFAULT_MAX_CONNS */
  maxConns?: number;
  broker?: boolean;
  session: SessionOptions;
  /** Called once the socket listens (`--test` prints `NCAT TEST: LISTEN` here). */
  onListening?: (where: string) => void;
  /** Diagnostics for `-v` (level 1 = -v, 2 = -vv). */
  report?: (level: number, line: string) => void;
  signal?: AbortSignal | undefined;
}

/**
 * `ncat -l`: binds, then serves one client by ncat's EOF rules and returns (the listener is closed as soon as that
 * client is accepted, so a second one is refused), or with `keepOpen` any number of clients until the signal
 * fires (each with its own program under `exec`, or all through a {@link FanOutHub}).
 *
 * @throws {SocklabError} SL_ERR_BIND, and what the one-shot session failed with (reset, idle timeout, TLS)
 */
export async function runListen(options: NcListenOptions): Promise<void> {
  const report = options.report ?? (() => {});
  const server = await bind(options);
  const where = options.path !== undefined ? formatSocketPath(toSocketPath(options.path)) : formatEndpoint(server.address() as { address: string; port: number });
  // Port 0 asked the kernel to choose: the user needs to hear which one, -v or not.
  report(options.port === 0 && options.path === undefined ? 0 : 1, `Listening on ${where}`);
  options.onListening?.(where);
  server.maxConnections = options.maxConns ?? NCAT_DEFAULT_MAX_CONNS;
  const event = options.tls ? 'secureConnection' : 'connection';
  let closeHandshakes = (): void => {};
  let tlsFailure: ((error: SocklabError) => void) | undefined;
  const admit = (raw: Socket): boolean => {
    const peer = socketEndpoint(raw, 'remote');
    if (options.access && peer.family !== 'unix' && !options.access(peer.address)) {
      report(1, `Connection from ${formatEndpoint(peer)} denied`);
      raw.destroy();
      return false;
    }
    // A client that leaves before its handshake is over is a failed negotiation too (one-shot mode ends on it),
    // whether or not OpenSSL had enough bytes to name an error.
    if (options.tls) raw.once('close', () => tlsFailure?.(new SocklabError('SL_ERR_TLS_HANDSHAKE', `${formatEndpoint(peer)} closed before the TLS handshake finished`)));
    return true;
  };
  if (options.tls) {
    const { watchHandshakes } = await import('../tls/server.js');
    closeHandshakes = watchHandshakes(server as import('node:tls').Server, options.tls, { handshaking: 0, tlsFailures: {} }, {
      admit,
      onFailure: (error) => {
        report(1, `Failed SSL connection: ${error.message}`);
        tlsFailure?.(error);
      },
    });
  }

  try {
    if (!options.keepOpen) {
      const socket = await new Promise<Socket>((resolve, reject) => {
        tlsFailure = reject; // ncat quits after a failed handshake in one-shot mode
        server.on(event, (socket: Socket) => {
          if (!options.tls && !admit(socket)) return;
          resolve(socket);
        });
        options.signal?.addEventListener('abort', () => reject(new SocklabError('SL_ERR_ABORTED', 'Listening was aborted')), { once: true });
      });
      tlsFailure = undefined;
      // One client only: nobody else gets in while it is served.
      server.close();
      report(1, `Connection from ${formatEndpoint(socketEndpoint(socket, 'remote'))}`);
      reportAlpn(socket, options);
      await runSession(socket, options.session);
      return;
    }
    await serveMany(server, event, options, options.tls ? undefined : admit);
  } finally {
    closeHandshakes();
    server.close();
  }
}

function serveMany(server: Server, event: string, options: NcListenOptions, admit: ((socket: Socket) => boolean) | undefined): Promise<void> {
  const report = options.report ?? (() => {});
  const session = options.session;
  const hub = session.exec
    ? undefined
    : new FanOutHub({
        // The fan-out reads stdin as a stream (the CLI gives -k no LendingReader).
        input: session.input instanceof LendingReader ? undefined : session.input,
        output: session.output,
        broker: options.broker === true,
        sendOnly: session.sendOnly === true,
        recvOnly: session.recvOnly === true,
        noShutdown: session.noShutdown === true,
        crlf: session.crlf === true,
        log: session.log,
        onInputEnd: () => session.sendOnly && stop(),
        onClientClosed: (socket, error) => report(1, `Connection from ${formatEndpoint(socketEndpoint(socket, 'remote'))} closed${error ? `: ${error.message}` : ''}`),
      });
  let stop = (): void => {};
  return new Promise<void>((resolve) => {
    stop = (): void => {
      hub?.closeAll();
      server.close();
      resolve();
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    server.on(event, (socket: Socket) => {
      if (admit && !admit(socket)) return;
      report(1, `Connection from ${formatEndpoint(socketEndpoint(socket, 'remote'))}`);
      reportAlpn(socket, options);
      if (session.idleTimeoutMs !== undefined && session.idleTimeoutMs !== Infinity) {
        socket.setTimeout(session.idleTimeoutMs, () => socket.destroy());
      }
      if (hub) hub.add(socket);
      else {
        socket.on('error', () => {});
        runSession(socket, session).catch((err: Error) => report(1, `Session with ${formatEndpoint(socketEndpoint(socket, 'remote'))} failed: ${err.message}`));
      }
    });
  });
}

async function bind(options: NcListenOptions): Promise<Server> {
  // node:tls (and the certificate code behind it) is loaded only for --ssl: plain `nc -l` starts without it.
  const server = options.tls ? (await import('../tls/server.js')).createTlsListener(options.tls) : createServer({ allowHalfOpen: true });
  if (options.path !== undefined) {
    const path = toSocketPath(options.path);
    await prepareSocketPath(path);
    await listen(server, { path }, formatSocketPath(path));
    return server;
  }
  const host = options.host ?? (options.family === 4 ? '0.0.0.0' : '::');
  const ipv6Only = options.host === undefined && options.family === 6;
  await listen(server, { host, port: options.port, ipv6Only }, formatEndpoint({ address: host, port: options.port }));
  return server;
}

/** With --ssl-alpn, -v says which protocol the client and we agreed on. */
function reportAlpn(socket: Socket, options: NcListenOptions): void {
  if (!options.tls?.alpnProtocols) return;
  const agreed = (socket as import('node:tls').TLSSocket).alpnProtocol;
  options.report?.(1, agreed ? `SSL: ALPN protocol ${agreed}` : 'SSL: no ALPN protocol agreed');
}

/** `server.listen` as a promise; a failed bind rejects with the {@link bindError} naming `where`. */
function listen(server: Server, where: ListenOptions, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // A listen address that is a name that does not resolve is a resolve error, as in connect mode.
    const unresolved = (err: Error): boolean => ['ENOTFOUND', 'EAI_AGAIN'].includes((err as NodeJS.ErrnoException).code ?? '');
    server.once('error', (err) => reject(unresolved(err) && where.host ? new ResolveError(where.host, err) : bindError(label, err)));
    server.listen(where, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
}
