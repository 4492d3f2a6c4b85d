/** Hooks an owner gives an {@link AsyncQueue} to apply backpressure and release resources. */
export interface AsyncQueueHooks {
  /** After an item is taken, with how many are left (e.g. resume a paused socket). */
  onTake?: (remaining: number) => void;
  /** Once, when iteration is over: `early` when the consumer left before `end()` (break, return, throw). */
  onDone?: (early: boolean) => void;
}

/**
 * The async iterator behind `messages()` and the server's connection stream: items pushed by events are
 * handed to a `for await` loop in order. The owner decides what a full queue means (pause, or drop and count),
 * so the queue itself only counts.
 *
 * @example
 * const queue = new AsyncQueue<string>();
 * queue.push('a'); queue.end();
 * for await (const item of queue) console.log(item);
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #head = 0;
  #ended = false;
  #done = false;
  #wake: (() => void) | undefined;
  #hooks: AsyncQueueHooks;

  constructor(hooks: AsyncQueueHooks = {}) {
    this.#hooks = hooks;
  }

  /** Items waiting to be taken. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#notify();
  }

  /** No more items: the loop ends once the waiting ones are taken. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.#head < this.#items.length) {
        const item = this.#items[this.#head++]!;
        if (this.#head === this.#items.length) {
          this.#items = [];
          this.#head = 0;
        }
        this.#hooks.onTake?.(this.size);
        return { value: item, done: false };
      }
      if (this.#ended || this.#done) {
        this.#finish(false);
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    this.#finish(!this.#ended);
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #finish(early: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#items = [];
    this.#head = 0;
    this.#notify();
    this.#hooks.onDone?.(early);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
