import { closeSync, openSync, write, writeSync, writev } from 'node:fs';
import { DEFAULTS, checkCount } from '../options.js';

/**
 * Appends text to a file with at most one `write(2)` per `flushDelayMs`: entries are joined and handed to the disk
 * together, off the hot path (sooner once `FLUSH_AT_BYTES` wait). Memory is bounded: past
 * `maxBufferedBytes` waiting for the disk, entries are dropped and counted in `dropped` (a log must never slow
 * the connections it watches, nor grow without bound when the disk is slow).
 *
 * @example
 * const log = new BatchedFileWriter('/tmp/session.log');
 * log.write('hello\n');
 * await log.close(); // everything accepted is on disk
 */
export class BatchedFileWriter {
  /** Waiting bytes that make the next write go out at the end of this turn instead of after the delay. */
  static readonly FLUSH_AT_BYTES = 256 * 1024;
  /** Entries refused because the buffer was full. */
  dropped = 0;
  /** Bytes written to the file so far. */
  written = 0;
  readonly path: string;
  readonly #fd: number;
  readonly #maxBufferedBytes: number;
  readonly #flushDelayMs: number;
  #pending: (string | Uint8Array)[] = [];
  #pendingBytes = 0;
  #inFlightBytes = 0;
  #scheduled: NodeJS.Timeout | NodeJS.Immediate | undefined = undefined;
  #soon = false;
  #writing = false;
  #closed = false;
  #idle: (() => void)[] = [];

  /**
   * Opens (creates, appends to) the file now, so a bad path fails before any traffic. `flushDelayMs` (default 10):
   * how long entries may wait to be written. Measured (BENCHMARKS.md, cost suite): one write per turn cost a
   * server answering 100 clients with `--log` about 1 µs per request in the thread-pool hand-off and its
   * completion alone; one per 10 ms costs a log read with `tail -f` nothing anyone can see.
   */
  constructor(path: string, options: { maxBufferedBytes?: number; flushDelayMs?: number } = {}) {
    this.path = path;
    this.#maxBufferedBytes = checkCount('maxBufferedBytes', options.maxBufferedBytes ?? DEFAULTS.maxLogBufferBytes, 1);
    this.#flushDelayMs = checkCount('flushDelayMs', options.flushDelayMs ?? 10, 0);
    this.#fd = openSync(path, 'a');
  }

  /** Queues `text` (a string, written as UTF-8, or bytes); returns false (and counts it) when it was dropped. */
  write(text: string | Uint8Array): boolean {
    if (this.#closed) return false;
    // A string's length in UTF-16 units is close enough to bytes for a bound; the exact count is taken when writing.
    if (this.#pendingBytes + this.#inFlightBytes + text.length > this.#maxBufferedBytes) {
      this.dropped++;
      return false;
    }
    this.#pending.push(text);
    this.#pendingBytes += text.length;
    if (!this.#writing) this.#schedule();
    return true;
  }

  /** Bytes already encoded (a session trace's entries, see TraceSink): the same as write(). */
  writeBytes(bytes: Uint8Array): boolean {
    return this.write(bytes);
  }

  /** The next write: after the delay, or at the end of this turn once enough waits. */
  #schedule(): void {
    const soon = this.#pendingBytes >= BatchedFileWriter.FLUSH_AT_BYTES || this.#flushDelayMs === 0;
    if (this.#scheduled !== undefined && (this.#soon || !soon)) return;
    if (this.#scheduled !== undefined) clearTimeout(this.#scheduled as NodeJS.Timeout);
    this.#soon = soon;
    this.#scheduled = soon ? setImmediate(flushWriter, this) : setTimeout(flushWriter, this.#flushDelayMs, this);
  }

  /** @internal */
  flushNow(): void {
    if (this.#soon) clearImmediate(this.#scheduled as NodeJS.Immediate);
    else clearTimeout(this.#scheduled as NodeJS.Timeout);
    this.#scheduled = undefined;
    this.#flush();
  }

  #flush(): void {
    // One write at a time, in order: what waits goes out when the current one completes.
    if (this.#writing) return;
    if (this.#pending.length === 0 || this.#closed) return this.#settle();
    // Several byte pieces (a session trace's batches) go out in one writev: no copy into one buffer first.
    const pending = this.#pending;
    const pieces = pending.length <= MAX_WRITEV_PIECES && pending.every((piece) => typeof piece !== 'string') ? (pending as Uint8Array[]) : [joined(pending)];
    this.#inFlightBytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#writing = true;
    const done = (err: Error | null, total: number): void => {
      if (err) this.dropped++;
      else this.written += total;
      this.#writing = false;
      this.#inFlightBytes = 0;
      // What arrived during the write goes out in the next single write.
      if (this.#pending.length > 0 && !this.#closed) this.#schedule();
      else this.#settle();
    };
    const writeFrom = (data: Buffer, offset: number): void => {
      write(this.#fd, data, offset, data.length - offset, null, (err, n) => {
        if (!err && offset + n < data.length) return writeFrom(data, offset + n);
        done(err, data.length);
      });
    };
    if (pieces.length === 1) return writeFrom(Buffer.from(pieces[0]!.buffer, pieces[0]!.byteOffset, pieces[0]!.byteLength), 0);
    const total = pieces.reduce((sum, piece) => sum + piece.byteLength, 0);
    writev(this.#fd, pieces, null, (err, n) => {
      // A short write (a full disk, a signal) finishes from where it stopped, as one buffer.
      if (!err && n < total) return writeFrom(Buffer.concat(pieces).subarray(n), 0);
      done(err, total);
    });
  }

  #settle(): void {
    if (this.#writing || this.#scheduled !== undefined) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Resolves once everything accepted so far has reached the file. */
  flushed(): Promise<void> {
    if (!this.#writing && this.#scheduled === undefined && this.#pending.length === 0) return Promise.resolve();
    // Whoever waits for the file should not wait out the delay as well.
    if (this.#scheduled !== undefined) this.flushNow();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Writes what is still queued and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flushed();
    this.#closed = true;
    if (this.#pending.length > 0) {
      const data = joined(this.#pending);
      writeSync(this.#fd, data);
      this.written += data.length;
      this.#pending = [];
    }
    closeSync(this.#fd);
  }
}

/** Past this many pieces, one buffer (the kernel takes at most IOV_MAX, 1024, per writev). */
const MAX_WRITEV_PIECES = 256;

function flushWriter(writer: BatchedFileWriter): void {
  writer.flushNow();
}

/** One buffer of every pending piece, strings as UTF-8. */
function joined(pending: (string | Uint8Array)[]): Buffer {
  if (pending.every((piece) => typeof piece === 'string')) return Buffer.from(pending.join(''));
  return Buffer.concat(pending.map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : piece)));
}
