import type { Writable } from 'node:stream';
import { checkCount } from '../options.js';

/** Limits of a {@link LogWriter}. */
export interface LogWriterOptions {
  /** Lines held while the output has not drained; past this, lines are counted and dropped. @default LOG_WRITER_DEFAULTS.maxBufferedLines */
  maxBufferedLines?: number;
  /** Bytes (UTF-16 units, close enough) held while the output has not drained. @default LOG_WRITER_DEFAULTS.maxBufferedBytes */
  maxBufferedBytes?: number;
  /** The line that reports dropped lines (a JSON event under `--json`). @default `… N log lines dropped: …` */
  droppedLine?: (count: number) => string;
  /** How long lines may wait to be written; 0 writes at the end of each event-loop turn. @default LOG_WRITER_DEFAULTS.flushDelayMs */
  flushDelayMs?: number;
}

/** A server logging every message must not grow without bound when its terminal or pipe is slower than its clients. */
export const LOG_WRITER_DEFAULTS = Object.freeze({
  /** @default 10_000 */
  maxBufferedLines: 10_000,
  /** @default 1 MiB */
  maxBufferedBytes: 1 << 20,
  /**
   * Measured (BENCHMARKS.md, cost suite): a write per turn cost a server cycling connections ~2-4 µs per
   * connection in the write alone when turns were short; one per 10 ms is invisible on a terminal.
   * @default 10
   */
  flushDelayMs: 10,
});

/**
 * Log lines gathered for `flushDelayMs` (or one event-loop turn) and written in one `write()`, instead of one
 * write (one syscall, for a file or a terminal) per line. While the output has not drained, lines
 * wait up to the limits; beyond them they are dropped and counted, and a line saying how many goes out once the
 * output catches up. So a flood slows the log, never the server, and never makes it hold an unbounded backlog.
 *
 * @example
 * const log = new LogWriter(process.stdout);
 * log.line('127.0.0.1:40000 connected');
 * await log.close(); // everything written (or dropped and counted)
 */
export class LogWriter {
  /** Lines dropped in total because the output was not keeping up. */
  dropped = 0;
  readonly #out: Writable;
  readonly #maxLines: number;
  readonly #maxBytes: number;
  readonly #droppedLine: (count: number) => string;
  readonly #flushDelayMs: number;
  #lines: string[] = [];
  #bytes = 0;
  /** Dropped since the last note about it. */
  #unreported = 0;
  #scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined = undefined;
  /** The last write returned false: hold lines until 'drain'. */
  #blocked = false;
  #onDrain = (): void => {
    this.#blocked = false;
    this.#flush();
  };

  constructor(out: Writable, options: LogWriterOptions = {}) {
    this.#out = out;
    this.#maxLines = checkCount('maxBufferedLines', options.maxBufferedLines ?? LOG_WRITER_DEFAULTS.maxBufferedLines, 1, true);
    this.#maxBytes = checkCount('maxBufferedBytes', options.maxBufferedBytes ?? LOG_WRITER_DEFAULTS.maxBufferedBytes, 1, true);
    this.#droppedLine = options.droppedLine ?? ((count) => `… ${count} log lines dropped: the output was not keeping up`);
    this.#flushDelayMs = checkCount('flushDelayMs', options.flushDelayMs ?? LOG_WRITER_DEFAULTS.flushDelayMs, 0);
  }

  /** Queues one line (without its newline); it is written within `flushDelayMs` (or at the end of this turn). */
  line(text: string): void {
    if (this.#lines.length >= this.#maxLines || this.#bytes + text.length > this.#maxBytes) {
      this.dropped++;
      this.#unreported++;
      return;
    }
    this.#lines.push(text);
    this.#bytes += text.length + 1;
    if (this.#scheduled === undefined && !this.#blocked) {
      this.#scheduled = this.#flushDelayMs === 0 ? setImmediate(flushWriter, this) : setTimeout(flushWriter, this.#flushDelayMs, this);
    }
  }

  /** Writes what is queued now and resolves once the output took it (or failed). */
  async close(): Promise<void> {
    this.#cancelScheduled();
    this.#flush();
    if (!this.#blocked || this.#out.destroyed || this.#out.writableEnded) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.#out.off('drain', done);
        this.#out.off('close', done);
        this.#out.off('error', done);
        // The drain listener of the writer itself ran first (added earlier), so what waited has gone out.
        resolve();
      };
      this.#out.on('drain', done);
      this.#out.once('close', done);
      this.#out.once('error', done);
    });
    this.#flush();
  }

  /** @internal Runs once per delay (or turn) with queued lines. */
  flushNow(): void {
    this.#scheduled = undefined;
    this.#flush();
  }

  #cancelScheduled(): void {
    if (this.#scheduled === undefined) return;
    if (this.#flushDelayMs === 0) clearImmediate(this.#scheduled as NodeJS.Immediate);
    else clearTimeout(this.#scheduled as NodeJS.Timeout);
    this.#scheduled = undefined;
  }

  #flush(): void {
    if (this.#blocked || (this.#lines.length === 0 && this.#unreported === 0)) return;
    if (this.#out.destroyed || this.#out.writableEnded) {
      this.#lines = [];
      this.#bytes = 0;
      return;
    }
    let text = this.#lines.length > 0 ? `${this.#lines.join('\n')}\n` : '';
    if (this.#unreported > 0) {
      // The dropped lines came after the ones kept (they arrived while the buffer was full), so the note follows them.
      text += `${this.#droppedLine(this.#unreported)}\n`;
      this.#unreported = 0;
    }
    this.#lines = [];
    this.#bytes = 0;
    if (!this.#out.write(text)) {
      this.#blocked = true;
      this.#out.once('drain', this.#onDrain);
    }
  }
}

function flushWriter(writer: LogWriter): void {
  writer.flushNow();
}
