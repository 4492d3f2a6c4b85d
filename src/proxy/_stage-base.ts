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

export const isEnd = (item: Item): item is End => !Buffer.isBuffer(item);

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
export abstract class ScheduledStage extends Stage {
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

