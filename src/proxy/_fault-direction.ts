import type { Socket } from 'node:net';
import { jitteredDelay } from './random.js';

/** Which way a fault applies: `up` is client → server, `down` is server → client. */
export type FaultDirection = 'both' | 'up' | 'down';

/** Faults a TCP proxy injects. Every one is off by default: a proxy with none is a plain relay. */
export interface TcpFaults {
  /** Added to every chunk's trip. @default 0 */
  latencyMs?: number;
  /** Up to this much more or less than `latencyMs`, at random; chunks never overtake each other. @default 0 */
  jitterMs?: number;
  /** Bytes per second each way, per connection. @default Infinity */
  bandwidthBytesPerSec?: number;
  /** Cut every chunk into segments of at most this many bytes, written one by one. @default Infinity */
  sliceBytes?: number;
  /** Pause between slices, so each arrives as its own read. @default 1 */
  sliceDelayMs?: number;
  /** Reset both sides (RST) this long after the client connected. @default Infinity */
  resetAfterMs?: number;
  /** Reset both sides once this many bytes went through (in the faulted direction). @default Infinity */
  resetAfterBytes?: number;
  /** Hold a FIN this long before passing it on. @default 0 */
  slowCloseMs?: number;
  /** Accept, then swallow everything and answer nothing (the connection hangs until the client gives up). */
  blackHole?: boolean;
  /** Which direction the delay, bandwidth, slice and byte-count faults apply to. @default 'both' */
  direction?: FaultDirection;
  /** Seed for jitter. @default random (read it back from `seed`) */
  seed?: number;
}

/** Faults with every default filled in (used inside the proxy only; Direction, which the d.ts keeps, names it). */
export type ResolvedFaults = Required<Omit<TcpFaults, 'seed'>> & { maxHeldBytes: number };

/** One direction of a relayed connection: reads from `from`, applies faults, writes to `to` in order. */
export class Direction {
  bytes = 0;
  readonly #queue: { data: Buffer | null; at: number; gapMs: number }[] = [];
  #heldBytes = 0;
  #lastAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #waitingDrain = false;

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    readonly faults: ResolvedFaults | undefined,
    readonly random: () => number,
    readonly reset: (why: string) => void,
    /** Told of every chunk read, with where it starts in this direction's stream (before any fault). */
    readonly count: (chunk: Buffer, offset: number) => void,
  ) {
    from.on('data', (chunk: Buffer) => this.#onData(chunk));
    from.on('end', () => this.#enqueue(null, (this.faults?.slowCloseMs ?? 0) + this.#delay(), 0, 0));
  }

  #delay(): number {
    return this.faults ? jitteredDelay(this.faults.latencyMs, this.faults.jitterMs, this.random) : 0;
  }

  #onData(chunk: Buffer): void {
    this.count(chunk, this.bytes);
    this.bytes += chunk.length;
    const faults = this.faults;
    if (faults && this.bytes >= faults.resetAfterBytes) {
      this.reset(`after ${faults.resetAfterBytes} bytes`);
      return;
    }
    if (!faults) {
      this.#enqueue(chunk, 0, 0, 0);
      return;
    }
    const delay = this.#delay();
    for (let offset = 0; offset < chunk.length; offset += faults.sliceBytes) {
      const slice = chunk.subarray(offset, Math.min(chunk.length, offset + faults.sliceBytes));
      const gapMs = offset > 0 ? faults.sliceDelayMs : 0;
      const transmitMs = faults.bandwidthBytesPerSec === Infinity ? 0 : (slice.length / faults.bandwidthBytesPerSec) * 1000;
      this.#enqueue(slice, delay, gapMs, transmitMs);
    }
  }

  /**
   * Queues data (null: the FIN) to leave `delay` ms from now, at least `gapMs` after what was queued before it
   * (so it never overtakes), plus the time the bandwidth limit says it takes to send.
   */
  #enqueue(data: Buffer | null, delay: number, gapMs: number, transmitMs: number): void {
    const now = performance.now();
    const at = Math.max(now + delay, this.#lastAt + gapMs) + transmitMs;
    this.#lastAt = at;
    if (at <= now && this.#queue.length === 0 && !this.#waitingDrain) {
      this.#write(data);
      return;
    }
    this.#queue.push({ data, at, gapMs });
    if (data) {
      this.#heldBytes += data.length;
      if (this.#heldBytes > (this.faults?.maxHeldBytes ?? 0)) this.from.pause();
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#waitingDrain) return;
    const head = this.#queue[0];
    if (!head) return;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, head.at - performance.now()));
  }

  #flush(): void {
    this.#timer = undefined;
    const now = performance.now();
    let wrote = false;
    while (this.#queue.length > 0 && !this.#waitingDrain) {
      const head = this.#queue[0]!;
      // A slice keeps its gap after the one before it actually left: a late timer must not send two slices as
      // one segment (the point of --slice is separate reads).
      if (wrote && head.gapMs > 0) {
        head.at = Math.max(head.at, now + head.gapMs);
        break;
      }
      if (head.at > now + 0.5) break;
      this.#queue.shift();
      if (head.data) this.#heldBytes -= head.data.length;
      this.#write(head.data);
      wrote = true;
    }
    if (this.#heldBytes <= (this.faults?.maxHeldBytes ?? 0) / 2 && this.from.isPaused() && !this.#waitingDrain) this.from.resume();
    this.#schedule();
  }

  #write(data: Buffer | null): void {
    if (this.to.destroyed) return;
    if (data === null) {
      this.to.end();
      return;
    }
    if (!this.to.write(data)) {
      // Backpressure: stop reading the source until the destination drains.
      this.#waitingDrain = true;
      this.from.pause();
      this.to.once('drain', () => {
        this.#waitingDrain = false;
        this.from.resume();
        this.#flush();
      });
    }
  }
}
