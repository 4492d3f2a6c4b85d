/**
 * Idle timeouts for many connections from one timer per distinct timeout, instead of a timer on every socket
 * that each read and write must refresh (Node's `socket.setTimeout`). A connection records the sweeper's tick
 * when bytes arrive; a sweep runs every `timeoutMs / SLICES` and reports the members untouched for more than
 * SLICES ticks. So a connection is reported after between `timeoutMs` and `timeoutMs × (1 + 1/SLICES)` of
 * silence: never early, at most a quarter late.
 *
 * @example
 * const sweeper = IdleSweeper.for(30_000, (member) => member.closeForIdle());
 * sweeper.add(member); // then on every read: member.idleTick = sweeper.tick
 */
export class IdleSweeper<T extends IdleMember> {
  static readonly SLICES = 4;
  static readonly #byKey = new Map<string, IdleSweeper<IdleMember>>();

  readonly timeoutMs: number;
  /** Sweeps so far; members copy it when they see activity. */
  tick = 0;
  readonly #members = new Set<T>();
  readonly #onIdle: (member: T) => void;
  readonly #key: string;
  #timer: NodeJS.Timeout | undefined;

  private constructor(timeoutMs: number, onIdle: (member: T) => void, key: string) {
    this.timeoutMs = timeoutMs;
    this.#onIdle = onIdle;
    this.#key = key;
  }

  /** The shared sweeper for `timeoutMs` and this `onIdle` callback (one per distinct pair). */
  static for<M extends IdleMember>(timeoutMs: number, onIdle: (member: M) => void, name: string): IdleSweeper<M> {
    const key = `${name} ${timeoutMs}`;
    let sweeper = IdleSweeper.#byKey.get(key) as IdleSweeper<M> | undefined;
    if (sweeper === undefined) {
      sweeper = new IdleSweeper(timeoutMs, onIdle, key);
      IdleSweeper.#byKey.set(key, sweeper as unknown as IdleSweeper<IdleMember>);
    }
    return sweeper;
  }

  get size(): number {
    return this.#members.size;
  }

  /** Starts watching `member`, counting its silence from now. */
  add(member: T): void {
    member.idleTick = this.tick;
    this.#members.add(member);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), Math.max(1, this.timeoutMs / IdleSweeper.SLICES));
      // The connections keep the process alive, not their idle timer.
      this.#timer.unref();
    }
  }

  remove(member: T): void {
    this.#members.delete(member);
    if (this.#members.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      IdleSweeper.#byKey.delete(this.#key);
    }
  }

  #sweep(): void {
    const tick = ++this.tick;
    for (const member of this.#members) {
      if (tick - member.idleTick > IdleSweeper.SLICES) {
        this.remove(member);
        this.#onIdle(member);
      }
    }
  }
}

/** What a sweeper needs of a member: where to keep the tick of its last activity. */
export interface IdleMember {
  idleTick: number;
}
