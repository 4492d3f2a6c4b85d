import { SocklabError, abortedError } from './errors.js';
import { checkCount, checkSignal } from './options.js';

/** How long to wait for one item, and what may cancel the wait. */
export interface WaitOptions {
  /** Rejects with SL_ERR_REPLY_TIMEOUT after this long. @default Infinity */
  timeoutMs?: number;
  /** Rejects with SL_ERR_ABORTED when it fires (at once if it already has). */
  signal?: AbortSignal;
}

/** Hooks an owner gives an {@link Inbox}: backpressure, and what a wait that fails is called. */
export interface InboxHooks {
  /** After an item is taken, with how many are left (resume a paused socket). */
  onTake?: (remaining: number) => void;
  /** What a timed-out or aborted wait was waiting for, for the error message ("Receive from 127.0.0.1:80"). */
  describe: () => string;
}

interface Waiter<T> {
  match: ((item: T) => boolean) | undefined;
  /** Gets {@link Inbox.failNext}'s error (receive() and request() do; a messages() loop does not). */
  failable: boolean;
  resolve: (item: T | undefined) => void;
  reject: (error: Error) => void;
}

/**
 * One queue per socket that every reader shares: `receive()` calls, `messages()` loops and `request()`s take
 * from it in the order they asked. Items that arrive between two reads wait here, so sequential reads lose
 * nothing and add no listener. A read that ends (timeout, abort) removes its own timer and abort listener, so
 * any number of them leave nothing behind. Internal: the entry point exports only {@link WaitOptions}.
 *
 * @example
 * const inbox = new Inbox<string>({ describe: () => 'Receive' });
 * inbox.push('a');
 * await inbox.take({ timeoutMs: 100 }); // 'a'
 */
export class Inbox<T> {
  #items: T[] = [];
  #waiters: Waiter<T>[] = [];
  #ended = false;
  #error: SocklabError | undefined = undefined;
  /** An error for the next read only (a UDP ICMP refusal), then forgotten. */
  #once: SocklabError | undefined = undefined;
  readonly #hooks: InboxHooks;

  constructor(hooks: InboxHooks) {
    this.#hooks = hooks;
  }

  /** Items waiting to be taken. */
  get size(): number {
    return this.#items.length;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Why it ended, if not cleanly. */
  get error(): SocklabError | undefined {
    return this.#error;
  }

  /** Hands `item` to the first waiter that wants it, or keeps it. Returns false once ended (the item is dropped). */
  push(item: T): boolean {
    if (this.#ended) return false;
    const index = this.#waiters.findIndex((waiter) => waiter.match === undefined || waiter.match(item));
    if (index >= 0) {
      const [waiter] = this.#waiters.splice(index, 1);
      waiter!.resolve(item);
      return true;
    }
    this.#items.push(item);
    return true;
  }

  /** No more items: waiters are told (with `error`, or `undefined` for a clean end) once the held items are taken. */
  end(error?: SocklabError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined);
  }

  /** Fails the next read (a waiting one at once) with `error`, without ending the inbox. */
  failNext(error: SocklabError): void {
    const waiter = this.#waiters.find((w) => w.failable);
    if (waiter) waiter.reject(error);
    else this.#once = error;
  }

  /** The first held item, taken without waiting (undefined when none is held). */
  takeNow(): T | undefined {
    const item = this.#items.shift();
    if (item !== undefined) this.#hooks.onTake?.(this.#items.length);
    return item;
  }

  /** Takes the first error set by {@link failNext}, if any. */
  takeFailure(): SocklabError | undefined {
    const error = this.#once;
    this.#once = undefined;
    return error;
  }

  /**
   * The next item (the first one `match` accepts, when given), or undefined when the inbox ended first.
   * Rejects with SL_ERR_REPLY_TIMEOUT or SL_ERR_ABORTED.
   */
  take(options: WaitOptions = {}, match?: (item: T) => boolean, failable = true): Promise<T | undefined> {
    const timeoutMs = checkCount('timeoutMs', options.timeoutMs ?? Infinity, 0, true);
    const signal = checkSignal(options.signal);
    const once = failable ? this.takeFailure() : undefined;
    if (once) return Promise.reject(once);
    const index = match === undefined ? (this.#items.length > 0 ? 0 : -1) : this.#items.findIndex(match);
    if (index >= 0) {
      const item = index === 0 ? this.#items.shift()! : this.#items.splice(index, 1)[0]!;
      this.#hooks.onTake?.(this.#items.length);
      return Promise.resolve(item);
    }
    if (this.#ended) return Promise.resolve(undefined);
    if (signal?.aborted) return Promise.reject(abortedError(this.#hooks.describe(), signal));
    return new Promise<T | undefined>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
      };
      const waiter: Waiter<T> = {
        match,
        failable,
        resolve: (item) => {
          settle();
          if (item !== undefined) this.#hooks.onTake?.(this.#items.length);
          resolve(item);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.reject(abortedError(this.#hooks.describe(), signal!));
      if (timeoutMs !== Infinity) {
        timer = setTimeout(
          () => waiter.reject(new SocklabError('SL_ERR_REPLY_TIMEOUT', `${this.#hooks.describe()}: nothing arrived within ${timeoutMs} ms (timeoutMs)`)),
          timeoutMs,
        );
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }
}

