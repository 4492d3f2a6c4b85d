import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Endpoint } from '../address.js';
import { SocklabError } from '../errors.js';
import type { ClusterHub } from '../state/cluster-state.js';

/** Counters a worker reports when it stops; the primary adds them up. */
export type Totals = Record<string, number>;

/** Control messages between the primary and its workers (state traffic is in state/cluster-state.ts). */
type ControlMessage = { socklab: 'listening'; address: Endpoint } | { socklab: 'stopped'; totals: Totals } | { socklab: 'stop' };

function isControl(message: unknown): message is ControlMessage {
  const kind = (message as { socklab?: unknown } | null)?.socklab;
  return kind === 'listening' || kind === 'stopped' || kind === 'stop';
}

/**
 * True in a process forked by {@link runWorkers}.
 * @example const state = isWorker() ? new WorkerState() : new MemoryState();
 */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/** The CLI entry point the workers run (from dist/src/cluster/ up to the package root). */
const BIN = fileURLToPath(new URL('../../../bin/socklab.cjs', import.meta.url));

export interface RunWorkersOptions {
  count: number;
  /** The CLI arguments each worker runs (the same command, so the same flags). */
  argv: string[];
  /** Owns the counter and relays rooms for the workers; undefined when they share Redis instead. */
  hub: ClusterHub | undefined;
  signal: AbortSignal;
  /** Called once every worker listens, with the address they share. */
  onListening: (address: Endpoint) => void;
  /** Told when a worker dies unexpectedly (it is replaced). */
  onWorkerExit?: (id: number, code: number | null, signal: string | null) => void;
  /** How long stopping workers may take before they are killed. @default 10000 */
  stopTimeoutMs?: number;
}

/**
 * Runs `count` copies of the command as node:cluster workers sharing one listening port (TCP connections and
 * UDP datagrams are spread over them by the kernel and the primary) and returns their summed totals once
 * `signal` fires and every worker has stopped. A worker that crashes is replaced; if the primary dies, node:cluster
 * makes every worker exit, so no worker outlives it.
 *
 * @throws {SocklabError} SL_ERR_WORKER when a worker exits before it listens (its own error is on stderr), or
 * when workers keep dying (5 crashes in 10 s)
 * @example const totals = await runWorkers({ count: 2, argv: ['serve', '--mode', 'chat', '--workers', '2'], hub, signal, onListening });
 */
export async function runWorkers(options: RunWorkersOptions): Promise<Totals> {
  cluster.setupPrimary({ exec: BIN, args: options.argv, silent: false });
  const workers = new Set<Worker>();
  /** Workers that said they listen, so they also listen for 'stop'; one still starting may miss that message. */
  const ready = new WeakSet<Worker>();
  const totals: Totals = {};
  let stopping = false;
  let listening = 0;
  /** Times of recent crashes: a worker that keeps dying is a bug to report, not to restart forever. */
  const crashes: number[] = [];
  let allListening!: () => void;
  const started = new Promise<void>((resolve) => (allListening = resolve));
  let fail!: (err: SocklabError) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const aborted = new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    else options.signal.addEventListener('abort', () => resolve(), { once: true });
  });

  const fork = (): Worker => {
    const worker = cluster.fork();
    workers.add(worker);
    options.hub?.add(worker);
    let announced = false;
    worker.on('message', (message: unknown) => {
      if (!isControl(message)) return;
      if (message.socklab === 'listening' && !announced) {
        announced = true;
        ready.add(worker);
        if (++listening === options.count) {
          options.onListening(message.address);
          allListening();
        }
      } else if (message.socklab === 'stopped') {
        for (const [name, value] of Object.entries(message.totals)) totals[name] = (totals[name] ?? 0) + value;
      }
    });
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      // Exit code 0: the worker stopped on its own SIGINT/SIGTERM (Ctrl-C reaches the whole process group), and
      // the primary is about to stop too. Anything else is a crash.
      if (code === 0 && announced) return;
      if (listening < options.count) {
        fail(new SocklabError('SL_ERR_WORKER', `Worker ${worker.id} exited (code ${code ?? signal}) before listening`));
        return;
      }
      const now = Date.now();
      crashes.push(now);
      while (crashes[0]! < now - 10_000) crashes.shift();
      if (crashes.length >= 5) {
        fail(new SocklabError('SL_ERR_WORKER', `Workers keep dying (${crashes.length} in 10 s, the last with code ${code ?? signal}); stopping`));
        return;
      }
      options.onWorkerExit?.(worker.id, code, signal);
      fork();
    });
    return worker;
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    const exits = [...workers].map((worker) => new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once('exit', () => resolve()))));
    for (const worker of workers) {
      if (ready.has(worker) && worker.isConnected()) worker.send({ socklab: 'stop' } satisfies ControlMessage);
      else worker.process.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      for (const worker of workers) worker.process.kill('SIGKILL');
    }, options.stopTimeoutMs ?? 10_000);
    await Promise.all(exits);
    clearTimeout(timer);
  };

  for (let i = 0; i < options.count; i++) fork();
  try {
    await Promise.race([started, failed, aborted]);
    await Promise.race([failed, aborted]);
  } catch (err) {
    await stopAll();
    throw err;
  }
  await stopAll();
  return totals;
}

/**
 * In a worker: tells the primary the address it listens on (the primary prints it once for all).
 * @example reportListening(server.address());
 */
export function reportListening(address: Endpoint): void {
  process.send?.({ socklab: 'listening', address } satisfies ControlMessage);
}

/**
 * In a worker: resolves when the primary asks it to stop, or on its own SIGINT/SIGTERM.
 * @example await stopRequested(io.signal); await server.close();
 */
export function stopRequested(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      if (isControl(message) && message.socklab === 'stop') done();
    };
    const done = (): void => {
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * In a worker: hands its totals to the primary and waits until they are sent.
 * @example await reportStopped({ gets: 10 });
 */
export function reportStopped(totals: Totals): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send({ socklab: 'stopped', totals } satisfies ControlMessage, undefined, {}, () => resolve());
  });
}
