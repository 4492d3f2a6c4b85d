import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { formatEndpoint, socketEndpoint, toEndpoint, unbracket, type Endpoint } from '../address.js';
import { resolveHost } from '../dns.js';
import { bindError } from '../errors.js';
import { formatSocketPath, prepareSocketPath, removeSocketPath, toSocketPath } from '../unix/socket-path.js';
import { checkCount, checkPort } from '../options.js';
import type { CertificateSummary } from '../tls/certificate.js';
import { connectTlsSocket, VERIFIED_EVENT } from '../tls/client.js';
import { resolveTlsClientOptions, resolveTlsServerOptions, type ResolvedTlsClientOptions, type TlsClientOptions, type TlsServerOptions } from '../tls/options.js';
import { createTlsListener, watchHandshakes, type HandshakeStats } from '../tls/server.js';
import { freshSeed, jitteredDelay, seededRandom } from './random.js';

/** Which way a fault applies: `up` is client → server, `down` is server → client. */
export type FaultDirection = 'both' | 'up' | 'down';

/** Faults a TCP proxy injects. Every one is off by default: a proxy with none is a plain relay. */
export interface TcpFaults {
  /** Added to every chunk's trip. @default 0 */
  latencyMs?: number;
  /** Up to this much more or less than `latencyMs`, at random; chunks never overtake each other. @default 0 */
  jitterMs?: number;
  /** Bytes per second each way, per connection. @default Infinity */
  bandwidthBytesPerSec?: number;
  /** Cut every chunk into segments of at most this many bytes, written one by one. @default Infinity */
  sliceBytes?: number;
  /** Pause between slices, so each arrives as its own read. @default 1 */
  sliceDelayMs?: number;
  /** Reset both sides (RST) this long after the client connected. @default Infinity */
  resetAfterMs?: number;
  /** Reset both sides once this many bytes went through (in the faulted direction). @default Infinity */
  resetAfterBytes?: number;
  /** Hold a FIN this long before passing it on. @default 0 */
  slowCloseMs?: number;
  /** Accept, then swallow everything and answer nothing (the connection hangs until the client gives up). */
  blackHole?: boolean;
  /** Which direction the delay, bandwidth, slice and byte-count faults apply to. @default 'both' */
  direction?: FaultDirection;
  /** Seed for jitter. @default random (read it back from `seed`) */
  seed?: number;
}

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

