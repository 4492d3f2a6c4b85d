import type { Endpoint } from '../address.js';
import { isWorker, reportListening, reportStopped, runWorkers, stopRequested, type Totals } from '../cluster/workers.js';
import { DEFAULTS } from '../options.js';
import { ClusterHub, WorkerState } from '../state/cluster-state.js';
import { connectRedisState, parseRedisUrl, type RedisTarget } from '../state/redis-state.js';
import { MemoryCounter, MemoryState, type CounterStore, type SharedState } from '../state/shared-state.js';
import { openStateFile } from '../state/state-file.js';
import { println, untilAborted, usageError, type Io, type OptionSpec } from './command.js';

export { SCALE_OPTIONS } from './scale-options.js';

/** `--state` and its block size, for udp-serve. */
export const STATE_FILE_OPTIONS = {
  state: { type: 'string', placeholder: 'file', description: 'Keep the counter in this file: never repeats or goes back across restarts, kill -9 included' },
  'state-block-size': { type: 'number', default: DEFAULTS.stateBlockSize, min: 1, description: 'Values reserved per fsync of --state; a restart skips at most this many' },
} as const satisfies Record<string, OptionSpec>;

export interface ScaleValues {
  workers: number;
  redis: string | undefined;
  state?: string | undefined;
  'state-block-size'?: number;
}

/** A server the scaled runner starts, whatever it serves. */
export interface ScaledServer {
  address: Endpoint;
  totals(): Totals;
  close(): Promise<void>;
}

export interface RunScaledOptions {
  values: ScaleValues;
  io: Io;
  start(state: SharedState): Promise<ScaledServer>;
  /** Reports that the server listens, given the address (and how many workers share it); printed once. */
  onListening(address: Endpoint, workers: number): void;
  /** Reports the totals (summed over workers) once the server has stopped. */
  onStopped(totals: Totals): void;
}

/**
 * Checks the flag combination and reads `--redis`; bad values are usage errors (exit 2).
 * @example checkScaleValues({ workers: 1, redis: 'redis://127.0.0.1/0' }) // { host: '127.0.0.1', port: 6379, db: 0, … }
 */
export function checkScaleValues(values: ScaleValues): RedisTarget | undefined {
  if (values.redis !== undefined && values.state !== undefined) {
    throw usageError("Options '--redis' and '--state' conflict: with Redis the counter lives in Redis");
  }
  if (values.redis === undefined) return undefined;
  try {
    return parseRedisUrl(values.redis);
  } catch (err) {
    throw usageError((err as Error).message);
  }
}

async function localCounter(values: ScaleValues): Promise<CounterStore> {
  if (values.state === undefined) return new MemoryCounter();
  return openStateFile(values.state, { blockSize: values['state-block-size'] ?? DEFAULTS.stateBlockSize });
}

/**
 * Runs one server the way the flags say: alone in this process (state in memory or in a `--state` file), as
 * the primary of `--workers` processes (the primary holds the counter and relays the room; the workers
 * serve), as one of those workers, or on a shared Redis (`--redis`, combinable with `--workers`).
 * @example return runScaled({ values, io, start: async (state) => …, onListening, onStopped });
 */
export async function runScaled(options: RunScaledOptions): Promise<number> {
  const { values, io } = options;
  const redis = checkScaleValues(values);
  if (isWorker()) {
    // Listened for from the start: the primary may ask a worker to stop before it has finished starting.
    const stop = stopRequested(io.signal);
    const state = redis ? await connectRedisState(redis) : new WorkerState();
    const server = await options.start(state);
    reportListening(server.address);
    await stop;
    await server.close();
    await reportStopped(server.totals());
    await state.close();
    return 0;
  }
  if (values.workers > 1) {
    // Checked once here, so that Redis down at start is one clear error, not one per worker.
    if (redis) await (await connectRedisState(redis)).close();
    const hub = redis ? undefined : new ClusterHub(await localCounter(values));
    try {
      const totals = await runWorkers({
        count: values.workers,
        argv: process.argv.slice(2),
        hub,
        signal: io.signal,
        onListening: (address) => options.onListening(address, values.workers),
        onWorkerExit: (id, code, signal) => println(io.stderr, `worker ${id} died (${code ?? signal}); starting another`),
      });
      options.onStopped(totals);
    } finally {
      await hub?.close();
    }
    return 0;
  }
  const state = redis ? await connectRedisState(redis) : new MemoryState(await localCounter(values));
  try {
    const server = await options.start(state);
    options.onListening(server.address, 1);
    await untilAborted(io.signal);
    await server.close();
    options.onStopped(server.totals());
  } finally {
    await state.close();
  }
  return 0;
}
