import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { Rooms, backendUnavailable, type CounterStore, type SharedState, type SharedStateEvents, type SharedStateStatus } from './shared-state.js';

/** Messages between a worker and the primary; `socklab` tells them apart from anything else on the channel. */
export type ClusterMessage =
  | { socklab: 'allocate'; id: number; count: number }
  | { socklab: 'allocated'; id: number; first?: number; error?: string }
  | { socklab: 'publish'; room: string; payload: string }
  | { socklab: 'deliver'; room: string; payload: string };

function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && typeof (message as { socklab?: unknown }).socklab === 'string';
}

/**
 * The primary's side of `--workers`: it owns the counter (in memory or a `--state` file) and relays every room
 * message to every worker. Workers ask over the IPC channel node:cluster gives them, so values stay unique across
 * all of them and a room spans every core.
 * @example const hub = new ClusterHub(new MemoryCounter()); cluster.on('fork', (worker) => hub.add(worker));
 */
export class ClusterHub {
  readonly #counter: CounterStore;
  readonly #workers = new Set<Worker>();

  constructor(counter: CounterStore) {
    this.#counter = counter;
  }

  add(worker: Worker): void {
    this.#workers.add(worker);
    worker.on('message', (message: unknown) => {
      if (isClusterMessage(message)) this.#handle(worker, message);
    });
    worker.on('exit', () => this.#workers.delete(worker));
    // A worker that exits between isConnected() and the write breaks the pipe (EPIPE); its 'exit' follows, so the
    // failed reply is only to a worker that no longer asks. Without a listener it would crash the primary.
    worker.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_IPC_CHANNEL_CLOSED') throw err;
    });
  }

  #handle(worker: Worker, message: ClusterMessage): void {
    if (message.socklab === 'allocate') {
      const reply = (answer: ClusterMessage): void => {
        if (worker.isConnected()) worker.send(answer);
      };
      this.#counter.allocate(message.count).then(
        (first) => reply({ socklab: 'allocated', id: message.id, first }),
        (err: unknown) => reply({ socklab: 'allocated', id: message.id, error: (err as Error).message }),
      );
    } else if (message.socklab === 'publish') {
      const deliver: ClusterMessage = { socklab: 'deliver', room: message.room, payload: message.payload };
      for (const each of this.#workers) if (each.isConnected()) each.send(deliver);
    }
  }

  close(): Promise<void> {
    return this.#counter.close();
  }
}

/**
 * A worker's view of the state its primary ({@link ClusterHub}) holds. Down for good once the primary is gone.
 * @example const state = new WorkerState(); await state.allocate(1);
 */
export class WorkerState extends EventEmitter<SharedStateEvents> implements SharedState {
  readonly kind = 'workers' as const;
  readonly location = 'cluster primary';
  #status: SharedStateStatus = 'up';
  readonly #rooms = new Rooms();
  readonly #waiting = new Map<number, { resolve: (first: number) => void; reject: (err: Error) => void }>();
  #nextId = 1;
  readonly #onMessage = (message: unknown): void => {
    if (!isClusterMessage(message)) return;
    if (message.socklab === 'deliver') this.#rooms.deliver(message.room, message.payload);
    else if (message.socklab === 'allocated') {
      const waiter = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      if (message.first !== undefined) waiter?.resolve(message.first);
      else waiter?.reject(backendUnavailable(this.location, message.error ?? 'no value'));
    }
  };
  readonly #onDisconnect = (): void => {
    this.#status = 'down';
    for (const waiter of this.#waiting.values()) waiter.reject(backendUnavailable(this.location, 'primary gone'));
    this.#waiting.clear();
    this.emit('status', 'down', 'primary gone');
  };

  constructor() {
    super();
    if (!process.send) throw new TypeError('WorkerState needs an IPC channel (a node:cluster worker)');
    process.on('message', this.#onMessage);
    process.once('disconnect', this.#onDisconnect);
  }

  get status(): SharedStateStatus {
    return this.#status;
  }

  allocate(count: number): Promise<number> {
    if (this.#status !== 'up') return Promise.reject(backendUnavailable(this.location, this.#status));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#send({ socklab: 'allocate', id, count });
    });
  }

  publish(room: string, payload: string): boolean {
    if (this.#status !== 'up') return false;
    this.#send({ socklab: 'publish', room, payload });
    return true;
  }

  subscribe(room: string, handler: (payload: string) => void): () => void {
    return this.#rooms.add(room, handler).remove;
  }

  #send(message: ClusterMessage): void {
    if (process.connected) process.send!(message);
  }

  async close(): Promise<void> {
    if (this.#status === 'closed') return;
    this.#status = 'closed';
    process.off('message', this.#onMessage);
    process.off('disconnect', this.#onDisconnect);
    this.emit('status', 'closed');
  }
}