export type TcpProxyEvent =
  /** `socket` is the client's, for observers that read its byte counts (the dashboard); do not write to it. */
  | { type: 'open'; id: number; client: Endpoint; socket?: Socket }
  | { type: 'upstream-failed'; id: number; message: string }
  | { type: 'reset'; id: number; why: string }
  | { type: 'close'; id: number; up: number; down: number }
  | { type: 'tls-failed'; client: Endpoint; code: string; message: string };

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
    const bound = this.address();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
    if (bound.family === 'unix') await removeSocketPath(bound.address);
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
  if (path !== undefined) await prepareSocketPath(path);
  const server = tls ? createTlsListener(tls) : createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(bindError(path === undefined ? formatEndpoint({ address: host, port }) : formatSocketPath(path), err)));
    server.listen(path === undefined ? { host, port } : { path }, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const proxy = new TcpProxy(server, seed);
  proxy.certificate = tls?.certificate;
  server.on('error', () => {}); // accept errors (EMFILE): the listener stays up
  let nextId = 1;
  const upstream: Upstream = { where: target, name: options.targetHost ?? '127.0.0.1', tls: upstreamTls };
  if (tls) {
    const handshakes: HandshakeStats = { handshaking: 0, tlsFailures: {} };
    watchHandshakes(server as import('node:tls').Server, tls, handshakes, {
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

type ResolvedFaults = Required<Omit<TcpFaults, 'seed'>> & { maxHeldBytes: number };

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
  if (socket instanceof TLSSocket) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(); // ERR_INVALID_HANDLE_TYPE: a UNIX domain socket
  }
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
  if (onChunk) {
    // Added before the relay's own listeners and with prependListener, so it sees each chunk first and does not start the flow.
    const offsets = { up: 0, down: 0 };
    const tap = (direction: 'up' | 'down') => (chunk: Buffer) => {
      onChunk(id, clientEndpoint, direction, offsets[direction], chunk);
      offsets[direction] += chunk.length;
    };
    client.prependListener('data', tap('up'));
    upstream.prependListener('data', tap('down'));
  }
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
    up = new Direction(client, upstream, faulted('up') ? faults : undefined, random, resetBoth, (n) => (proxy.stats.bytesUp += n));
    down = new Direction(upstream, client, faulted('down') ? faults : undefined, random, resetBoth, (n) => (proxy.stats.bytesDown += n));
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

/** One direction of a relayed connection: reads from `from`, applies faults, writes to `to` in order. */
class Direction {
  bytes = 0;
  readonly #queue: { data: Buffer | null; at: number; gapMs: number }[] = [];
  #heldBytes = 0;
  #lastAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #waitingDrain = false;

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    readonly faults: ResolvedFaults | undefined,
    readonly random: () => number,
    readonly reset: (why: string) => void,
    readonly count: (bytes: number) => void,
  ) {
    from.on('data', (chunk: Buffer) => this.#onData(chunk));
    from.on('end', () => this.#enqueue(null, (this.faults?.slowCloseMs ?? 0) + this.#delay(), 0, 0));
  }

  #delay(): number {
    return this.faults ? jitteredDelay(this.faults.latencyMs, this.faults.jitterMs, this.random) : 0;
  }

  #onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.count(chunk.length);
    const faults = this.faults;
    if (faults && this.bytes >= faults.resetAfterBytes) {
      this.reset(`after ${faults.resetAfterBytes} bytes`);
      return;
    }
    if (!faults) {
      this.#enqueue(chunk, 0, 0, 0);
      return;
    }
    const delay = this.#delay();
    for (let offset = 0; offset < chunk.length; offset += faults.sliceBytes) {
      const slice = chunk.subarray(offset, Math.min(chunk.length, offset + faults.sliceBytes));
      const gapMs = offset > 0 ? faults.sliceDelayMs : 0;
      const transmitMs = faults.bandwidthBytesPerSec === Infinity ? 0 : (slice.length / faults.bandwidthBytesPerSec) * 1000;
      this.#enqueue(slice, delay, gapMs, transmitMs);
    }
  }

  /**
   * Queues data (null: the FIN) to leave `delay` ms from now, at least `gapMs` after what was queued before it
   * (so it never overtakes), plus the time the bandwidth limit says it takes to send.
   */
  #enqueue(data: Buffer | null, delay: number, gapMs: number, transmitMs: number): void {
    const now = performance.now();
    const at = Math.max(now + delay, this.#lastAt + gapMs) + transmitMs;
    this.#lastAt = at;
    if (at <= now && this.#queue.length === 0 && !this.#waitingDrain) {
      this.#write(data);
      return;
    }
    this.#queue.push({ data, at, gapMs });
    if (data) {
      this.#heldBytes += data.length;
      if (this.#heldBytes > (this.faults?.maxHeldBytes ?? 0)) this.from.pause();
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#waitingDrain) return;
    const head = this.#queue[0];
    if (!head) return;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, head.at - performance.now()));
  }

  #flush(): void {
    this.#timer = undefined;
    const now = performance.now();
    let wrote = false;
    while (this.#queue.length > 0 && !this.#waitingDrain) {
      const head = this.#queue[0]!;
      // A slice keeps its gap after the one before it actually left: a late timer must not send two slices as
      // one segment (the point of --slice is separate reads).
      if (wrote && head.gapMs > 0) {
        head.at = Math.max(head.at, now + head.gapMs);
        break;
      }
      if (head.at > now + 0.5) break;
      this.#queue.shift();
      if (head.data) this.#heldBytes -= head.data.length;
      this.#write(head.data);
      wrote = true;
    }
    if (this.#heldBytes <= (this.faults?.maxHeldBytes ?? 0) / 2 && this.from.isPaused() && !this.#waitingDrain) this.from.resume();
    this.#schedule();
  }

  #write(data: Buffer | null): void {
    if (this.to.destroyed) return;
    if (data === null) {
      this.to.end();
      return;
    }
    if (!this.to.write(data)) {
      // Backpressure: stop reading the source until the destination drains.
      this.#waitingDrain = true;
      this.from.pause();
      this.to.once('drain', () => {
        this.#waitingDrain = false;
        this.from.resume();
        this.#flush();
      });
    }
  }
}
