/**
 * Lets a test wait for a condition on something that changes by events (output arriving, a socket closing)
 * without polling: the owner calls `changed()` on every event, and `until` re-checks then, or at its deadline.
 */
export class Changes {
  #watchers: (() => void)[] = [];

  /** Wakes every waiter so it checks its condition again. */
  changed(): void {
    const watchers = this.#watchers;
    this.#watchers = [];
    for (const watcher of watchers) watcher();
  }

  /**
   * Resolves with the first non-undefined value of `check`, or rejects with `timeoutError()` after `timeoutMs`.
   * `check` may throw to give up early (a process that exited, say). With `recheckMs`, it is also re-checked that
   * often, for conditions that depend on more than this object's events.
   */
  async until<T>(check: () => T | undefined, timeoutMs: number, timeoutError: () => Error, recheckMs = Infinity): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw timeoutError();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, recheckMs));
        this.#watchers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
