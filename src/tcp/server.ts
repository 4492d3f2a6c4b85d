import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import type { Server as TlsListener } from 'node:tls';
import { debuglog } from 'node:util';
import { AsyncQueue } from '../_async-queue.js';
import { FD_RESERVE, freeFileDescriptors } from '../fd-limit.js';
import { createAccessCheck, type AccessCheck, type AccessOptions } from '../access.js';
import { socketEndpoint, toEndpoint, unbracket, type Endpoint } from '../address.js';
import { SocklabError, abortedError } from '../errors.js';
import { bindStreamListener } from '../listen.js';
import { toSocketPath } from '../unix/socket-path.js';
import { DEFAULTS, checkCount, checkHost, checkPort, checkSignal } from '../options.js';
import { kOwner, type ConnectionOwner } from './_hooks.js';
import { TcpConnection, resolveConnectionOptions, type ConnectionOptions } from './connection.js';
import type { CertificateSummary } from '../tls/certificate.js';
import type { TlsError } from '../tls/errors.js';
import { resolveTlsServerOptions, type ResolvedTlsServerOptions, type TlsServerOptions } from '../tls/options.js';
import { watchHandshakes } from '../tls/server.js';

type ResolvedConnectionOptions = ReturnType<typeof resolveConnectionOptions>;

const debug = debuglog('socklab');

/**
 * Server options. Server connections get finite defaults where a client connection has none:
 * `idleTimeoutMs` ({@link DEFAULTS}.idleTimeoutMs) and `messageTimeoutMs` ({@link DEFAULTS}.messageTimeoutMs).
 */
export interface ListenOptions extends ConnectionOptions, AccessOptions {
  /** Address to bind. Loopback by default: serving the network must be asked for ('0.0.0.0' or '::'). @default '127.0.0.1' */
  host?: string;
  /** 0 lets the OS choose a free port; read it back from `address()`. @default 0 */
  port?: number;
  /**
   * Listen on a UNIX domain socket at this path instead of TCP (`host` and `port` are then ignored); `@name` is a
   * Linux abstract name. A stale socket file left by a dead server is replaced, a live one refused
   * (SL_ERR_BIND), and the file is removed on close.
   */
  path?: string;
  /** Kernel accept queue length. @default DEFAULTS.backlog */
  backlog?: number;
  /**
   * Clients served at once; more are sent `farewell(SL_ERR_SERVER_FULL)` and closed. Lowered to fit the file
   * descriptors free (`ulimit -n`), keeping a few for turning clients away; read the result from
   * `server.maxConnections`. @default DEFAULTS.maxConnections
   */
  maxConnections?: number;
  /** Aborting closes the server gracefully. */
  signal?: AbortSignal;
  /**
   * Serve TLS: `true` for a self-signed certificate made at start (its fingerprint in `server.certificate`), or
   * {@link TlsServerOptions} with `cert` and `key`. Connections have the same API and limits; handshakes in
   * progress are bounded by `maxHandshakes` and `handshakeTimeoutMs`.
   */
  tls?: boolean | TlsServerOptions;
}

/** The events of a {@link TcpServer}; any other name is a type error. */
export interface TcpServerEvents {
  connection: [connection: TcpConnection];
  /** A client turned away because the server was full. */
  rejected: [connection: TcpConnection];
  /** A client closed at accept because its address is not allowed (nothing is sent to it). */
  denied: [peer: Endpoint];
  /** A TLS handshake failed or was refused (one per client; the connection is already closed). */
  tlsError: [error: TlsError, peer: Endpoint];
  /** The listener failed to accept (EMFILE: out of file descriptors); the server keeps running. */
  acceptError: [error: Error];
  close: [];
}

/** Counters a server keeps; read them any time, e.g. on shutdown. */
export interface ServerStats {
  accepted: number;
  rejected: number;
  /** Connections closed at accept by the allow/deny lists. */
  denied: number;
  active: number;
  peakActive: number;
  acceptErrors: number;
  /** TLS: connections whose handshake is still running. */
  handshaking: number;
  /** TLS: failed handshakes, by code. */
  tlsFailures: Partial<Record<string, number>>;
}

