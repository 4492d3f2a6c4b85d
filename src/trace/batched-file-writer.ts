import { closeSync, openSync, write, writeSync } from 'node:fs';
import { DEFAULTS, checkCount } from '../options.js';

/**
 * Appends text to a file with at most one `write(2)` per event-loop turn: entries written during a turn are
 * joined and handed to the disk together on the next turn, off the hot path. Memory is bounded: past
 * `maxBufferedBytes` waiting for the disk, entries are dropped and counted in `dropped` (a log must never slow
 * the connections it watches, nor grow without bound when the disk is slow).
 *
 * @example
 * const log = new BatchedFileWriter('/tmp/session.log');
 * log.write('hello\n');
 * await log.close(); // everything accepted is on disk
 */
export class BatchedFileWriter {
  /** Entries refused because the buffer was full. */
  dropped = 0;
  /** Bytes written to the file so far. */
  written = 0;
  readonly path: string;
  readonly #fd: number;
  readonly #maxBufferedBytes: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  #inFlightBytes = 0;
  #scheduled = false;
  #writing = false;
  #closed = false;
  #idle: (() => void)[] = [];

  /** Opens (creates, appends to) the file now, so a bad path fails before any traffic. */
  constructor(path: string, options: { maxBufferedBytes?: number } = {}) {
    this.path = path;
    this.#maxBufferedBytes = checkCount('maxBufferedBytes', options.maxBufferedBytes ?? DEFAULTS.maxLogBufferBytes, 1);
    this.#fd = openSync(path, 'a');
  }

  /** Queues `text`; returns false (and counts it) when it was dropped. */
  write(text: string): boolean {
    if (this.#closed) return false;
    // Length in UTF-16 units is close enough to bytes for a bound; the exact count is taken when writing.
    if (this.#pendingBytes + this.#inFlightBytes + text.length > this.#maxBufferedBytes) {
      this.dropped++;
      return false;
    }
    this.#pending.push(text);
    this.#pendingBytes += text.length;
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return true;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0 || this.#closed) return this.#settle();
    const data = Buffer.from(this.#pending.join(''));
    this.#inFlightBytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#writing = true;
    const writeFrom = (offset: number): void => {
      write(this.#fd, data, offset, data.length - offset, null, (err, n) => {
        if (!err && offset + n < data.length) return writeFrom(offset + n);
        if (err) this.dropped++;
        else this.written += data.length;
        this.#writing = false;
        this.#inFlightBytes = 0;
        // What arrived during the write goes out in the next turn's single write.
        if (this.#pending.length > 0 && !this.#closed) {
          this.#scheduled = true;
          setImmediate(() => this.#flush());
        } else this.#settle();
      });
    };
    writeFrom(0);
  }

  #settle(): void {
    if (this.#writing || this.#scheduled) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Resolves once everything accepted so far has reached the file. */
  flushed(): Promise<void> {
    if (!this.#writing && !this.#scheduled && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Writes what is still queued and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flushed();
    this.#closed = true;
    if (this.#pending.length > 0) {
      const data = Buffer.from(this.#pending.join(''));
      writeSync(this.#fd, data);
      this.written += data.length;
      this.#pending = [];
    }
    closeSync(this.#fd);
  }
}
