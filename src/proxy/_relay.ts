import { connect, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { isUnixSocket, socketEndpoint, type Endpoint } from '../address.js';
import { connectTlsSocket, VERIFIED_EVENT } from '../tls/client.js';
import type { ResolvedTlsClientOptions } from '../tls/options.js';
import { Link, type LinkHost } from './_link.js';
import type { Toxic, ToxicStream } from './toxics.js';

export type Target = { host: string; port: number } | { path: string };

export interface Upstream {
  where: Target;
  /** The name given for the target, checked against a TLS target's certificate. */
  name: string;
  tls: ResolvedTlsClientOptions | undefined;
}

/** What a TCP proxy reports as it relays (`onEvent`, and the `event` event). */
export type TcpProxyEvent =
  /** `socket` is the client's, for observers that read its byte counts (the dashboard); do not write to it. */
  | { type: 'open'; id: number; client: Endpoint; socket?: Socket }
  | { type: 'upstream-failed'; id: number; message: string }
  | { type: 'reset'; id: number; why: string; toxic?: string }
  /** A toxic acted on a connection (once per toxic and connection): `kind` is its type. */
  | { type: 'fault'; id: number; kind: string; toxic: string; stream: ToxicStream; why: string }
  | { type: 'close'; id: number; up: number; down: number }
  | { type: 'tls-failed'; client: Endpoint; code: string; message: string };

/** Counters of a TCP proxy. */
export interface TcpProxyStats {
  connections: number;
  active: number;
  bytesUp: number;
  bytesDown: number;
  /** Bytes written on, after the toxics (what a limit, a timeout or a reset held back is not in them). */
  sentUp: number;
  sentDown: number;
  resets: number;
  upstreamFailures: number;
  /** Times a toxic acted on a connection, by toxic type (reset_peer counts in `resets` too). */
  faults: Record<string, number>;
}

/** What a relayed connection needs from its proxy. */
export interface RelayContext {
  stats: TcpProxyStats;
  emit(event: TcpProxyEvent): void;
  /** The toxics in force for a direction now (read when the target answers, so none is missed). */
  toxics(stream: ToxicStream): readonly Toxic[];
  /** The random generator of one direction of one connection (its own, so a seed replays it whatever the timing). */
  randomFor(id: number, stream: ToxicStream): () => number;
  maxHeldBytes: number;
  onChunk: ((id: number, client: Endpoint, direction: 'up' | 'down', offset: number, chunk: Buffer) => void) | undefined;
}

/** RST where TCP allows it; a TLS or UNIX socket has no RST of its own, so it is destroyed. */
function resetSocket(socket: Socket): void {
  if (socket instanceof TLSSocket || isUnixSocket(socket)) socket.destroy();
  else socket.resetAndDestroy();
}

/** How long a cleanly closed connection waits for its FINs to be acknowledged before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

/** One client connection and its connection to the target, relayed both ways through the toxics. */
export class Relay implements LinkHost {
  up: Link | undefined;
  down: Link | undefined;
  readonly upstream: Socket;
  readonly #clientEndpoint: Endpoint;
  #finished = false;

  constructor(
    readonly id: number,
    readonly client: Socket,
    target: Upstream,
    readonly ctx: RelayContext,
    onGone: () => void,
  ) {
    const { stats } = ctx;
    stats.connections++;
    stats.active++;
    client.on('error', () => {});
    this.#clientEndpoint = socketEndpoint(client, 'remote');
    ctx.emit({ type: 'open', id, client: this.#clientEndpoint, socket: client });
    const upstream =
      target.tls && 'host' in target.where
        ? connectTlsSocket(target.where.host, target.where.port, target.tls, target.name)
        : connect({ ...target.where, allowHalfOpen: true });
    this.upstream = upstream;
    let upstreamReady = false;
    // No-ops on UNIX sockets (no Nagle there).
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    upstream.once('error', (err) => {
      if (upstreamReady) return;
      stats.upstreamFailures++;
      ctx.emit({ type: 'upstream-failed', id, message: err.message });
      resetSocket(client);
    });
    upstream.on('error', () => {});
    upstream.once(target.tls ? VERIFIED_EVENT : 'connect', () => {
      upstreamReady = true;
      if (client.destroyed) return void upstream.destroy();
      this.up = new Link(client, upstream, ctx.toxics('upstream'), ctx.randomFor(id, 'upstream'), this, ctx.maxHeldBytes, (bytes) => void (stats.sentUp += bytes), (chunk, offset) => {
        stats.bytesUp += chunk.length;
        ctx.onChunk?.(id, this.#clientEndpoint, 'up', offset, chunk);
      });
      this.down = new Link(upstream, client, ctx.toxics('downstream'), ctx.randomFor(id, 'downstream'), this, ctx.maxHeldBytes, (bytes) => void (stats.sentDown += bytes), (chunk, offset) => {
        stats.bytesDown += chunk.length;
        ctx.onChunk?.(id, this.#clientEndpoint, 'down', offset, chunk);
      });
      client.resume();
    });
    // A reset on one side is passed on as a reset; a side that closed cleanly closes the other once it has
    // sent its FIN (half-close is kept: each FIN travels its own direction).
    const mirrorClose = (from: Socket, to: Socket) => (hadError: boolean) => {
      if (to.destroyed) return;
      if (hadError || from.errored) resetSocket(to);
      else if (to.writableEnded) to.once('finish', () => to.destroy());
    };
    client.once('close', mirrorClose(client, upstream));
    upstream.once('close', mirrorClose(upstream, client));
    client.once('close', () => {
      stats.active--;
      this.#finish();
      ctx.emit({ type: 'close', id, up: this.up?.bytes ?? 0, down: this.down?.bytes ?? 0 });
      onGone();
    });
  }

  link(stream: ToxicStream): Link | undefined {
    return stream === 'upstream' ? this.up : this.down;
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.up?.destroy();
    this.down?.destroy();
  }

  reset(why: string, toxic?: string): void {
    if (this.#finished) return;
    this.#finish();
    this.ctx.stats.resets++;
    this.ctx.emit({ type: 'reset', id: this.id, why, ...(toxic === undefined ? {} : { toxic }) });
    if (!this.client.destroyed) resetSocket(this.client);
    if (!this.upstream.destroyed) resetSocket(this.upstream);
  }

  close(_why: string): void {
    if (this.#finished) return;
    this.#finish();
    for (const socket of [this.client, this.upstream]) {
      if (socket.destroyed) continue;
      socket.end();
      socket.resume(); // read the peer's FIN, so the socket closes rather than waits
      // A peer that never acknowledges our FIN is not kept for ever.
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    }
  }

  /** Ends the connection at once (the proxy is disabled, removed or closed). */
  destroy(): void {
    this.#finish();
    this.client.destroy();
    this.upstream.destroy();
  }

  acted(toxic: Toxic, why: string): void {
    const { faults } = this.ctx.stats;
    faults[toxic.type] = (faults[toxic.type] ?? 0) + 1;
    this.ctx.emit({ type: 'fault', id: this.id, kind: toxic.type, toxic: toxic.name, stream: toxic.stream, why });
  }
}
