import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { formatEndpoint, toEndpoint, unbracket, type Endpoint } from '../address.js';
import { resolveHost } from '../dns.js';
import { bindError } from '../errors.js';
import { checkCount, checkPort } from '../options.js';
import { Lane, type UdpProxyStats } from './_udp-lane.js';
import type { FaultDirection } from './_faults.js';
import { ToxicProxyBase } from './_toxic-list.js';
import { freshSeed, seededRandom } from '../random.js';
import { UDP_TOXIC_TYPES, type ToxicInput, type ToxicStream } from './toxics.js';

export type { UdpProxyStats } from './_udp-lane.js';

/** Faults a UDP proxy injects, each datagram on its own, both ways unless `direction` says. Probabilities are from 0 to 1. */
export interface UdpFaults {
  /** Chance a datagram is dropped. @default 0 */
  drop?: number;
  /** Chance a datagram is delivered twice. @default 0 */
  duplicate?: number;
  /** Chance a datagram is held back and delivered after the next one (or after `reorderMaxMs`). @default 0 */
  reorder?: number;
  /** Longest a held-back datagram waits for a successor. @default 50 */
  reorderMaxMs?: number;
  /** Added to every datagram's trip. @default 0 */
  latencyMs?: number;
  /** Up to this much more or less, at random (which reorders too, as on a real network). @default 0 */
  jitterMs?: number;
  /** Which way the faults apply: `up` is client → server, `down` the replies. @default 'both' */
  direction?: FaultDirection;
  /** Seed for every random choice: the same seed, the same faults. @default random (read it back from `seed`) */
  seed?: number;
}

export interface UdpProxyOptions extends UdpFaults {
  /** A name, for the toxiproxy API. @default 'default' */
  name?: string;
  /** Toxics to start with, besides those the fault options stand for: latency, drop, duplicate, reorder, noop. */
  toxics?: ToxicInput[];
  /** Start disabled: nothing is bound until {@link UdpProxy.enable}. @default true */
  enabled?: boolean;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 */
  port?: number;
  targetHost?: string;
  targetPort: number;
  /** Clients relayed at once (each gets its own upstream socket); more are not relayed. @default 1024 */
  maxSessions?: number;
  /** A client silent this long loses its upstream socket. @default 30000 */
  sessionIdleMs?: number;
}


/** A running UDP fault proxy, its toxics changeable while datagrams flow. */
export class UdpProxy extends ToxicProxyBase {
  readonly stats: UdpProxyStats = { forwarded: 0, dropped: 0, duplicated: 0, reordered: 0, sessions: 0, refused: 0 };
  readonly seed: number;
  readonly name: string;
  /** The target, as given (`host:port`). */
  readonly upstreamText: string;
  #socket: Socket | undefined;
  #bound: Endpoint | undefined;
  readonly #sessions = new Map<string, Session>();
  #sweeper: NodeJS.Timeout | undefined;
  readonly #settings: UdpSettings;
  #lanes = 0;

  /** Use {@link startUdpProxy}. */
  constructor(settings: UdpSettings) {
    // The datagrams of every session read the list at each send: a change needs no telling.
    super(settings.name, UDP_TOXIC_TYPES);
    this.#settings = settings;
    this.seed = settings.seed;
    this.name = settings.name;
    this.upstreamText = settings.upstreamText;
  }

  address(): Endpoint {
    return this.#bound ?? { address: this.#settings.host, port: this.#settings.port, family: isIP(this.#settings.host) === 6 ? 'IPv6' : 'IPv4' };
  }

  get enabled(): boolean {
    return this.#socket !== undefined;
  }

