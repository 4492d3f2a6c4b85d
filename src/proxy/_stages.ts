import { jitteredDelay } from './random.js';
import type { Toxic, ToxicAttributes, ToxicType } from './toxics.js';

/**
 * The end of a stream, travelling behind its data: `fin` passes the sender's FIN on (half-close kept), `close`
 * closes the whole connection cleanly, `reset` resets both sides once what came before it is written.
 */
export interface End {
  end: 'fin' | 'close' | 'reset';
  why: string;
}

/** What flows through a direction's chain: data, then at most one end. */
export type Item = Buffer | End;

/** What a stage may do to its connection besides passing items on. */
export interface StageContext {
  readonly random: () => number;
  /** Bytes the stage threw away (they no longer count as held). */
  dropped(bytes: number): void;
  /** The toxic did something to this connection (once per toxic, for events and the dashboard). */
  acted(toxic: Toxic, why: string): void;
}

const isEnd = (item: Item): item is End => !Buffer.isBuffer(item);

/**
 * One toxic on one direction of one connection. Stages are chained; each passes items to `next` in the order
 * it got them. A stage removed from a live chain hands back what it still holds ({@link Stage.drain}), so
 * the chain can pass it on: no byte is dropped or reordered by a change.
 */
export abstract class Stage {
  #acted = false;

  constructor(
    public toxic: Toxic,
    protected readonly ctx: StageContext,
    public next: (item: Item) => void,
  ) {}

  abstract push(item: Item): void;

  /** New attributes for the same toxic, applied to what arrives from now on (and to what is held, where it matters). */
  update(toxic: Toxic): void {
    this.toxic = toxic;
  }

  /** Stops the stage's timers and returns what it holds, in order. */
  drain(): Item[] {
    return [];
  }

  protected acted(why: string): void {
    if (this.#acted) return;
    this.#acted = true;
    this.ctx.acted(this.toxic, why);
  }

  protected attributes<T extends ToxicType>(): ToxicAttributes[T] {
    return this.toxic.attributes as ToxicAttributes[T];
  }
}

/** Passes everything on at once: `noop`, and any toxic a connection's toxicity roll left out. */
export class PassStage extends Stage {
  push(item: Item): void {
    this.next(item);
  }
}

/**
 * A stage that sends each item at a time it computes, never before the one ahead of it. An item with a gap
 * leaves at least that long after the one before it actually left (a late timer must not merge two slices).
 */
abstract class ScheduledStage extends Stage {
  protected queue: { item: Item; at: number; gapMs: number }[] = [];
  protected lastAt = 0;
  #timer: NodeJS.Timeout | undefined;

  protected schedule(item: Item, at: number, gapMs = 0): void {
    const now = performance.now();
    at = Math.max(at, this.lastAt + gapMs);
    this.lastAt = at;
    if (at <= now && this.queue.length === 0) return this.next(item);
    this.queue.push({ item, at, gapMs });
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    const head = this.queue[0];
    if (!head || head.at === Infinity) return;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, head.at - performance.now()));
  }

  protected rearm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#arm();
  }

  #flush(): void {
    this.#timer = undefined;
    const now = performance.now();
    let sent = false;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (sent && head.gapMs > 0) {
        head.at = Math.max(head.at, now + head.gapMs);
        break;
      }
      if (head.at > now + 0.5) break;
      this.queue.shift();
      this.next(head.item);
      sent = true;
    }
    this.#arm();
  }

  override drain(): Item[] {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const items = this.queue.map((entry) => entry.item);
    this.queue = [];
    return items;
  }
}

export class LatencyStage extends ScheduledStage {
  push(item: Item): void {
    const { latency, jitter } = this.attributes<'latency'>();
    if (latency > 0 || jitter > 0) this.acted(`${latency} ms ± ${jitter} ms`);
    // The end travels the same slow path as data.
    this.schedule(item, performance.now() + jitteredDelay(latency, jitter, this.ctx.random));
  }
}

export class BandwidthStage extends ScheduledStage {
  push(item: Item): void {
    this.acted(`${this.attributes<'bandwidth'>().rate} KB/s`);
    if (isEnd(item)) return this.schedule(item, performance.now());
    // A big chunk leaves in pieces of 100 ms each, so the rate is smooth rather than one burst per chunk.
    const piece = Math.max(1, Math.floor(this.attributes<'bandwidth'>().rate * 100));
    for (let offset = 0; offset < item.length; offset += piece) this.#add(item.subarray(offset, offset + piece), performance.now());
  }

  #add(data: Buffer, now: number): void {
    const rate = this.attributes<'bandwidth'>().rate; // KB/s = bytes per ms
    const at = rate === 0 ? Infinity : Math.max(now, this.lastAt) + data.length / rate;
    this.schedule(data, at);
  }

  override update(toxic: Toxic): void {
    super.update(toxic);
    // Held data is re-timed at the new rate from now (a stalled stream starts moving when the rate is raised).
    const held = this.drain();
    this.lastAt = 0;
    for (const item of held) this.push(item);
    this.rearm();
  }
}

export class SlicerStage extends ScheduledStage {
  push(item: Item): void {
    const { average_size: average, size_variation: variation, delay } = this.attributes<'slicer'>();
    const gapMs = delay / 1000;
    if (isEnd(item)) return this.schedule(item, performance.now());
    this.acted(`${average} ± ${variation} bytes, ${delay} µs apart`);
    for (let offset = 0; offset < item.length; ) {
      const size = Math.max(1, Math.round(average + (variation === 0 ? 0 : (this.ctx.random() * 2 - 1) * variation)));
      this.schedule(item.subarray(offset, offset + size), performance.now(), offset === 0 && this.queue.length === 0 ? 0 : gapMs);
      offset += size;
    }
  }
}

