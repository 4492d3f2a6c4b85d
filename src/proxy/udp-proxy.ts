import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { formatEndpoint, toEndpoint, unbracket, type Endpoint } from '../address.js';
import { resolveHost } from '../dns.js';
import { bindError } from '../errors.js';
import { checkCount, checkPort } from '../options.js';
import { freshSeed, jitteredDelay, seededRandom } from './random.js';

/** Faults a UDP proxy injects, each datagram on its own, both ways. Probabilities are from 0 to 1. */
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
  /** Seed for every random choice: the same seed, the same faults. @default random (read it back from `seed`) */
  seed?: number;
}

export interface UdpProxyOptions extends UdpFaults {
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

/** Counters of a UDP proxy. */
export interface UdpProxyStats {
  /** Datagrams handed on, duplicates included. */
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  sessions: number;
  /** Datagrams from new clients while `maxSessions` were relayed. */
  refused: number;
}

/** A running UDP fault proxy. */
export class UdpProxy extends EventEmitter {
  readonly stats: UdpProxyStats = { forwarded: 0, dropped: 0, duplicated: 0, reordered: 0, sessions: 0, refused: 0 };
  readonly seed: number;
  readonly #socket: Socket;
  readonly #sessions: Map<string, Session>;
  readonly #sweeper: NodeJS.Timeout;

  /** Use {@link startUdpProxy}. */
  constructor(socket: Socket, seed: number, sessions: Map<string, Session>, sweeper: NodeJS.Timeout) {
    super();
    this.#socket = socket;
    this.seed = seed;
    this.#sessions = sessions;
    this.#sweeper = sweeper;
  }

  address(): Endpoint {
    return toEndpoint(this.#socket.address());
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const session of this.#sessions.values()) session.close();
    this.#sessions.clear();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
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
  const target = await resolveHost(options.targetHost ?? '127.0.0.1');
  const host = unbracket(options.host ?? '127.0.0.1');
  const port = checkPort('port', options.port ?? 0);
  const maxSessions = checkCount('maxSessions', options.maxSessions ?? 1024, 1);
  const sessionIdleMs = checkCount('sessionIdleMs', options.sessionIdleMs ?? 30_000, 1);
  const faults = resolveFaults(options);
  const seed = options.seed ?? freshSeed();
  // Each direction of each client draws from its own generator: one shared generator would hand out its
  // numbers in whatever order datagrams happen to interleave, and a replay would not repeat the faults.
  let lanes = 0;
  const laneRandom = (): (() => number) => seededRandom((seed ^ Math.imul(++lanes, 0x9e3779b9)) >>> 0);

  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => reject(bindError(formatEndpoint({ address: host, port }), err)));
    socket.bind({ address: host, port }, () => {
      socket.removeAllListeners('error');
      resolve();
    });
  });
  socket.on('error', () => {});
  const sessions = new Map<string, Session>();
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const [key, session] of sessions) {
      if (now - session.lastSeen > sessionIdleMs) {
        session.close();
        sessions.delete(key);
      }
    }
  }, Math.min(sessionIdleMs, 1000));
  sweeper.unref();
  const proxy = new UdpProxy(socket, seed, sessions, sweeper);
  const { stats } = proxy;

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
        toTarget: new Lane((bytes) => sendQuietly(upstream, bytes, targetPort, target.address), faults, laneRandom(), stats),
        toClient: new Lane((bytes) => sendQuietly(socket, bytes, rinfo.port, rinfo.address), faults, laneRandom(), stats),
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

type ResolvedFaults = Required<Omit<UdpFaults, 'seed'>>;

function probability(name: string, value: number | undefined): number {
  const p = value ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a probability from 0 to 1, got ${value}`);
  return p;
}

function resolveFaults(options: UdpFaults): ResolvedFaults {
  return {
    drop: probability('drop', options.drop),
    duplicate: probability('duplicate', options.duplicate),
    reorder: probability('reorder', options.reorder),
    reorderMaxMs: checkCount('reorderMaxMs', options.reorderMaxMs ?? 50, 0),
    latencyMs: checkCount('latencyMs', options.latencyMs ?? 0, 0),
    jitterMs: checkCount('jitterMs', options.jitterMs ?? 0, 0),
  };
}

/** One direction of one session: decides each datagram's fate and sends it. */
class Lane {
  #held: { data: Buffer; timer: NodeJS.Timeout } | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly send: (data: Buffer) => void,
    readonly faults: ResolvedFaults,
    readonly random: () => number,
    readonly stats: UdpProxyStats,
  ) {}

  push(data: Buffer): void {
    const { faults, random, stats } = this;
    // Three draws for every datagram, whatever happens to it, so its fate depends only on the seed and its
    // place in the sequence, never on timing (whether an earlier one is still held back).
    const dropRoll = random();
    const duplicateRoll = random();
    const reorderRoll = random();
    if (dropRoll < faults.drop) {
      stats.dropped++;
      return;
    }
    const copies = duplicateRoll < faults.duplicate ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    if (this.#held === undefined && reorderRoll < faults.reorder) {
      stats.reordered++;
      const held = { data, timer: setTimeout(() => this.#releaseHeld(), faults.reorderMaxMs) };
      this.#held = held;
      if (copies === 2) this.#deliver(data);
      return;
    }
    for (let i = 0; i < copies; i++) this.#deliver(data);
    this.#releaseHeld();
  }

  close(): void {
    if (this.#held) clearTimeout(this.#held.timer);
    this.#held = undefined;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #releaseHeld(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    clearTimeout(held.timer);
    this.#deliver(held.data);
  }

  #deliver(data: Buffer): void {
    const delay = jitteredDelay(this.faults.latencyMs, this.faults.jitterMs, this.random);
    this.stats.forwarded++;
    if (delay <= 0) {
      this.send(data);
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.send(data);
    }, delay);
    this.#timers.add(timer);
  }
}
