import type { Server, Socket } from 'node:net';
import { toEndpoint, unbracket, type Endpoint } from '../address.js';
import { resolveHost } from '../dns.js';
import { bindStreamListener } from '../listen.js';
import { toSocketPath } from '../unix/socket-path.js';
import { checkCount, checkPort } from '../options.js';
import type { CertificateSummary } from '../tls/certificate.js';
import { resolveTlsClientOptions, resolveTlsServerOptions, type ResolvedTlsServerOptions, type TlsClientOptions, type TlsServerOptions } from '../tls/options.js';
import { watchHandshakes, type HandshakeStats } from '../tls/server.js';
import { faultToxics, type TcpFaults } from './_faults.js';
import { Relay, type RelayContext, type Target, type TcpProxyEvent, type TcpProxyStats, type Upstream } from './_relay.js';
import { freshSeed, seededRandom } from '../random.js';
import { ToxicProxyBase } from './_toxic-list.js';
import { resolveToxic, TCP_TOXIC_TYPES, type Toxic, type ToxicInput, type ToxicStream } from './toxics.js';

export type { FaultDirection, TcpFaults } from './_faults.js';
export type { TcpProxyEvent, TcpProxyStats } from './_relay.js';

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
  /** A name, for the toxiproxy API. @default 'default' */
  name?: string;
  /** Toxics to start with, besides those the fault options stand for (toxiproxy's JSON). */
  toxics?: ToxicInput[];
  /** Start disabled: nothing listens until {@link TcpProxy.enable}. @default true */
  enabled?: boolean;
  /** Sees every chunk relayed, before faults apply: `up` from the client, `down` from the target (for --hex, --log). */
  onChunk?: (id: number, client: Endpoint, direction: 'up' | 'down', offset: number, chunk: Buffer) => void;
  /** Bytes held in a delayed direction before reading from its source pauses. @default 1048576 */
  maxHeldBytes?: number;
  /** Terminate TLS: clients connect with TLS, the target gets plaintext (`true`: a self-signed certificate). */
  tls?: boolean | TlsServerOptions;
  /** Originate TLS: the target is a TLS server, verified like `connectTcp({ tls })` does. */
  upstreamTls?: boolean | TlsClientOptions;
}

interface ProxyEvents {
  event: [event: TcpProxyEvent];
}

interface ListenAt {
  host: string;
  port: number;
  path: string | undefined;
}

/** A running TCP fault proxy, its toxics changeable while connections flow through it. */
export class TcpProxy extends ToxicProxyBase<ProxyEvents> {
  readonly stats: TcpProxyStats = { connections: 0, active: 0, bytesUp: 0, bytesDown: 0, sentUp: 0, sentDown: 0, resets: 0, upstreamFailures: 0, faults: {} };
  readonly seed: number;
  readonly name: string;
  /** The certificate presented when terminating TLS. */
  certificate: CertificateSummary | undefined;
  /** The target, as given (`host:port` or a socket path). */
  readonly upstreamText: string;
  #server: Server | undefined;
  #dropHandshakes: () => void = () => {};
  #bound: Endpoint | undefined;
  readonly #listenAt: ListenAt;
  readonly #relays = new Set<Relay>();
  readonly #tls: ResolvedTlsServerOptions | undefined;
  readonly #context: RelayContext;
  readonly #upstream: Upstream;
  #nextId = 1;

