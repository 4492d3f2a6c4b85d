/**
 * Idle timeouts for many connections from one timer per distinct timeout, instead of a timer on every socket
 * that each read and write must refresh (Node's `socket.setTimeout`). A connection records the sweeper's tick
 * when bytes arrive; a sweep runs every `timeoutMs / SLICES` and reports the members untouched for more than
 * SLICES ticks. So a connection is reported after between `timeoutMs` and `timeoutMs × (1 + 1/SLICES)` of
 * silence: never early, at most a quarter late.
 *
 * Members are kept in a list threaded through the members themselves (`idlePrev`, `idleNext`): adding and removing
 * one at every accept and close is four field writes, where a Set hashed it and grew and shrank its table
 * (BENCHMARKS.md, the cost suite's findings).
 *
 * @example
 * const sweeper = IdleSweeper.for(30_000, (member) => member.closeForIdle());
 * sweeper.add(member); // then on every read: member.idleTick = sweeper.tick
 */
export class IdleSweeper<T extends IdleMember> {
  static readonly SLICES = 4;
  static readonly #byKey = new Map<string, IdleSweeper<IdleMember>>();
  /** The sweeper `for` returned last: a server asks for the same one at every accept, and the key is a new string each time. */
  static #last: IdleSweeper<IdleMember> | undefined = undefined;

  readonly timeoutMs: number;
  /** Sweeps so far; members copy it when they see activity. */
  tick = 0;
  /** The list's ends meet here: an empty list is the head linked to itself. */
  readonly #head: IdleMember = { idleTick: 0, idlePrev: undefined, idleNext: undefined };
  #size = 0;
  readonly #onIdle: (member: T) => void;
  readonly #key: string;
  readonly #name: string;
  #timer: NodeJS.Timeout | undefined;

  private constructor(timeoutMs: number, onIdle: (member: T) => void, name: string, key: string) {
    this.timeoutMs = timeoutMs;
    this.#onIdle = onIdle;
    this.#name = name;
    this.#key = key;
    this.#head.idlePrev = this.#head.idleNext = this.#head;
  }

  /** The shared sweeper for `timeoutMs` and this `onIdle` callback (one per distinct pair). */
  static for<M extends IdleMember>(timeoutMs: number, onIdle: (member: M) => void, name: string): IdleSweeper<M> {
    const last = IdleSweeper.#last;
    if (last !== undefined && last.timeoutMs === timeoutMs && last.#name === name) return last as unknown as IdleSweeper<M>;
    const key = `${name} ${timeoutMs}`;
    let sweeper = IdleSweeper.#byKey.get(key) as IdleSweeper<M> | undefined;
    if (sweeper === undefined) {
      sweeper = new IdleSweeper(timeoutMs, onIdle, name, key);
      IdleSweeper.#byKey.set(key, sweeper as unknown as IdleSweeper<IdleMember>);
    }
    IdleSweeper.#last = sweeper as unknown as IdleSweeper<IdleMember>;
    return sweeper;
  }

  get size(): number {
    return this.#size;
  }

  /** Starts watching `member` (not watched by any sweeper), counting its silence from now; returns the sweeper. */
  add(member: T): this {
    member.idleTick = this.tick;
    const head = this.#head;
    member.idlePrev = head;
    member.idleNext = head.idleNext;
    head.idleNext!.idlePrev = member;
    head.idleNext = member;
    this.#size++;
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), Math.max(1, this.timeoutMs / IdleSweeper.SLICES));
      // The connections keep the process alive, not their idle timer.
      this.#timer.unref();
    }
    return this;
  }

  /** Stops watching `member`; a member already removed (or reported idle) is left alone. */
  remove(member: T): void {
    const { idlePrev: prev, idleNext: next } = member;
    if (prev === undefined || next === undefined) return;
    prev.idleNext = next;
    next.idlePrev = prev;
    member.idlePrev = member.idleNext = undefined;
    if (--this.#size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      IdleSweeper.#byKey.delete(this.#key);
      if (IdleSweeper.#last === (this as unknown as IdleSweeper<IdleMember>)) IdleSweeper.#last = undefined;
    }
  }

  #sweep(): void {
    const tick = ++this.tick;
    const head = this.#head;
    // Found first, reported after: a report closes its member, and a callback may remove others too.
    const idle: IdleMember[] = [];
    for (let member = head.idleNext!; member !== head; member = member.idleNext!) {
      if (tick - member.idleTick > IdleSweeper.SLICES) idle.push(member);
    }
    for (const member of idle) {
      if (member.idlePrev === undefined) continue;
      this.remove(member as T);
      this.#onIdle(member as T);
    }
  }
}

/** What a sweeper needs of a member: the tick of its last activity, and its links in the sweeper's list. */
export interface IdleMember {
  idleTick: number;
  idlePrev: IdleMember | undefined;
  idleNext: IdleMember | undefined;
}
