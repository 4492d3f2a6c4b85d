import { randomBytes } from 'node:crypto';
import type { SharedState } from '../../state/shared-state.js';

/** One room message as it travels between instances: who sent it (instance and sequence) and the bytes. */
interface Envelope {
  /** Instance id. */
  i: string;
  /** Per-instance sequence number, from 1. */
  s: number;
  /** The message, base64 (broker bytes are not always UTF-8). */
  d: string;
}

/** Instances remembered for duplicate detection; the oldest is forgotten first. */
const MAX_TRACKED_INSTANCES = 1024;

/**
 * Carries a room's messages between instances through the shared state. Each message holds its instance id and
 * a sequence number, so a receiver drops its own echo and any copy it already had, and per instance (so per
 * sender) messages are delivered in the order sent, each at most once. What is published while the backend is
 * down is not queued: it is lost to the other instances, and `publish` says so by returning false.
 *
 * @example
 * const relay = new RoomRelay(state, 'chat:lobby', (data) => broadcastLocally(data));
 * relay.publish(Buffer.from('alice: hi'));
 */
export class RoomRelay {
  readonly instanceId = randomBytes(8).toString('hex');
  readonly stats = { published: 0, unpublished: 0, received: 0, duplicates: 0, malformed: 0 };
  #seq = 0;
  readonly #lastSeen = new Map<string, number>();
  readonly #state: SharedState;
  readonly #channel: string;
  readonly #unsubscribe: () => void;

  constructor(state: SharedState, channel: string, deliver: (data: Buffer) => void) {
    this.#state = state;
    this.#channel = channel;
    this.#unsubscribe = state.subscribe(channel, (payload) => {
      const envelope = parseEnvelope(payload);
      if (envelope === undefined) {
        this.stats.malformed++;
        return;
      }
      if (envelope.i === this.instanceId) return;
      const last = this.#lastSeen.get(envelope.i);
      if (last !== undefined && envelope.s <= last) {
        this.stats.duplicates++;
        return;
      }
      if (last === undefined && this.#lastSeen.size >= MAX_TRACKED_INSTANCES) this.#lastSeen.delete(this.#lastSeen.keys().next().value!);
      this.#lastSeen.set(envelope.i, envelope.s);
      this.stats.received++;
      deliver(Buffer.from(envelope.d, 'base64'));
    });
  }

  /** Sends to the other instances; false when the backend is down (the message is lost to them). */
  publish(data: Uint8Array): boolean {
    const envelope: Envelope = { i: this.instanceId, s: ++this.#seq, d: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
    const sent = this.#state.status === 'up' && this.#state.publish(this.#channel, JSON.stringify(envelope));
    if (sent) this.stats.published++;
    else this.stats.unpublished++;
    return sent;
  }

  close(): void {
    this.#unsubscribe();
  }
}

function parseEnvelope(payload: string): Envelope | undefined {
  try {
    const value = JSON.parse(payload) as Partial<Envelope>;
    if (typeof value.i === 'string' && Number.isSafeInteger(value.s) && typeof value.d === 'string') return value as Envelope;
  } catch {
    // Not ours: something else published on the channel.
  }
  return undefined;
}