/**
 * A listening TCP server whose connections arrive as an async iterator or as `'connection'` events.
 *
 * @example
 * await using server = await listenTcp({ port: 0 });
 * const connecting = connectTcp({ host: '127.0.0.1', port: server.address().port });
 * // The loop sees connections accepted once it runs (earlier ones are in `server.connections`).
 * for await (const conn of server) {
 *   conn.send('hello');
 *   break; // leaving the loop leaves the server open; one client is enough here
 * }
 * await using client = await connecting;
 * console.log(`${await client.receive({ timeoutMs: 1000 })}`); // "hello"
 */
export class TcpServer extends EventEmitter<TcpServerEvents> {
  readonly server: Server;
  readonly connections = new Set<TcpConnection>();
  readonly stats: ServerStats = { accepted: 0, rejected: 0, denied: 0, active: 0, peakActive: 0, acceptErrors: 0, handshaking: 0, tlsFailures: {} };
  readonly maxConnections: number;
  /** The certificate a TLS server presents (undefined for plaintext): print its fingerprint for clients to pin. */
  readonly certificate: CertificateSummary | undefined;
  #options: ResolvedConnectionOptions;
  #closing: Promise<void> | undefined;
  /** Told of every close, shared by every connection: no listener (and no listener table) per connection. */
  #owner: ConnectionOwner;
  #endpoint: Endpoint;
  #allowed: AccessCheck | undefined;
  /** Drops TLS handshakes in progress (they are not connections yet, and the listener's close waits for them). */
  #dropHandshakes: () => void = () => {};

  /** Use {@link listenTcp}: it validates options and waits until the server listens. */
  constructor(server: Server, connectionOptions: ResolvedConnectionOptions, allowed: AccessCheck | undefined, maxConnections: number, tls?: ResolvedTlsServerOptions) {
    super();
    this.server = server;
    // Resolved once: every connection shares the one frozen options object.
    this.#options = connectionOptions;
    this.#allowed = allowed;
    this.maxConnections = maxConnections;
    const { stats, connections } = this;
    this.#owner = {
      connectionClosed(conn) {
        stats.active--;
        connections.delete(conn);
      },
    };
    const bound = server.address();
    this.#endpoint = typeof bound === 'string' ? { address: bound, port: 0, family: 'unix' } : toEndpoint(bound as { address: string; port: number; family: string });
    this.certificate = tls?.certificate;
    if (tls) {
      // The allow/deny check runs at TCP accept, before a denied peer costs a handshake.
      this.#dropHandshakes = watchHandshakes(server as TlsListener, tls, this.stats, {
        admit: (socket) => this.#admit(socket),
        onFailure: (error, peer) => this.emit('tlsError', error, peer),
      });
    }
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => this.#accept(socket));
    server.on('error', (err) => {
      // After listen() succeeded, errors come from accept(2): EMFILE/ENFILE when fds run out. Node keeps the
      // listener open and retries on the next connection; we count and report instead of crashing.
      this.stats.acceptErrors++;
      debug('accept error: %s', err.message);
      this.emit('acceptError', err);
    });
  }

  /** The bound endpoint (the real port when listening on port 0). */
  address(): Endpoint {
    return this.#endpoint;
  }

  /** True once `close()` was called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Connections as they are accepted. Leaving the loop does not close the server; `close()` ends the loop.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<TcpConnection> {
    const onConnection = (conn: TcpConnection): void => queue.push(conn);
    const onClose = (): void => queue.end();
    const queue = new AsyncQueue<TcpConnection>({
      onDone: () => {
        this.off('connection', onConnection);
        this.off('close', onClose);
      },
    });
    this.on('connection', onConnection);
    this.once('close', onClose);
    if (this.closing) queue.end();
    return queue;
  }

  /**
   * Graceful shutdown: stops accepting, then closes every connection gracefully (each waits up to
   * `closeTimeoutMs` for its peer). Safe to call any number of times.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.#dropHandshakes();
      await Promise.all([...this.connections].map((conn) => conn.close()));
      await listenerClosed;
      this.emit('close');
    })();
    return this.#closing;
  }

  /** Immediate shutdown: destroys every connection. */
  destroy(): void {
    for (const conn of this.connections) conn.destroy();
    void this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** False (and the socket closed, counted) for a peer the allow/deny lists refuse. */
  #admit(socket: Socket): boolean {
    if (this.#allowed && !this.#allowed(socket.remoteAddress ?? '')) {
      // Not a client of ours: nothing is read or sent. An error listener, because a reset may still be on its way.
      this.stats.denied++;
      const peer = socketEndpoint(socket, 'remote');
      socket.on('error', () => {});
      socket.destroy();
      this.emit('denied', peer);
      return false;
    }
    return true;
  }

  #accept(socket: Socket): void {
    if (!this.certificate && !this.#admit(socket)) return;
    const conn = new TcpConnection(socket, this.#options);
    if (this.closing) {
      conn.destroy();
      return;
    }
    // Node's own server.maxConnections closes extra sockets without a word; we tell the client why first.
    if (this.stats.active >= this.maxConnections) {
      this.stats.rejected++;
      this.emit('rejected', conn);
      void conn.closeWithReason(
        new SocklabError('SL_ERR_SERVER_FULL', `Server full: ${this.stats.active} clients connected, maxConnections is ${this.maxConnections}`),
      );
      return;
    }
    this.stats.accepted++;
    this.stats.active++;
    this.stats.peakActive = Math.max(this.stats.peakActive, this.stats.active);
    this.connections.add(conn);
    conn[kOwner] = this.#owner;
    this.emit('connection', conn);
  }
}