  /** Binds (again, on the port it had) and relays. */
  async enable(): Promise<void> {
    if (this.#socket) return;
    const { host, maxSessions, sessionIdleMs, target, targetPort } = this.#settings;
    const port = this.#bound?.port ?? this.#settings.port;
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) => reject(bindError(formatEndpoint({ address: host, port }), err)));
      socket.bind({ address: host, port }, () => {
        socket.removeAllListeners('error');
        resolve();
      });
    });
    socket.on('error', () => {});
    this.#socket = socket;
    this.#bound = toEndpoint(socket.address());
    const sessions = this.#sessions;
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const [key, session] of sessions) {
        if (now - session.lastSeen > sessionIdleMs) {
          session.close();
          sessions.delete(key);
        }
      }
    }, Math.min(sessionIdleMs, 1000));
    this.#sweeper.unref();
    const { stats } = this;
    const toxicsOf = (stream: ToxicStream) => () => this.toxicList.live.filter((toxic) => toxic.stream === stream);
    // Each direction of each client draws from its own generator: one shared generator would hand out its
    // numbers in whatever order datagrams happen to interleave, and a replay would not repeat the faults.
    const laneRandom = (): (() => number) => seededRandom((this.seed ^ Math.imul(++this.#lanes, 0x9e3779b9)) >>> 0);
    socket.on('message', (data, rinfo) => {
      const key = `${rinfo.address} ${rinfo.port}`;
      let session = sessions.get(key);
      if (!session) {
        if (sessions.size >= maxSessions) {
          stats.refused++;
          return;
        }
        const upstream = createSocket(target.family === 'IPv6' ? 'udp6' : 'udp4');
        upstream.on('error', () => {}); // ICMP errors from the target: UDP loses them anyway
        const created: Session = {
          upstream,
          lastSeen: performance.now(),
          toTarget: new Lane((bytes) => sendQuietly(upstream, bytes, targetPort, target.address), toxicsOf('upstream'), laneRandom(), stats),
          toClient: new Lane((bytes) => sendQuietly(socket, bytes, rinfo.port, rinfo.address), toxicsOf('downstream'), laneRandom(), stats),
          close: () => {
            created.toTarget.close();
            created.toClient.close();
            upstream.close();
          },
        };
        upstream.on('message', (reply) => created.toClient.push(reply));
        sessions.set(key, created);
        stats.sessions++;
        session = created;
      }
      session.lastSeen = performance.now();
      session.toTarget.push(data);
    });
  }

  /** Unbinds and forgets every client (the service is down). */
  async disable(): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    this.#socket = undefined;
    clearInterval(this.#sweeper);
    for (const session of this.#sessions.values()) session.close();
    this.#sessions.clear();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  async close(): Promise<void> {
    await this.disable();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** One client of the proxy: its address, and the upstream socket that speaks for it to the target. */
interface Session {
  upstream: Socket;
  lastSeen: number;
  toTarget: Lane;
  toClient: Lane;
  close(): void;
}

interface UdpSettings {
  name: string;
  seed: number;
  host: string;
  port: number;
  target: { address: string; family: string };
  targetPort: number;
  upstreamText: string;
  maxSessions: number;
  sessionIdleMs: number;
}

/**
 * A UDP proxy for fault injection: it drops, duplicates, reorders and delays datagrams with a seeded random
 * generator, so a lossy run can be replayed exactly. Each client gets its own upstream socket, so the target
 * sees one source per client and replies find their way back.
 *
 * @example
 * const proxy = await startUdpProxy({ targetPort: 12345, drop: 0.1, duplicate: 0.05, reorder: 0.05, seed: 7 });
 */
export async function startUdpProxy(options: UdpProxyOptions): Promise<UdpProxy> {
  const targetPort = checkPort('targetPort', options.targetPort);
  const targetName = options.targetHost ?? '127.0.0.1';
  const target = await resolveHost(targetName);
  const proxy = new UdpProxy({
    name: options.name ?? 'default',
    seed: options.seed ?? freshSeed(),
    host: unbracket(options.host ?? '127.0.0.1'),
    port: checkPort('port', options.port ?? 0),
    target,
    targetPort,
    upstreamText: `${targetName.includes(':') ? `[${targetName}]` : targetName}:${targetPort}`,
    maxSessions: checkCount('maxSessions', options.maxSessions ?? 1024, 1),
    sessionIdleMs: checkCount('sessionIdleMs', options.sessionIdleMs ?? 30_000, 1),
  });
  for (const toxic of [...udpFaultToxics(options), ...(options.toxics ?? [])]) proxy.addToxic(toxic);
  if (options.enabled !== false) await proxy.enable();
  return proxy;
}

/** Sends and forgets: a proxy that closed meanwhile, or a full buffer, is one more lost datagram. */
function sendQuietly(socket: Socket, data: Buffer, port: number, address: string): void {
  try {
    socket.send(data, port, address, () => {});
  } catch {
    // the socket was closed
  }
}

function probability(name: string, value: number | undefined): number {
  const p = value ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a probability from 0 to 1, got ${value}`);
  return p;
}

/** The toxics that stand for the fault options, on the streams `direction` picks (both by default). */
function udpFaultToxics(options: UdpFaults): ToxicInput[] {
  const drop = probability('drop', options.drop);
  const duplicate = probability('duplicate', options.duplicate);
  const reorder = probability('reorder', options.reorder);
  const reorderMaxMs = checkCount('reorderMaxMs', options.reorderMaxMs ?? 50, 0);
  const latencyMs = checkCount('latencyMs', options.latencyMs ?? 0, 0);
  const jitterMs = checkCount('jitterMs', options.jitterMs ?? 0, 0);
  const toxics: ToxicInput[] = [];
  const direction = options.direction ?? 'both';
  if (direction !== 'both' && direction !== 'up' && direction !== 'down') throw new RangeError(`direction must be both, up or down, got ${String(direction)}`);
  const streams = direction === 'both' ? (['upstream', 'downstream'] as const) : direction === 'up' ? (['upstream'] as const) : (['downstream'] as const);
  for (const stream of streams) {
    if (drop > 0) toxics.push({ type: 'drop', stream, attributes: { probability: drop } });
    if (duplicate > 0) toxics.push({ type: 'duplicate', stream, attributes: { probability: duplicate } });
    if (reorder > 0) toxics.push({ type: 'reorder', stream, attributes: { probability: reorder, max_ms: reorderMaxMs } });
    if (latencyMs > 0 || jitterMs > 0) toxics.push({ type: 'latency', stream, attributes: { latency: latencyMs, jitter: jitterMs } });
  }
  return toxics;
}
