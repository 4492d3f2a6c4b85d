import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { SocklabError, systemCode } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';
import type { CounterStore } from './shared-state.js';

const MAGIC = 'socklab-counter 1';

export interface StateFileOptions {
  /** Values reserved per write+fsync. @default DEFAULTS.stateBlockSize */
  blockSize?: number;
}

/**
 * The text of a state file: a magic/version line, the high-water mark, and a SHA-256 of the two, so a torn,
 * truncated or hand-edited file is detected instead of read as some other number.
 * @example formatStateFile(2000) // 'socklab-counter 1\nhigh-water 2000\nsha256 …\n'
 */
export function formatStateFile(highWater: number): string {
  const body = `${MAGIC}\nhigh-water ${highWater}\n`;
  return `${body}sha256 ${createHash('sha256').update(body).digest('hex')}\n`;
}

/** Reads the high-water mark back; throws SL_ERR_STATE_CORRUPT when the text is not exactly what we write. */
export function parseStateFile(path: string, text: string): number {
  const match = /^(socklab-counter 1\nhigh-water (\d{1,16})\n)sha256 ([0-9a-f]{64})\n$/.exec(text);
  const corrupt = (why: string): SocklabError =>
    new SocklabError('SL_ERR_STATE_CORRUPT', `State file ${path} is corrupt (${why}); refusing to start rather than reset the counter to 0`);
  if (!match) throw corrupt(text.startsWith(MAGIC) ? 'bad layout' : 'not a socklab counter state file');
  if (createHash('sha256').update(match[1]!).digest('hex') !== match[3]) throw corrupt('checksum mismatch');
  const highWater = Number(match[2]);
  if (!Number.isSafeInteger(highWater)) throw corrupt('high-water mark out of range');
  return highWater;
}

function ioError(path: string, what: string, cause: unknown): SocklabError {
  return new SocklabError('SL_ERR_STATE_IO', `Cannot ${what} state file ${path}: ${systemCode(cause) ?? String(cause)}`, { cause });
}

/**
 * A counter that never repeats a value and never goes backwards across restarts, kill -9 included, the way
 * database sequences do it: values are handed out only from a block whose end (the high-water mark) is already
 * on disk. Reserving a block writes a temporary file, fsyncs it, renames it over the old one and fsyncs the
 * directory, so after a crash the file holds either the old mark or the new one, both safe. A restart starts
 * above the mark and so skips whatever was left of the last block (at most `blockSize - 1` values).
 *
 * @throws {SocklabError} SL_ERR_STATE_CORRUPT, SL_ERR_STATE_IO (from {@link openStateFile})
 * @example
 * const counter = await openStateFile('/var/lib/socklab/counter', { blockSize: 1000 });
 * const first = await counter.allocate(1);
 */
export class StateFileCounter implements CounterStore {
  readonly location: string;
  readonly blockSize: number;
  /** The last value handed out. */
  #last: number;
  /** Values up to this are reserved on disk. */
  #highWater: number;
  /** Set while a block is being written: allocations queue behind it, so they resolve in call order. */
  #writing: Promise<void> | undefined;
  #failed: SocklabError | undefined;
  /** Blocks reserved since start (one write and fsync each). */
  blocksReserved = 0;

  readonly #unlock: () => Promise<void>;

  /** Use {@link openStateFile}. */
  constructor(path: string, highWater: number, blockSize: number, unlock: () => Promise<void> = async () => {}) {
    this.location = path;
    this.#unlock = unlock;
    this.#last = highWater;
    this.#highWater = highWater;
    this.blockSize = blockSize;
  }

  /** The high-water mark on disk. */
  get highWater(): number {
    return this.#highWater;
  }

  allocate(count: number): Promise<number> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#writing === undefined && this.#last + count <= this.#highWater) return Promise.resolve(this.#take(count));
    return this.#afterReserve(count);
  }

  async #afterReserve(count: number): Promise<number> {
    while (this.#writing) await this.#writing;
    if (this.#failed) throw this.#failed;
    if (this.#last + count > this.#highWater) {
      const target = this.#last + count + this.blockSize - 1;
      this.#writing = this.reserve(target).finally(() => (this.#writing = undefined));
      await this.#writing;
    }
    return this.#take(count);
  }

  #take(count: number): number {
    const first = this.#last + 1;
    this.#last += count;
    return first;
  }

  /** Writes a new high-water mark durably. On failure the counter stops handing out values: never a silent reset. */
  async reserve(highWater: number): Promise<void> {
    const path = this.location;
    const temporary = `${path}.tmp`;
    try {
      const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
      try {
        await file.writeFile(formatStateFile(highWater));
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, path);
      // The rename itself is durable only once the directory is synced.
      const directory = await open(dirname(path), constants.O_RDONLY);
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
    } catch (err) {
      await unlink(temporary).catch(() => {});
      this.#failed = ioError(path, 'write', err);
      throw this.#failed;
    }
    this.#highWater = highWater;
    this.blocksReserved++;
  }

  async close(): Promise<void> {
    while (this.#writing) await this.#writing.catch(() => {});
    await this.#unlock();
  }
}

