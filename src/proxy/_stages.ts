import { MessageStage } from './_message-stage.js';
import { isEnd, PassStage, ScheduledStage, Stage, type Item, type StageContext } from './_stage-base.js';
import { jitteredDelay } from '../random.js';
import type { Toxic, ToxicType } from './toxics.js';

export type { End, Item, StageContext } from './_stage-base.js';
export { Stage } from './_stage-base.js';

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

/** A stage with a clock that starts when it meets the connection (and again on an update), and ends it when it runs out. */
abstract class ClockStage extends Stage {
  #timer: NodeJS.Timeout | undefined;
  protected done = false;

  constructor(toxic: Toxic, ctx: StageContext, next: (item: Item) => void) {
    super(toxic, ctx, next);
    this.#restart();
  }

  /** How long the clock runs (Infinity: it never runs out). */
  protected abstract clockMs(): number;
  protected abstract runOut(): void;

  #restart(): void {
    clearTimeout(this.#timer);
    const ms = this.clockMs();
    if (ms !== Infinity) this.#timer = setTimeout(() => this.runOut(), ms);
  }

  protected stopClock(): void {
    clearTimeout(this.#timer);
  }

  override update(toxic: Toxic): void {
    super.update(toxic);
    if (!this.done) this.#restart();
  }
}

/**
 * Passes nothing. Data is held, not thrown away (a TCP stream with a hole in it would be a different fault):
 * removing the toxic lets it through, in order. After `timeout` ms (0: never) the connection is closed, and
 * it is closed as soon as the sender closes its side, so no socket is left in CLOSE-WAIT.
 */
export class TimeoutStage extends ClockStage {
  #held: Buffer[] = [];

  protected clockMs(): number {
    return this.attributes<'timeout'>().timeout || Infinity; // 0: never
  }

  protected runOut(): void {
    this.#close(`timed out after ${this.clockMs()} ms`);
  }

  #close(why: string): void {
    if (this.done) return;
    this.done = true;
    this.stopClock();
    this.acted(why);
    this.ctx.dropped(this.#held.reduce((sum, chunk) => sum + chunk.length, 0));
    this.#held = [];
    this.next({ end: 'close', why });
  }

  push(item: Item): void {
    if (this.done) {
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

  override drain(): Item[] {
    this.stopClock();
    const held = this.#held;
    this.#held = [];
    return this.done ? [] : held;
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

/** Passes everything until `timeout` ms after it met the connection, then resets both sides (behind the data before it). */
export class ResetAfterStage extends ClockStage {
  protected clockMs(): number {
    return this.attributes<'reset_after'>().timeout;
  }

  protected runOut(): void {
    this.done = true;
    const why = `after ${this.clockMs()} ms`;
    this.acted(why);
    this.next({ end: 'reset', why });
  }

  push(item: Item): void {
    if (!this.done) return this.next(item);
    if (!isEnd(item)) this.ctx.dropped(item.length);
  }

  override drain(): Item[] {
    this.stopClock();
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
  reset_after: ResetAfterStage,
  limit_data: LimitDataStage,
  noop: PassStage,
  message: MessageStage,
  // UDP toxics: a TCP proxy refuses them before a stage is made.
  drop: PassStage,
  duplicate: PassStage,
  reorder: PassStage,
};

/** The stage for a toxic on one connection; `active: false` (its toxicity roll missed) makes it a pass-through. */
export function createStage(toxic: Toxic, active: boolean, ctx: StageContext, next: (item: Item) => void): Stage {
  return active ? new STAGES[toxic.type](toxic, ctx, next) : new PassStage(toxic, ctx, next);
}
