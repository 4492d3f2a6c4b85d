import type { Socket } from 'node:net';
import { createStage, type End, type Item, type Stage, type StageContext } from './_stages.js';
import type { Toxic } from './toxics.js';

/** How long a reset waits after the last data it follows was written (see {@link Link.#end}). */
const RESET_SETTLE_MS = 10;

/** What a link asks of the connection it belongs to. */
export interface LinkHost {
  /** Reset both sides (RST). */
  reset(why: string): void;
  /** Close both sides cleanly (FIN both ways). */
  close(why: string): void;
  /** A toxic acted on this connection (first time only). */
  acted(toxic: Toxic, why: string): void;
}

/**
 * One direction of one relayed connection: reads `from`, runs each chunk through the chain of toxics for this
 * direction, writes `to` in order. The chain can change while data flows: a toxic added goes at the end, one
 * removed hands what it holds to the next, one updated keeps its place and its state.
 */
export class Link {
  /** Bytes read from `from`, before any toxic. */
  bytes = 0;
  readonly #stages: Stage[] = [];
  /** Bytes inside the chain (read but not yet written or dropped). */
  #held = 0;
  #waitingDrain = false;
  #done = false;
  readonly #ctx: StageContext;

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    toxics: readonly Toxic[],
    readonly random: () => number,
    readonly host: LinkHost,
    readonly maxHeldBytes: number,
    /** Told of the bytes of every write to `to`. */
    readonly sent: (bytes: number) => void,
    /** Told of every chunk read, with where it starts in this direction's stream. */
    readonly count: (chunk: Buffer, offset: number) => void,
  ) {
    this.#ctx = {
      random,
      dropped: (bytes) => this.#release(bytes),
      acted: (toxic, why) => host.acted(toxic, why),
    };
    for (const toxic of toxics) this.add(toxic);
    from.on('data', (chunk: Buffer) => this.#onData(chunk));
    from.on('end', () => this.#input({ end: 'fin', why: 'the sender closed' }));
  }

  /** Names of the toxics in this direction's chain, in order. */
  get toxics(): string[] {
    return this.#stages.map((stage) => stage.toxic.name);
  }

  add(toxic: Toxic): void {
    const stage = createStage(toxic, this.#roll(toxic), this.#ctx, (item) => this.#after(stage, item));
    this.#stages.push(stage);
  }

  update(toxic: Toxic): void {
    const index = this.#stages.findIndex((stage) => stage.toxic.name === toxic.name);
    const old = this.#stages[index];
    if (!old) return;
    if (old.toxic.toxicity === toxic.toxicity) {
      old.update(toxic);
      return;
    }
    // A new toxicity is a new roll for this connection; what the old stage held goes through the new one.
    const stage = createStage(toxic, this.#roll(toxic), this.#ctx, (item) => this.#after(stage, item));
    this.#stages[index] = stage;
    for (const item of old.drain()) stage.push(item);
  }

  remove(name: string): void {
    const index = this.#stages.findIndex((stage) => stage.toxic.name === name);
    const stage = this.#stages[index];
    if (!stage) return;
    const held = stage.drain();
    this.#stages.splice(index, 1);
    for (const item of held) this.#deliver(index, item);
    this.#flow();
  }

  /** Stops every toxic's timers (the connection is gone). */
  destroy(): void {
    this.#done = true;
    for (const stage of this.#stages) stage.drain();
    this.#stages.length = 0;
  }

  /** Toxicity is decided once per connection and toxic: 1 always applies, 0 never does. */
  #roll(toxic: Toxic): boolean {
    return toxic.toxicity >= 1 || this.random() < toxic.toxicity;
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return; // the connection is closing: what the peer still sends goes nowhere
    this.count(chunk, this.bytes);
    this.bytes += chunk.length;
    if (this.#stages.length === 0) {
      // No toxics: straight through, with the destination's backpressure.
      if (this.to.destroyed) return;
      this.sent(chunk.length);
      if (!this.to.write(chunk)) this.#waitForDrain();
      return;
    }
    this.#held += chunk.length;
    this.#input(chunk);
    this.#flow();
  }

  #input(item: Item): void {
    this.#deliver(0, item);
  }

  #after(stage: Stage, item: Item): void {
    const index = this.#stages.indexOf(stage);
    if (index === -1) return; // drained and removed: it has nothing left to send
    this.#deliver(index + 1, item);
  }

  #deliver(index: number, item: Item): void {
    const stage = this.#stages[index];
    if (stage) stage.push(item);
    else this.#write(item);
  }

  #write(item: Item): void {
    if (this.#done) return;
    if (!Buffer.isBuffer(item)) return this.#end(item);
    this.#release(item.length);
    if (this.to.destroyed) return;
    this.sent(item.length);
    if (!this.to.write(item)) this.#waitForDrain();
  }

  #end(item: End): void {
    this.#done = true;
    if (item.end === 'fin') {
      if (!this.to.destroyed) this.to.end();
    } else if (item.end === 'close') {
      this.host.close(item.why);
    } else if (this.to.destroyed || this.to.bytesWritten === 0) {
      this.host.reset(item.why);
    } else {
      // What came before the reset is written first (reset_peer after_bytes delivers all of its bytes), and
      // the RST waits a moment more: on Linux a RST that lands before the peer read the data reads as a FIN.
      this.to.write(Buffer.alloc(0), () => setTimeout(() => this.host.reset(item.why), RESET_SETTLE_MS));
    }
  }

  #release(bytes: number): void {
    this.#held -= bytes;
    this.#flow();
  }

  #waitForDrain(): void {
    if (this.#waitingDrain) return;
    this.#waitingDrain = true;
    this.from.pause();
    this.to.once('drain', () => {
      this.#waitingDrain = false;
      this.#flow();
    });
  }

  /** Reads from the source only while the destination drains and the chain holds less than `maxHeldBytes`. */
  #flow(): void {
    if (this.#waitingDrain || this.from.destroyed) return;
    if (this.#held > this.maxHeldBytes) this.from.pause();
    else if (this.#held <= this.maxHeldBytes / 2 && this.from.isPaused()) this.from.resume();
  }
}
