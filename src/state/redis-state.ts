import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { SocklabError, systemCode } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';
import { Rooms, backendUnavailable, type SharedState, type SharedStateEvents, type SharedStateStatus } from './shared-state.js';

/**
 * INCRBY with a floor: the counter is first raised to the highest value this instance ever handed out. A Redis
 * restarted without persistence comes back with no counter; without the floor the next INCRBY would start again
 * at 1 and this instance would repeat its own values. (Values other instances handed out above this instance's
 * highest are not known here: only a Redis that persists the key, e.g. appendonly, keeps those unique.)
 */
const ALLOCATE_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[2])
if current < floor then redis.call('SET', KEYS[1], floor) end
return redis.call('INCRBY', KEYS[1], ARGV[1])`;

// ioredis (and its dozen dependencies) is loaded by the first RedisState, not by `import 'socklab'`.
const require = createRequire(import.meta.url);
let RedisClass: typeof Redis | undefined;

type AllocatingRedis = Redis & { socklabAllocate(key: string, count: number, floor: number): Promise<number> };

/** Where a Redis server is, from a `redis://host:port[/db]` URL. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  /** The URL as socklab prints it: `redis://host:port/db`. */
  location: string;
}

/**
 * Reads `redis://host[:port][/db]` (port 6379 and db 0 by default). Throws TypeError for anything else, which the
 * CLI reports as a usage error (exit 2).
 * @example parseRedisUrl('redis://127.0.0.1:6380/2') // { host: '127.0.0.1', port: 6380, db: 2, … }
 */
export function parseRedisUrl(text: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`Option '--redis' must be a URL like redis://127.0.0.1:6379/0; got '${text}'`);
  }
  const bad = (why: string): TypeError => new TypeError(`Option '--redis' ${why}; got '${text}'`);
  if (url.protocol !== 'redis:') throw bad('must start with redis:// (TLS and UNIX sockets are not supported)');
  if (url.hostname === '') throw bad('needs a host');
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') throw bad('takes only host, port and db');
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) throw bad('db must be a number from 0 to 99');
  const db = dbText === '' ? 0 : Number(dbText);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port, db, location: `redis://${url.host}/${db}` };
}

/** Options of `connectRedisState`. */
export interface RedisStateOptions {
  /** Prefix of every key and channel, so several socklab deployments can share one Redis. @default 'socklab:' */
  prefix?: string;
  /** Start-up connect deadline. @default DEFAULTS.backendConnectTimeoutMs */
  connectTimeoutMs?: number;
  /** Longest wait between reconnect attempts. @default DEFAULTS.backendMaxRetryDelayMs */
  maxRetryDelayMs?: number;
}

/**
 * Shared state in a real Redis server, so any number of instances on any machines share one counter (INCRBY)
 * and one room (PUBLISH/SUBSCRIBE), as socket.io's Redis adapter does. Two connections, because a connection
 * that subscribes can send nothing else.
 *
 * Nothing is queued while Redis is unreachable (`enableOfflineQueue: false`, no retry of a command in flight):
 * `allocate` rejects with SL_ERR_BACKEND_UNAVAILABLE and `publish` returns false, while both connections
 * reconnect with capped backoff. Messages published during an outage are lost across instances.
 *
 * @example
 * const state = await connectRedisState(parseRedisUrl(redisUrl)); // e.g. 'redis://127.0.0.1:6379/0'
 * state.on('status', (status, why) => console.error(`redis ${status} ${why ?? ''}`));
 * await state.close();
 */
export class RedisState extends EventEmitter<SharedStateEvents> implements SharedState {
  readonly kind = 'redis' as const;
  readonly location: string;
  readonly #commands: AllocatingRedis;
  /** The highest value this instance was given: the floor of every allocation. */
  #highest = 0;
  readonly #subscriber: Redis;
  readonly #rooms = new Rooms();
  /** Channels are not per database in Redis: the db number is part of the name, so db 1 and db 2 are apart. */
  readonly #roomPrefix: string;
  readonly #counterKey: string;
  #status: SharedStateStatus = 'down';
  #subscribed = false;
  #lastError = 'not connected';
  /** Capped exponential backoff with jitter, so instances that lost Redis together do not come back in step. */
  readonly #retryDelay: (attempt: number) => number;

