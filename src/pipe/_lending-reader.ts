import { EventEmitter } from 'node:events';
import { read } from 'node:fs';
import type { Socket } from 'node:net';
import { readIntoUserBuffer, type SetUserBuffer } from './_user-buffer.js';

/** How a {@link LendingReader} reads. */
export interface LendingReaderOptions {
  /** Bytes per read (a pipe gives 64 KiB at most). @default 65536 */
  chunkBytes?: number;
  /** Reads that may be in use by the consumer at once (each one buffer of `chunkBytes`). @default 8 */
  buffers?: number;
}

/**
 * A pipe's input side that lends its buffers instead of allocating one per read: `process.stdin` on a pipe reads
 * 64 KiB at a time into a fresh allocation each, which at 1 GiB cost a sending nc more CPU than ncat's whole run.
 * Emits 'data' (a view of one of a few reused buffers), 'end' and 'error' like a Readable, with pause() and
 * resume(); the consumer gives each chunk back with release(chunk) once done with it (written to the kernel), and
 * reading stops while every buffer is out. {@link LendingReader.open} picks how: fs.read for a regular file (a
 * read that cannot block forever), the stream's own handle for a pipe (a blocking read in the thread pool would
 * hold the process's exit until the writer closes).
 *
 * @example const input = LendingReader.open(0, process.stdin); input.on('data', (c) => socket.write(c, () => input.release(c))); input.resume();
 */
export class LendingReader extends EventEmitter {
  readonly #free: Buffer[] = [];
  readonly #lent = new Map<ArrayBufferLike, Buffer>();
  #paused = true;
  #done = false;
  /** A chunk read while paused, emitted on resume (as a paused Readable keeps what it read). */
  #held: Buffer | undefined;
  #source: { start(): void; stop(): void };

  /** For a regular file's descriptor, or a stream socket over a pipe (process.stdin); undefined if neither fits. */
  static open(fd: number, stream: () => Socket, kind: 'file' | 'pipe', options: LendingReaderOptions = {}): LendingReader | undefined {
    const reader = new LendingReader(options);
    if (kind === 'file') reader.#source = reader.#fileSource(fd);
    else {
      const source = reader.#pipeSource(stream());
      if (!source) return undefined;
      reader.#source = source;
    }
    return reader;
  }

  private constructor(options: LendingReaderOptions) {
    super();
    const chunkBytes = options.chunkBytes ?? 64 * 1024;
    for (let i = 0; i < (options.buffers ?? 8); i++) this.#free.push(Buffer.allocUnsafeSlow(chunkBytes));
    this.#source = { start() {}, stop() {} };
  }

  resume(): this {
    this.#paused = false;
    const held = this.#held;
    this.#held = undefined;
    if (held) this.emit('data', held);
    if (!this.#paused && !this.#done && this.#free.length > 0) this.#source.start();
    return this;
  }

  pause(): this {
    this.#paused = true;
    this.#source.stop();
    return this;
  }

  /** Gives a chunk from 'data' back for reuse. */
  release(chunk: Uint8Array): void {
    const buffer = this.#lent.get(chunk.buffer);
    if (!buffer) return;
    this.#lent.delete(chunk.buffer);
    this.#free.push(buffer);
    if (!this.#paused && !this.#done) this.#source.start();
  }

  #deliver(buffer: Buffer, length: number): void {
    this.#lent.set(buffer.buffer, buffer);
    if (this.#free.length === 0) this.#source.stop();
    if (this.#paused) this.#held = buffer.subarray(0, length);
    else this.emit('data', buffer.subarray(0, length));
  }

  #end(err?: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (err) this.emit('error', err);
    else this.emit('end');
  }

  #fileSource(fd: number): { start(): void; stop(): void } {
    let reading = false;
    let wanted = false;
    const next = (): void => {
      if (!wanted || reading || this.#done) return;
      const buffer = this.#free.pop();
      if (!buffer) return;
      reading = true;
      read(fd, buffer, 0, buffer.length, null, (err, length) => {
        reading = false;
        if (err || length === 0) {
          this.#free.push(buffer);
          return this.#end(err ?? undefined);
        }
        this.#deliver(buffer, length);
        next();
      });
    };
    return {
      start: () => ((wanted = true), next()),
      stop: () => void (wanted = false),
    };
  }

  #pipeSource(stream: Socket): { start(): void; stop(): void } | undefined {
    let current = this.#free.pop()!;
    let setBuffer: SetUserBuffer | undefined;
    let starved = false;
    const onBytes = (length: number, buffer: Buffer): void => this.#deliver(buffer, length);
    // After each read: the next free buffer, or none (reading was stopped in #deliver; start() sets one).
    const nextBuffer = (): Buffer | undefined => {
      const buffer = this.#free.pop();
      if (buffer) current = buffer;
      else starved = true;
      return buffer;
    };
    stream.pause();
    setBuffer = readIntoUserBuffer(stream, current, onBytes, nextBuffer);
    if (!setBuffer) {
      this.#free.push(current);
      return undefined;
    }
    stream.on('end', () => this.#end());
    stream.on('error', (err: Error) => this.#end(err));
    return {
      start: () => {
        if (starved) {
          const buffer = this.#free.pop();
          if (!buffer) return;
          starved = false;
          current = buffer;
          setBuffer!(buffer);
        }
        stream.resume();
      },
      stop: () => void stream.pause(),
    };
  }
}
