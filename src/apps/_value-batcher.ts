import type { Endpoint } from '../address.js';
import type { SharedState } from '../state/shared-state.js';

/** A `get` waiting for its counter value. */
export interface PendingGet {
  arrivedAt: number;
  from: Endpoint;
  ending: 0 | 1 | 2;
  id: string | undefined;
  /** `address port id` for `get <id>`, so a retry can be given the same value. */
  key: string | undefined;
  /** A retry of a `get <id>` whose value was still on its way when the retry came: it takes no new value. */
  retry: boolean;
  bytes: number;
}

/**
 * Collects the `get`s of one event-loop turn and asks the shared state for all their values in one round trip
 * (`allocate(n)`: one INCRBY n on Redis), keeping at most one round trip in flight: whatever arrives meanwhile
 * waits for the next one. So 20,000 gets/s cost a few hundred round trips, not 20,000, and values come back in
 * arrival order: batch k+1 is asked for only once batch k has its values.
 */
export class ValueBatcher {
  #queued: PendingGet[] = [];
  #queuedNew = 0;
  #inFlight: PendingGet[] | undefined;
  #inFlightNew = 0;
  #scheduled = false;
  readonly #state: SharedState;
  readonly #settle: (gets: PendingGet[], first: number | undefined, error: Error | undefined) => void;

  /** `settle` gets each batch with the first of its values (new gets take first, first + 1, … in order), or the error. */
  constructor(state: SharedState, settle: (gets: PendingGet[], first: number | undefined, error: Error | undefined) => void) {
    this.#state = state;
    this.#settle = settle;
  }

  /** Gets waiting, queued or in flight. */
  get size(): number {
    return this.#queued.length + (this.#inFlight?.length ?? 0);
  }

  /** New values asked for but not yet known. */
  get unknownValues(): number {
    return this.#queuedNew + this.#inFlightNew;
  }

  push(get: PendingGet): void {
    this.#queued.push(get);
    if (!get.retry) this.#queuedNew++;
    if (this.#inFlight === undefined && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#inFlight !== undefined || this.#queued.length === 0) return;
    const gets = (this.#inFlight = this.#queued);
    const count = (this.#inFlightNew = this.#queuedNew);
    this.#queued = [];
    this.#queuedNew = 0;
    const done = (first: number | undefined, error: Error | undefined): void => {
      this.#inFlight = undefined;
      this.#inFlightNew = 0;
      this.#settle(gets, first, error);
      this.#flush();
    };
    if (count === 0) {
      done(undefined, undefined);
      return;
    }
    this.#state.allocate(count).then(
      (first) => done(first, undefined),
      (error: Error) => done(undefined, error),
    );
  };

  /** Forgets every waiting get (the server is closing). */
  clear(): void {
    this.#queued = [];
    this.#queuedNew = 0;
  }
}