  /** Use {@link connectRedisState}. */
  constructor(target: RedisTarget, options: RedisStateOptions = {}) {
    super();
    this.location = target.location;
    const prefix = options.prefix ?? 'socklab:';
    this.#counterKey = `${prefix}counter`;
    this.#roomPrefix = `${prefix}${target.db}:room:`;
    const maxDelayMs = checkCount('maxRetryDelayMs', options.maxRetryDelayMs ?? DEFAULTS.backendMaxRetryDelayMs, 1);
    const connectTimeout = checkCount('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULTS.backendConnectTimeoutMs, 1);
    const make = (): Redis => {
      RedisClass ??= (require('ioredis') as typeof import('ioredis')).Redis;
      const client = new RedisClass({
        host: target.host,
        port: target.port,
        db: target.db,
        lazyConnect: true,
        connectTimeout,
        enableOfflineQueue: false,
        // A command cut off by a disconnect fails instead of being sent again later: the counter answers nothing
        // rather than late, and a retried INCRBY could not tell whether the first one counted.
        maxRetriesPerRequest: 0,
        autoResubscribe: false,
        // No retry while starting, so a Redis that is down at start is a clear error; see connectRedisState.
        retryStrategy: () => null,
      });
      client.on('error', (err: Error) => {
        this.#lastError = systemCode(err) ?? err.message;
      });
      client.on('close', () => this.#update());
      client.on('ready', () => this.#update());
      return client;
    };
    this.#commands = make() as AllocatingRedis;
    this.#commands.defineCommand('socklabAllocate', { numberOfKeys: 1, lua: ALLOCATE_SCRIPT });
    this.#subscriber = make();
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel.startsWith(this.#roomPrefix)) this.#rooms.deliver(channel.slice(this.#roomPrefix.length), message);
    });
    // A new connection has no subscriptions: they are made again (all rooms at once) before the state is up.
    this.#subscriber.prependListener('close', () => (this.#subscribed = false));
    this.#subscriber.on('ready', () => void this.#resubscribe());
    this.#retryDelay = (attempt: number): number => Math.min(maxDelayMs, 50 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
  }

  get status(): SharedStateStatus {
    return this.#status;
  }

  /** Connects both connections; from then on they reconnect by themselves. */
  async start(): Promise<void> {
    try {
      await Promise.all([this.#commands.connect(), this.#subscriber.connect()]);
    } catch (err) {
      this.#commands.disconnect();
      this.#subscriber.disconnect();
      const why = systemCode(err) ?? this.#lastError;
      throw new SocklabError('SL_ERR_BACKEND_UNAVAILABLE', `Cannot connect to Redis at ${this.location}: ${why}`, { cause: err });
    }
    for (const client of [this.#commands, this.#subscriber]) client.options.retryStrategy = this.#retryDelay;
    await this.#resubscribe();
  }

  async #resubscribe(): Promise<void> {
    this.#subscribed = false;
    const rooms = this.#rooms.rooms.map((room) => this.#roomPrefix + room);
    try {
      if (rooms.length > 0) await this.#subscriber.subscribe(...rooms);
      this.#subscribed = true;
    } catch {
      // The connection dropped again; 'ready' runs this once more.
    }
    this.#update();
  }

  #update(): void {
    if (this.#status === 'closed') return;
    const up = this.#commands.status === 'ready' && this.#subscriber.status === 'ready' && this.#subscribed;
    const next: SharedStateStatus = up ? 'up' : 'down';
    if (next === this.#status) return;
    this.#status = next;
    this.emit('status', next, next === 'down' ? this.#lastError : undefined);
  }

  allocate(count: number): Promise<number> {
    if (this.#commands.status !== 'ready') return Promise.reject(backendUnavailable(this.location, this.#lastError));
    return this.#commands.socklabAllocate(this.#counterKey, count, this.#highest).then(
      (last) => {
        if (last > this.#highest) this.#highest = last;
        return last - count + 1;
      },
      (err: unknown) => {
        throw backendUnavailable(this.location, systemCode(err) ?? (err as Error).message);
      },
    );
  }

  publish(room: string, payload: string): boolean {
    // Down means down for rooms even if only the subscriber fell: nobody here would hear the answer.
    if (this.#status !== 'up') return false;
    this.#commands.publish(this.#roomPrefix + room, payload).catch(() => {});
    return true;
  }

  subscribe(room: string, handler: (payload: string) => void): () => void {
    const { first, remove } = this.#rooms.add(room, handler);
    if (first && this.#subscriber.status === 'ready') this.#subscriber.subscribe(this.#roomPrefix + room).catch(() => {});
    return () => {
      if (remove() && this.#subscriber.status === 'ready') this.#subscriber.unsubscribe(this.#roomPrefix + room).catch(() => {});
    };
  }

  async close(): Promise<void> {
    if (this.#status === 'closed') return;
    this.#status = 'closed';
    this.emit('status', 'closed');
    await Promise.all([this.#commands, this.#subscriber].map((client) => client.quit().catch(() => client.disconnect())));
  }
}

/**
 * Connects to Redis and resolves once both connections are ready.
 * @throws {SocklabError} SL_ERR_BACKEND_UNAVAILABLE naming the URL when Redis cannot be reached at start
 * @example
 * const state = await connectRedisState(parseRedisUrl(redisUrl)); // e.g. 'redis://127.0.0.1:6379'
 * console.log(await state.allocate(1) > 0); // true
 * await state.close();
 */
export async function connectRedisState(target: RedisTarget, options: RedisStateOptions = {}): Promise<RedisState> {
  const state = new RedisState(target, options);
  await state.start();
  return state;
}
