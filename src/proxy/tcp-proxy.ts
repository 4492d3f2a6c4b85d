import { EventEmitter } from 'node:events';
import { connect, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { isUnixSocket, socketEndpoint, toEndpoint, unbracket, type Endpoint } from '../address.js';
import { resolveHost } from '../dns.js';
import { bindStreamListener } from '../listen.js';
import { toSocketPath } from '../unix/socket-path.js';
import { checkCount, checkPort } from '../options.js';
import type { CertificateSummary } from '../tls/certificate.js';
import { connectTlsSocket, VERIFIED_EVENT } from '../tls/client.js';
import { resolveTlsClientOptions, resolveTlsServerOptions, type ResolvedTlsClientOptions, type TlsClientOptions, type TlsServerOptions } from '../tls/options.js';
import { watchHandshakes, type HandshakeStats } from '../tls/server.js';
import { Direction, type ResolvedFaults, type TcpFaults } from './_fault-direction.js';
import { freshSeed, seededRandom } from './random.js';

export type { FaultDirection, TcpFaults } from './_fault-direction.js';

export interface TcpProxyOptions extends TcpFaults {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 */
  port?: number;
  targetHost?: string;
  /** Required unless `targetPath` is given. */
  targetPort?: number;
  /** Listen on this UNIX domain socket instead of `host`/`port` (`@name`: Linux abstract). */
  path?: string;
  /** Relay to the UNIX domain socket at this path instead of `targetHost`/`targetPort`. */
  targetPath?: string;
  /** Sees every chunk relayed, before faults apply: `up` from the client, `down` from the target (for --hex, --log). */
  onChunk?: (id: number, client: Endpoint, direction: 'up' | 'down', offset: number, chunk: Buffer) => void;
  /** Bytes held in a delayed direction before reading from its source pauses. @default 1048576 */
  maxHeldBytes?: number;
  /** Terminate TLS: clients connect with TLS, the target gets plaintext (`true`: a self-signed certificate). */
  tls?: boolean | TlsServerOptions;
  /** Originate TLS: the target is a TLS server, verified like `connectTcp({ tls })` does. */
  upstreamTls?: boolean | TlsClientOptions;
}

/** What a TCP proxy reports as it relays (`onEvent`). */
export type TcpProxyEvent =
  /** `socket` is the client's, for observers that read its byte counts (the dashboard); do not write to it. */
  | { type: 'open'; id: number; client: Endpoint; socket?: Socket }
  | { type: 'upstream-failed'; id: number; message: string }
  | { type: 'reset'; id: number; why: string }
  | { type: 'close'; id: number; up: number; down: number }
  | { type: 'tls-failed'; client: Endpoint; code: string; message: string };

/** Counters of a TCP proxy. */
export interface TcpProxyStats {
  connections: number;
  active: number;
  bytesUp: number;
  bytesDown: number;
  resets: number;
  upstreamFailures: number;
}

interface ProxyEvents {
  event: [event: TcpProxyEvent];
}

/** A running TCP fault proxy. */
export class TcpProxy extends EventEmitter<ProxyEvents> {
  readonly stats: TcpProxyStats = { connections: 0, active: 0, bytesUp: 0, bytesDown: 0, resets: 0, upstreamFailures: 0 };
  readonly seed: number;
  /** The certificate presented when terminating TLS. */
  certificate: CertificateSummary | undefined;
  readonly #server: Server;
  /** @internal With TLS: ends the handshakes in progress (they are not relayed sockets yet). */
  dropHandshakes: () => void = () => {};
  readonly #sockets = new Set<Socket>();

  /** Use {@link startTcpProxy}. */
  constructor(server: Server, seed: number) {
    super();
    this.#server = server;
    this.seed = seed;
  }

  address(): Endpoint {
    const bound = this.#server.address();
    if (typeof bound === 'string') return { address: bound, port: 0, family: 'unix' };
    return toEndpoint(bound as { address: string; port: number; family: string });
  }

  /** @internal */
  track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** Stops listening and destroys every relayed connection. */
  async close(): Promise<void> {
    // libuv removes a UNIX socket file itself when the listener closes; unlinking it again later could remove the
    // file of a new server that bound the path meanwhile.
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.dropHandshakes();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * A TCP proxy for fault injection, in the spirit of Toxiproxy: clients connect to it, it connects to the
 * target and relays both ways, adding latency and jitter, limiting bandwidth, slicing the stream into tiny
 * segments, resetting connections, delaying the close, or swallowing everything.
 *
 * @example
 * const proxy = await startTcpProxy({ targetPort: 12345, latencyMs: 50, sliceBytes: 1 });
 * // clients connect to proxy.address().port
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const targetPath = options.targetPath === undefined ? undefined : toSocketPath(options.targetPath);
  if (targetPath !== undefined && options.upstreamTls) throw new RangeError('upstreamTls needs a host and port to verify: not with targetPath');
  const target: Target =
    targetPath !== undefined
      ? { path: targetPath }
      : { host: (await resolveHost(options.targetHost ?? '127.0.0.1')).address, port: checkPort('targetPort', options.targetPort ?? Number.NaN) };
  const host = unbracket(options.host ?? '127.0.0.1');
  const port = checkPort('port', options.port ?? 0);
  const path = options.path === undefined ? undefined : toSocketPath(options.path);
  const faults = resolveFaults(options);
  const seed = options.seed ?? freshSeed();
  const random = seededRandom(seed);
  const tls = options.tls ? await resolveTlsServerOptions(options.tls, host) : undefined;
  const upstreamTls = options.upstreamTls ? resolveTlsClientOptions(options.upstreamTls) : undefined;
  const server = await bindStreamListener({ host, port, path }, tls, { pauseOnConnect: true });
  const proxy = new TcpProxy(server, seed);
  proxy.certificate = tls?.certificate;
  server.on('error', () => {}); // accept errors (EMFILE): the listener stays up
  let nextId = 1;
  const upstream: Upstream = { where: target, name: options.targetHost ?? '127.0.0.1', tls: upstreamTls };
  if (tls) {
    const handshakes: HandshakeStats = { handshaking: 0, tlsFailures: {} };
    proxy.dropHandshakes = watchHandshakes(server as import('node:tls').Server, tls, handshakes, {
      admit: () => true,
      onFailure: (error, client) => void proxy.emit('event', { type: 'tls-failed', client, code: error.code, message: error.message }),
    });
  }
  server.on(tls ? 'secureConnection' : 'connection', (client: Socket) => {
    const id = nextId++;
    if (tls) client.pause(); // as pauseOnConnect does for plaintext: nothing is read before the target answers
    relay(proxy, id, client, upstream, faults, random, options.onChunk);
  });
  return proxy;
}

type Target = { host: string; port: number } | { path: string };


function resolveFaults(options: TcpProxyOptions): ResolvedFaults {
  return {
    latencyMs: checkCount('latencyMs', options.latencyMs ?? 0, 0),
    jitterMs: checkCount('jitterMs', options.jitterMs ?? 0, 0),
    bandwidthBytesPerSec: checkCount('bandwidthBytesPerSec', options.bandwidthBytesPerSec ?? Infinity, 1, true),
    sliceBytes: checkCount('sliceBytes', options.sliceBytes ?? Infinity, 1, true),
    sliceDelayMs: checkCount('sliceDelayMs', options.sliceDelayMs ?? 1, 0),
    resetAfterMs: checkCount('resetAfterMs', options.resetAfterMs ?? Infinity, 0, true),
    resetAfterBytes: checkCount('resetAfterBytes', options.resetAfterBytes ?? Infinity, 0, true),
    slowCloseMs: checkCount('slowCloseMs', options.slowCloseMs ?? 0, 0),
    blackHole: options.blackHole ?? false,
    direction: options.direction ?? 'both',
    maxHeldBytes: checkCount('maxHeldBytes', options.maxHeldBytes ?? 1024 * 1024, 1),
  };
}

interface Upstream {
  where: Target;
  /** The name given for the target, checked against a TLS target's certificate. */
  name: string;
  tls: ResolvedTlsClientOptions | undefined;
}

/** RST where TCP allows it; a TLS or UNIX socket has no RST of its own, so it is destroyed. */
function reset(socket: Socket): void {
  if (socket instanceof TLSSocket || isUnixSocket(socket)) socket.destroy();
  else socket.resetAndDestroy();
}

function relay(proxy: TcpProxy, id: number, client: Socket, target: Upstream, faults: ResolvedFaults, random: () => number, onChunk: TcpProxyOptions['onChunk']): void {
  const emit = (event: TcpProxyEvent): void => void proxy.emit('event', event);
  proxy.stats.connections++;
  proxy.stats.active++;
  proxy.track(client);
  client.on('error', () => {});
  const clientEndpoint = socketEndpoint(client, 'remote');
  emit({ type: 'open', id, client: clientEndpoint, socket: client });
  client.once('close', () => {
    proxy.stats.active--;
    emit({ type: 'close', id, up: up?.bytes ?? 0, down: down?.bytes ?? 0 });
  });
  let up: Direction | undefined;
  let down: Direction | undefined;

  if (faults.blackHole) {
    // Read and discard, so the client's sends succeed and it waits for replies that never come.
    client.on('data', () => {});
    client.on('end', () => {});
    client.resume();
    return;
  }

  const upstream =
    target.tls && 'host' in target.where
      ? connectTlsSocket(target.where.host, target.where.port, target.tls, target.name)
      : connect({ ...target.where, allowHalfOpen: true });
  let upstreamReady = false;
  proxy.track(upstream);
  // No-ops on UNIX sockets (no Nagle there).
  upstream.setNoDelay(true);
  client.setNoDelay(true);
  let resetDone = false;
  const resetBoth = (why: string): void => {
    if (resetDone) return;
    resetDone = true;
    proxy.stats.resets++;
    emit({ type: 'reset', id, why });
    if (!client.destroyed) reset(client);
    if (!upstream.destroyed) reset(upstream);
  };
  upstream.once('error', (err) => {
    if (upstreamReady) return;
    proxy.stats.upstreamFailures++;
    emit({ type: 'upstream-failed', id, message: err.message });
    reset(client);
  });
  upstream.on('error', () => {});
  upstream.once(target.tls ? VERIFIED_EVENT : 'connect', () => {
    upstreamReady = true;
    const faulted = (direction: 'up' | 'down'): boolean => faults.direction === 'both' || faults.direction === direction;
    up = new Direction(client, upstream, faulted('up') ? faults : undefined, random, resetBoth, (chunk, offset) => {
      proxy.stats.bytesUp += chunk.length;
      onChunk?.(id, clientEndpoint, 'up', offset, chunk);
    });
    down = new Direction(upstream, client, faulted('down') ? faults : undefined, random, resetBoth, (chunk, offset) => {
      proxy.stats.bytesDown += chunk.length;
      onChunk?.(id, clientEndpoint, 'down', offset, chunk);
    });
    if (faults.resetAfterMs !== Infinity) {
      const timer = setTimeout(() => resetBoth(`after ${faults.resetAfterMs} ms`), faults.resetAfterMs);
      client.once('close', () => clearTimeout(timer));
    }
    client.resume();
  });
  // A reset on one side is passed on as a reset, a close as a close.
  const mirrorClose = (from: Socket, to: Socket) => (hadError: boolean) => {
    if (to.destroyed) return;
    if (hadError || from.errored) reset(to);
    else if (to.writableEnded) to.once('finish', () => to.destroy());
  };
  client.once('close', mirrorClose(client, upstream));
  upstream.once('close', mirrorClose(upstream, client));
}