export class SlowCloseStage extends ScheduledStage {
  push(item: Item): void {
    if (!isEnd(item)) return this.schedule(item, performance.now());
    this.acted(`FIN held ${this.attributes<'slow_close'>().delay} ms`);
    this.schedule(item, performance.now() + this.attributes<'slow_close'>().delay);
  }
}

/**
 * Passes nothing. Data is held, not thrown away (a TCP stream with a hole in it would be a different fault):
 * removing the toxic lets it through, in order. After `timeout` ms (0: never) the connection is closed, and
 * it is closed as soon as the sender closes its side, so no socket is left in CLOSE-WAIT.
 */
export class TimeoutStage extends Stage {
  #held: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(toxic: Toxic, ctx: StageContext, next: (item: Item) => void) {
    super(toxic, ctx, next);
    this.#start();
  }

  #start(): void {
    clearTimeout(this.#timer);
    const { timeout } = this.attributes<'timeout'>();
    if (timeout > 0) this.#timer = setTimeout(() => this.#close(`timed out after ${timeout} ms`), timeout);
  }

  #close(why: string): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.acted(why);
    this.ctx.dropped(this.#held.reduce((sum, chunk) => sum + chunk.length, 0));
    this.#held = [];
    this.next({ end: 'close', why });
  }

  push(item: Item): void {
    if (this.#done) {
      if (!isEnd(item)) this.ctx.dropped(item.length);
      return;
    }
    if (!isEnd(item)) {
      this.acted('holding data');
      this.#held.push(item);
      return;
    }
    this.#close(item.end === 'fin' ? 'the sender closed' : item.why);
  }

  override update(toxic: Toxic): void {
    super.update(toxic);
    if (!this.#done) this.#start();
  }

  override drain(): Item[] {
    clearTimeout(this.#timer);
    const held = this.#held;
    this.#held = [];
    return this.#done ? [] : held;
  }
}

/**
 * Resets both sides `timeout` ms after the first data (toxiproxy's rule). socklab extension: `after_bytes`
 * passes exactly that many bytes first, splitting the chunk that crosses the count.
 */
export class ResetPeerStage extends Stage {
  #passed = 0;
  #timer: NodeJS.Timeout | undefined;
  #armed = false;
  #done = false;

  push(item: Item): void {
    if (this.#done || this.#armed) {
      if (!isEnd(item)) this.ctx.dropped(item.length);
      return;
    }
    const limit = this.attributes<'reset_peer'>().after_bytes;
    if (!isEnd(item)) {
      const room = limit - this.#passed;
      if (item.length < room) {
        this.#passed += item.length;
        return this.next(item);
      }
      // The chunk that reaches the count is cut there, so exactly `after_bytes` arrive; toxiproxy's rule (0)
      // delivers none of the first data.
      if (room > 0) this.next(item.subarray(0, room));
      this.#passed += Math.max(0, room);
      this.ctx.dropped(item.length - Math.max(0, room));
    }
    this.#armed = true;
    const { timeout } = this.attributes<'reset_peer'>();
    const why = limit > 0 ? `after ${limit} bytes` : timeout > 0 ? `${timeout} ms after the first data` : 'on the first data';
    const fire = (): void => {
      this.#done = true;
      this.acted(why);
      this.next({ end: 'reset', why });
    };
    if (timeout === 0) fire();
    else this.#timer = setTimeout(fire, timeout);
  }

  override drain(): Item[] {
    clearTimeout(this.#timer);
    return [];
  }
}

/** Passes exactly `bytes` bytes (the chunk that crosses the count is cut), then closes the connection cleanly. */
export class LimitDataStage extends Stage {
  #passed = 0;
  #closed = false;

  push(item: Item): void {
    if (this.#closed) {
      if (!isEnd(item)) this.ctx.dropped(item.length);
      return;
    }
    if (isEnd(item)) return this.next(item);
    const { bytes } = this.attributes<'limit_data'>();
    const keep = Math.min(item.length, Math.max(0, bytes - this.#passed));
    if (keep > 0) this.next(keep === item.length ? item : item.subarray(0, keep));
    this.#passed += keep;
    if (keep < item.length) this.ctx.dropped(item.length - keep);
    if (this.#passed >= bytes) {
      this.#closed = true;
      const why = `closed after ${bytes} bytes`;
      this.acted(why);
      this.next({ end: 'close', why });
    }
  }
}

const STAGES: { [T in ToxicType]: new (toxic: Toxic, ctx: StageContext, next: (item: Item) => void) => Stage } = {
  latency: LatencyStage,
  bandwidth: BandwidthStage,
  slicer: SlicerStage,
  slow_close: SlowCloseStage,
  timeout: TimeoutStage,
  reset_peer: ResetPeerStage,
  limit_data: LimitDataStage,
  noop: PassStage,
};

/** The stage for a toxic on one connection; `active: false` (its toxicity roll missed) makes it a pass-through. */
export function createStage(toxic: Toxic, active: boolean, ctx: StageContext, next: (item: Item) => void): Stage {
  return active ? new STAGES[toxic.type](toxic, ctx, next) : new PassStage(toxic, ctx, next);
}
