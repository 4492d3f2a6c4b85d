import { LengthPrefixDecoder, encodeLengthPrefixed } from '../codec/length-prefix.js';
import { DEFAULTS } from '../options.js';
import { isEnd, ScheduledStage, type Item } from './_stage-base.js';
import type { ToxicAttributes } from './toxics.js';

const LF = 0x0a;

/** Cuts a byte stream into whole messages, each with its framing bytes, so they can be passed on unchanged. */
interface Framer {
  push(chunk: Buffer): Buffer[];
  /** Bytes of a message not finished yet (given back as they are when the toxic is removed or the stream ends). */
  take(): Buffer | undefined;
  readonly pendingBytes: number;
}

/** Lines, the LF kept (and a CR before it), so a line leaves exactly as it came. */
class LineFramer implements Framer {
  #held: Buffer[] = [];

  get pendingBytes(): number {
    return this.#held.reduce((sum, part) => sum + part.length, 0);
  }

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(LF); newline !== -1; newline = chunk.indexOf(LF, start)) {
      this.#held.push(chunk.subarray(start, newline + 1));
      out.push(Buffer.concat(this.#held));
      this.#held = [];
      start = newline + 1;
    }
    if (start < chunk.length) this.#held.push(chunk.subarray(start));
    return out;
  }

  take(): Buffer | undefined {
    const held = this.#held.length === 0 ? undefined : Buffer.concat(this.#held);
    this.#held = [];
    return held;
  }
}

/** Length-prefixed frames (src/codec), re-encoded whole: the same bytes as they came. */
class LengthFramer implements Framer {
  #decoder = new LengthPrefixDecoder({ maxPayloadBytes: Infinity });
  #pending: Buffer[] = [];

  get pendingBytes(): number {
    return this.#decoder.pendingBytes;
  }

  push(chunk: Buffer): Buffer[] {
    this.#pending.push(chunk);
    const frames = this.#decoder.push(chunk).map((payload) => encodeLengthPrefixed(payload));
    if (frames.length > 0) this.#pending = this.#decoder.pendingBytes === 0 ? [] : [Buffer.from(this.#heldTail())];
    return frames;
  }

  #heldTail(): Buffer {
    const all = Buffer.concat(this.#pending);
    return all.subarray(all.length - this.#decoder.pendingBytes);
  }

  take(): Buffer | undefined {
    if (this.#decoder.pendingBytes === 0) return undefined;
    const tail = Buffer.from(this.#heldTail());
    this.#decoder = new LengthPrefixDecoder({ maxPayloadBytes: Infinity });
    this.#pending = [];
    return tail;
  }
}

/**
 * socklab's message toxic: frames the stream and drops, delays, duplicates or corrupts the nth message that
 * matches a pattern (or every one). A message longer than `DEFAULTS.maxMessageBytes` is passed on unframed, so
 * the toxic never holds more than that.
 */
export class MessageStage extends ScheduledStage {
  #framer: Framer | undefined;
  #framing: string | undefined;
  #matched = 0;

  #attributes(): ToxicAttributes['message'] {
    return this.toxic.attributes as ToxicAttributes['message'];
  }

  push(item: Item): void {
    const framer = this.#framerFor();
    if (isEnd(item)) {
      const tail = framer.take();
      if (tail) this.schedule(tail, performance.now());
      return this.schedule(item, performance.now());
    }
    for (const message of framer.push(item)) this.#message(message);
    if (framer.pendingBytes > DEFAULTS.maxMessageBytes) this.schedule(framer.take()!, performance.now());
  }

  #framerFor(): Framer {
    const { framing } = this.#attributes();
    if (!this.#framer || this.#framing !== framing) {
      this.#framer = framing === 'length' ? new LengthFramer() : new LineFramer();
      this.#framing = framing;
    }
    return this.#framer;
  }

  #message(message: Buffer): void {
    const { action, nth, pattern, delay, framing } = this.#attributes();
    const now = performance.now();
    const matches = pattern === '' || new RegExp(pattern).test(message.toString('latin1'));
    if (!matches || (nth > 0 && ++this.#matched !== nth)) return this.schedule(message, now);
    this.acted(`${action} message ${nth === 0 ? '(every match)' : `#${nth}`}${pattern ? ` matching /${pattern}/` : ''}`);
    if (action === 'drop') return this.ctx.dropped(message.length);
    if (action === 'delay') return this.schedule(message, now + delay);
    if (action === 'duplicate') {
      this.schedule(message, now);
      // The copy is new bytes in the chain: it counts as held until it is written.
      this.ctx.dropped(-message.length);
      return this.schedule(Buffer.from(message), now);
    }
    // corrupt: one payload byte flipped, the framing (terminator, length header) left whole.
    const copy = Buffer.from(message);
    const first = framing === 'length' ? 4 : 0;
    const last = framing === 'length' ? copy.length : copy.length - (copy.at(-2) === 0x0d ? 2 : 1);
    if (last > first) copy[first + Math.floor(this.ctx.random() * (last - first))]! ^= 0xff;
    this.schedule(copy, now);
  }

  override drain(): Item[] {
    const items = super.drain();
    const tail = this.#framer?.take();
    return tail ? [...items, tail] : items;
  }
}