  /** Use {@link startTcpProxy}. */
  constructor(init: { name: string; seed: number; listenAt: ListenAt; upstream: Upstream; upstreamText: string; tls: ResolvedTlsServerOptions | undefined; maxHeldBytes: number; onChunk: TcpProxyOptions['onChunk'] }) {
    super(init.name, TCP_TOXIC_TYPES);
    this.name = init.name;
    this.seed = init.seed;
    this.#listenAt = init.listenAt;
    this.#upstream = init.upstream;
    this.upstreamText = init.upstreamText;
    this.#tls = init.tls;
    this.certificate = init.tls?.certificate;
    const seed = init.seed;
    this.#context = {
      stats: this.stats,
      emit: (event) => void this.emit('event', event),
      toxics: (stream) => this.toxicList.live.filter((toxic) => toxic.stream === stream),
      // Each direction of each connection draws from its own generator, so a seed replays every decision.
      randomFor: (id, stream) => seededRandom((seed ^ Math.imul(id * 2 + (stream === 'upstream' ? 0 : 1), 0x9e3779b9)) >>> 0),
      maxHeldBytes: init.maxHeldBytes,
      onChunk: init.onChunk,
    };
  }

  /** Where it listens (where it last listened, while disabled). */
  address(): Endpoint {
    if (this.#bound) return this.#bound;
    return { address: this.#listenAt.host, port: this.#listenAt.port, family: 'IPv4' };
  }

  /** Whether it listens (toxiproxy's `enabled`). */
  get enabled(): boolean {
    return this.#server !== undefined;
  }

  /** Starts listening again, on the address it had. */
  async enable(): Promise<void> {
    if (this.#server) return;
    const at = this.#bound && this.#bound.family !== 'unix' ? { ...this.#listenAt, port: this.#bound.port } : this.#listenAt;
    const server = await bindStreamListener(at, this.#tls, { pauseOnConnect: true });
    this.#server = server;
    server.on('error', () => {}); // accept errors (EMFILE): the listener stays up
    const bound = server.address();
    this.#bound = typeof bound === 'string' ? { address: bound, port: 0, family: 'unix' } : toEndpoint(bound as { address: string; port: number; family: string });
    const tls = this.#tls;
    if (tls) {
      const handshakes: HandshakeStats = { handshaking: 0, tlsFailures: {} };
      this.#dropHandshakes = watchHandshakes(server as import('node:tls').Server, tls, handshakes, {
        admit: () => true,
        onFailure: (error, client) => void this.emit('event', { type: 'tls-failed', client, code: error.code, message: error.message }),
      });
    }
    server.on(tls ? 'secureConnection' : 'connection', (client: Socket) => {
      if (tls) client.pause(); // as pauseOnConnect does for plaintext: nothing is read before the target answers
      const relay = new Relay(this.#nextId++, client, this.#upstream, this.#context, () => this.#relays.delete(relay));
      this.#relays.add(relay);
    });
  }

  /** Stops listening and drops every connection (toxiproxy's `enabled: false`: the service is down). */
  async disable(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    // libuv removes a UNIX socket file itself when the listener closes; unlinking it again later could remove the
    // file of a new server that bound the path meanwhile.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.#dropHandshakes();
    for (const relay of this.#relays) relay.destroy();
    this.#relays.clear();
    await closed;
  }

  protected override toxicAdded(toxic: Toxic): void {
    this.#eachLink(toxic.stream, (link) => link.add(toxic));
  }

  protected override toxicUpdated(toxic: Toxic): void {
    this.#eachLink(toxic.stream, (link) => link.update(toxic));
  }

  protected override toxicRemoved(toxic: Toxic): void {
    this.#eachLink(toxic.stream, (link) => link.remove(toxic.name));
  }

  #eachLink(stream: ToxicStream, change: (link: NonNullable<ReturnType<Relay['link']>>) => void): void {
    for (const relay of this.#relays) {
      const link = relay.link(stream);
      if (link) change(link);
    }
  }

  /** Stops listening and destroys every relayed connection. */
  async close(): Promise<void> {
    await this.disable();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * A TCP proxy for fault injection, in the spirit of Toxiproxy: clients connect to it, it connects to the
 * target and relays both ways through a chain of toxics per direction (latency, bandwidth, slicer, timeout,
 * reset_peer, limit_data, slow_close), which can be added, changed and removed while connections are open.
 *
 * @example
 * const proxy = await startTcpProxy({ targetPort: 12345, latencyMs: 50, sliceBytes: 1 });
 * proxy.addToxic({ type: 'bandwidth', stream: 'downstream', attributes: { rate: 0 } }); // cut the replies
 * // clients connect to proxy.address().port
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const targetPath = options.targetPath === undefined ? undefined : toSocketPath(options.targetPath);
  if (targetPath !== undefined && options.upstreamTls) throw new RangeError('upstreamTls needs a host and port to verify: not with targetPath');
  const targetName = options.targetHost ?? '127.0.0.1';
  const target: Target =
    targetPath !== undefined ? { path: targetPath } : { host: (await resolveHost(targetName)).address, port: checkPort('targetPort', options.targetPort ?? Number.NaN) };
  const host = unbracket(options.host ?? '127.0.0.1');
  const port = checkPort('port', options.port ?? 0);
  const path = options.path === undefined ? undefined : toSocketPath(options.path);
  const toxics = [...faultToxics(options), ...(options.toxics ?? []).map((toxic) => resolveToxic(toxic, TCP_TOXIC_TYPES))];
  const maxHeldBytes = checkCount('maxHeldBytes', options.maxHeldBytes ?? 1024 * 1024, 1);
  const tls = options.tls ? await resolveTlsServerOptions(options.tls, host) : undefined;
  const upstreamTls = options.upstreamTls ? resolveTlsClientOptions(options.upstreamTls) : undefined;
  const proxy = new TcpProxy({
    name: options.name ?? 'default',
    seed: options.seed ?? freshSeed(),
    listenAt: { host, port, path },
    upstream: { where: target, name: targetName, tls: upstreamTls },
    upstreamText: targetPath ?? `${targetName.includes(':') ? `[${targetName}]` : targetName}:${options.targetPort}`,
    tls,
    maxHeldBytes,
    onChunk: options.onChunk,
  });
  for (const toxic of toxics) proxy.addToxic(toxic);
  if (options.enabled !== false) await proxy.enable();
  return proxy;
}
