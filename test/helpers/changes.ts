/**
 * Lets a test wait for a condition on something that changes by events (output arriving, a socket closing)
 * without polling: the owner calls `changed()` on every event, and `until` re-checks then, or at its deadline.
 */
export class Changes {
  #watchers: (() => void)[] = [];
  /** Counts `changed()` calls, so an event that comes while an async check runs is not slept through. */
  #version = 0;

  /** Wakes every waiter so it checks its condition again. */
  changed(): void {
    this.#version++;
    const watchers = this.#watchers;
    this.#watchers = [];
    for (const watcher of watchers) watcher();
  }

  /**
   * Resolves with the first non-undefined value of `check`, or rejects with `timeoutError()` after `timeoutMs`.
   * `check` may throw (or reject) to give up early (a process that exited, say), and may be async. With
   * `recheckMs`, it is also re-checked that often, for conditions that depend on more than this object's events.
   */
  async until<T>(
    check: () => T | undefined | Promise<T | undefined>,
    timeoutMs: number,
    timeoutError: () => Error,
    recheckMs = Infinity,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const version = this.#version;
      const result = check();
      // Awaited only when it is a promise: a synchronous check and the wait below stay in one turn.
      const value = result instanceof Promise ? await result : result;
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw timeoutError();
      if (this.#version !== version) continue;
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

/**
 * Waits until `check` holds, asking again every `intervalMs`, and fails after `timeoutMs` naming `what` (a
 * function is called then, so the message can show the state at the deadline). For conditions no event of ours
 * announces: a server's counters, /proc, a page served by another process. `check` may be async; a throw fails
 * the wait at once.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 5000,
  intervalMs = 20,
): Promise<void> {
  await new Changes().until(
    () => {
      const result = check();
      return result instanceof Promise ? result.then((ok) => (ok ? true : undefined)) : result ? true : undefined;
    },
    timeoutMs,
    () => new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`),
    intervalMs,
  );
}
