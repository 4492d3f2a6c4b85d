import { EventEmitter } from 'node:events';
import { SocklabError } from '../errors.js';

/** Which implementation holds the state. */
export type SharedStateKind = 'memory' | 'file' | 'workers' | 'redis';

/** `up` → `down` (backend unreachable; reconnecting) → `up` again. `closed` is final. */
export type SharedStateStatus = 'up' | 'down' | 'closed';

/** The events of a {@link SharedState}. */
export interface SharedStateEvents {
  /** The backend became reachable or unreachable; `reason` says why it went down. */
  status: [status: SharedStateStatus, reason?: string];
}

/**
 * State shared by every instance of a server: one counter and any number of rooms (publish/subscribe). One
 * interface, so the counter and chat servers run unchanged in one process ({@link MemoryState}), across
 * `--workers` processes (the cluster primary holds it) and across machines (Redis).
 *
 * Rules every implementation keeps:
 * - `allocate(n)` resolves with the first of `n` consecutive values no caller ever got before; calls made in
 *   order resolve in order with increasing values. When the backend is unreachable it rejects with
 *   SL_ERR_BACKEND_UNAVAILABLE: a value is never invented.
 * - `publish` is best effort: while the backend is down a message is not queued (it returns false). Every
 *   subscriber of the room, the publishing instance included, gets each message at most once, in publish order.
 *
 * @example
 * const state = new MemoryState();
 * const first = await state.allocate(3); // 1 (1, 2 and 3 are ours)
 * state.subscribe('lobby', (payload) => console.log(payload));
 * state.publish('lobby', 'hello');
 */
export interface SharedState extends EventEmitter<SharedStateEvents> {
  readonly kind: SharedStateKind;
  readonly status: SharedStateStatus;
  /** Where the state lives, for logs: `redis://127.0.0.1:6379/0`, a file path, `memory`. */
  readonly location: string;
  allocate(count: number): Promise<number>;
  publish(room: string, payload: string): boolean;
  /** Returns the function that unsubscribes. */
  subscribe(room: string, handler: (payload: string) => void): () => void;
  close(): Promise<void>;
}

/**
 * The error `allocate` rejects with while the backend is down.
 * @example throw backendUnavailable('redis://127.0.0.1:6379/0', 'ECONNREFUSED')
 */
export function backendUnavailable(location: string, why: string): SocklabError {
  return new SocklabError('SL_ERR_BACKEND_UNAVAILABLE', `Shared state at ${location} is unavailable: ${why}`);
}

/**
 * Subscribers per room, shared by the implementations that deliver locally.
 * @example const rooms = new Rooms(); rooms.add('lobby', console.log); rooms.deliver('lobby', 'hi');
 */
export class Rooms {
  readonly #rooms = new Map<string, Set<(payload: string) => void>>();

  get rooms(): string[] {
    return [...this.#rooms.keys()];
  }

  /** Adds a handler; returns its removal and whether it was the room's first. */
  add(room: string, handler: (payload: string) => void): { remove: () => boolean; first: boolean } {
    let handlers = this.#rooms.get(room);
    const first = handlers === undefined;
    if (handlers === undefined) this.#rooms.set(room, (handlers = new Set()));
    handlers.add(handler);
    return {
      first,
      remove: () => {
        handlers.delete(handler);
        if (handlers.size > 0 || this.#rooms.get(room) !== handlers) return false;
        this.#rooms.delete(room);
        return true;
      },
    };
  }

  deliver(room: string, payload: string): void {
    const handlers = this.#rooms.get(room);
    if (handlers) for (const handler of handlers) handler(payload);
  }
}

/**
 * Allocates counter values; {@link MemoryState} and the workers' primary take one.
 * @example
 * let last = 0;
 * const store: CounterStore = { location: 'memory', allocate: async (count) => (last += count) - count + 1, close: async () => {} };
 * const state = new MemoryState(store); // the counter kept where you choose
 * console.log(await state.allocate(10)); // 1: values 1 … 10 are ours
 */
export interface CounterStore {
  readonly location: string;
  allocate(count: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * A plain counter in this process's memory: gone when the process ends.
 * @example await new MemoryCounter().allocate(1) // 1
 */
export class MemoryCounter implements CounterStore {
  readonly location = 'memory';
  #last = 0;

  allocate(count: number): Promise<number> {
    const first = this.#last + 1;
    this.#last += count;
    return Promise.resolve(first);
  }

  async close(): Promise<void> {}
}

/**
 * The embedded default: state in this process only. Nothing to install, nothing shared with other processes.
 * Pass a {@link CounterStore} (e.g. a `--state` file) to keep the counter somewhere else.
 * @example
 * const state = new MemoryState();
 * console.log(await state.allocate(1)); // 1
 * await state.close();
 */
export class MemoryState extends EventEmitter<SharedStateEvents> implements SharedState {
  readonly kind: SharedStateKind;
  readonly location: string;
  #status: SharedStateStatus = 'up';
  readonly #counter: CounterStore;
  readonly #rooms = new Rooms();

  constructor(counter: CounterStore = new MemoryCounter()) {
    super();
    this.#counter = counter;
    this.kind = counter instanceof MemoryCounter ? 'memory' : 'file';
    this.location = counter.location;
  }

  get status(): SharedStateStatus {
    return this.#status;
  }

  allocate(count: number): Promise<number> {
    if (this.#status === 'closed') return Promise.reject(backendUnavailable(this.location, 'closed'));
    return this.#counter.allocate(count);
  }

  publish(room: string, payload: string): boolean {
    if (this.#status === 'closed') return false;
    // Delivered on a later turn, as a remote backend would: a publisher never re-enters its own handlers.
    queueMicrotask(() => this.#rooms.deliver(room, payload));
    return true;
  }

  subscribe(room: string, handler: (payload: string) => void): () => void {
    return this.#rooms.add(room, handler).remove;
  }

  async close(): Promise<void> {
    if (this.#status === 'closed') return;
    this.#status = 'closed';
    this.emit('status', 'closed');
    await this.#counter.close();
  }
}