/** True while a process with this PID exists (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return systemCode(err) === 'EPERM';
  }
}

/**
 * Takes `<path>.lock` for this process: two servers on one state file would each reserve their own blocks from
 * the same mark and hand out the same values. A lock left by a process that no longer runs (kill -9) is taken over.
 *
 * On Linux the exclusion itself is a listening socket with an abstract name derived from the file's real path: the
 * kernel lets one process bind it and frees it when that process dies, kill -9 included, so two servers taking
 * over the same stale lock at the same moment cannot both win. The `.lock` file then only says who holds it.
 */
async function lockStateFile(path: string): Promise<() => Promise<void>> {
  if (process.platform !== 'linux') return lockWithFile(path);
  const lock = `${path}.lock`;
  let real: string;
  try {
    real = join(await realpath(dirname(path)), basename(path));
  } catch (err) {
    throw ioError(path, 'write', err); // its folder does not exist or cannot be read
  }
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: `\0socklab-state-${createHash('sha256').update(real).digest('hex')}` }, resolve);
    });
  } catch (err) {
    if (systemCode(err) !== 'EADDRINUSE') throw ioError(path, 'lock', err);
    const holder = Number.parseInt(await readFile(lock, 'latin1').catch(() => ''), 10);
    const who = Number.isInteger(holder) ? `process ${holder}` : 'another process';
    throw new SocklabError('SL_ERR_STATE_IO', `State file ${path} is in use by ${who} (${lock}); one server per state file`);
  }
  server.unref(); // the lock must not keep the process alive on its own
  try {
    await writeFile(lock, `${process.pid}\n`);
  } catch (err) {
    server.close();
    throw ioError(path, 'write', err);
  }
  return async () => {
    await unlink(lock).catch(() => {});
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** Elsewhere: the `.lock` file alone, created exclusively; a stale one is removed and created again. */
async function lockWithFile(path: string): Promise<() => Promise<void>> {
  const lock = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      return () => unlink(lock).catch(() => {});
    } catch (err) {
      if (systemCode(err) !== 'EEXIST') throw ioError(path, 'write', err);
    }
    const holder = Number.parseInt(await readFile(lock, 'latin1').catch(() => ''), 10);
    if (Number.isInteger(holder) && processAlive(holder)) {
      throw new SocklabError('SL_ERR_STATE_IO', `State file ${path} is in use by process ${holder} (${lock}); one server per state file`);
    }
    await unlink(lock).catch(() => {});
  }
  throw new SocklabError('SL_ERR_STATE_IO', `Cannot lock state file ${path}: another server took ${lock} at the same time`);
}

/**
 * Opens (or creates) a counter state file and reserves the first block at once, so an unwritable path fails at
 * start, not at the first `get`.
 * @throws {SocklabError} SL_ERR_STATE_CORRUPT when the file is not ours or damaged, SL_ERR_STATE_IO when it cannot be read or written
 * @example const counter = await openStateFile('counter.state');
 */
export async function openStateFile(path: string, options: StateFileOptions = {}): Promise<StateFileCounter> {
  const blockSize = checkCount('blockSize', options.blockSize ?? DEFAULTS.stateBlockSize, 1);
  const unlock = await lockStateFile(path);
  let highWater = 0;
  try {
    highWater = parseStateFile(path, await readFile(path, 'latin1'));
  } catch (err) {
    if (err instanceof SocklabError || systemCode(err) !== 'ENOENT') {
      await unlock();
      throw err instanceof SocklabError ? err : ioError(path, 'read', err);
    }
  }
  const counter = new StateFileCounter(path, highWater, blockSize, unlock);
  try {
    await counter.reserve(highWater + blockSize);
  } catch (err) {
    await unlock();
    throw err;
  }
  return counter;
}