/** Connection options with the server-side defaults filled in. */
function resolveServerConnectionOptions(options: ListenOptions): ResolvedConnectionOptions {
  return resolveConnectionOptions({
    ...options,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    messageTimeoutMs: options.messageTimeoutMs ?? DEFAULTS.messageTimeoutMs,
  });
}

/**
 * Binds and listens; resolves once the server accepts connections.
 *
 * @throws {SocklabError} SL_ERR_BIND when the address is taken or not ours; SL_ERR_TLS_CONFIG for an unusable
 *   certificate or key; RangeError for bad options.
 * @example
 * await using server = await listenTcp({ port: 0, framing: 'auto' });
 * server.on('connection', (conn) => conn.on('message', (m) => conn.send(m))); // an echo server
 * console.log(server.address().port);
 */
export async function listenTcp(options: ListenOptions & { tls: true | TlsServerOptions }): Promise<TcpServer & { readonly certificate: CertificateSummary }>;
export async function listenTcp(options?: ListenOptions): Promise<TcpServer>;
export async function listenTcp(options: ListenOptions = {}): Promise<TcpServer> {
  // Validate everything before binding, so a bad option never leaves a half-made server.
  const connectionOptions = resolveServerConnectionOptions(options);
  if (options.path !== undefined && (options.allow !== undefined || options.deny !== undefined)) {
    // Every peer of a UNIX socket has the empty address: a list would refuse (or admit) everyone alike.
    throw new RangeError('allow and deny filter IP addresses, and UNIX socket peers have none: guard the socket file with its permissions instead');
  }
  const allowed = createAccessCheck(options);
  const signal = checkSignal(options.signal);
  const host = unbracket(checkHost('host', options.host ?? '127.0.0.1'));
  const port = checkPort('port', options.port ?? 0);
  const backlog = checkCount('backlog', options.backlog ?? DEFAULTS.backlog, 0);
  const requested = checkCount('maxConnections', options.maxConnections ?? DEFAULTS.maxConnections, 1, true);
  const tls = options.tls ? await resolveTlsServerOptions(options.tls, host) : undefined;
  // Stay inside the fd budget, so that the client past it hears "server full" instead of being dropped silently.
  // Handshakes in progress hold descriptors too.
  const free = freeFileDescriptors();
  const budget = free === undefined ? undefined : free - FD_RESERVE - (tls?.maxHandshakes ?? 0);
  const maxConnections = budget === undefined ? requested : Math.min(requested, Math.max(1, budget));
  const socketPath = options.path === undefined ? undefined : toSocketPath(options.path);
  const where = socketPath ?? `${host}:${port}`;
  if (signal?.aborted) throw abortedError(`Listen on ${where}`, signal);
  const netServer = await bindStreamListener({ host, port, path: socketPath, backlog }, tls, { pauseOnConnect: false });
  const server = new TcpServer(netServer, connectionOptions, allowed, maxConnections, tls);
  if (signal?.aborted) {
    await server.close();
    throw abortedError(`Listen on ${where}`, signal);
  }
  signal?.addEventListener('abort', () => void server.close(), { once: true });
  return server;
}
