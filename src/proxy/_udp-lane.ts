import { jitteredDelay } from '../random.js';
import type { Toxic, ToxicAttributes } from './toxics.js';

/** Counters of a UDP proxy. */
export interface UdpProxyStats {
  /** Datagrams handed on, duplicates included. */
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  sessions: number;
  /** Datagrams from new clients while `maxSessions` were relayed. */
  refused: number;
}

/** What the toxics of one direction add up to, for one client. */
interface Fates {
  drop: number;
  duplicate: number;
  reorder: number;
  reorderMaxMs: number;
  latencyMs: number;
  jitterMs: number;
}

/** Several toxics of a kind combine as independent chances (two 10% drops lose 19%); delays add up. */
function combine(toxics: readonly Toxic[]): Fates {
  const fates: Fates = { drop: 0, duplicate: 0, reorder: 0, reorderMaxMs: 0, latencyMs: 0, jitterMs: 0 };
  const either = (p: number, q: number): number => 1 - (1 - p) * (1 - q);
  for (const toxic of toxics) {
    if (toxic.type === 'drop') fates.drop = either(fates.drop, (toxic.attributes as ToxicAttributes['drop']).probability);
    else if (toxic.type === 'duplicate') fates.duplicate = either(fates.duplicate, (toxic.attributes as ToxicAttributes['duplicate']).probability);
    else if (toxic.type === 'reorder') {
      const { probability, max_ms: maxMs } = toxic.attributes as ToxicAttributes['reorder'];
      fates.reorder = either(fates.reorder, probability);
      fates.reorderMaxMs = Math.max(fates.reorderMaxMs, maxMs);
    } else if (toxic.type === 'latency') {
      const { latency, jitter } = toxic.attributes as ToxicAttributes['latency'];
      fates.latencyMs += latency;
      fates.jitterMs += jitter;
    }
  }
  return fates;
}

/**
 * One direction of one client: decides each datagram's fate from the toxics in force now (read at every
 * datagram, so a change applies at once) and sends it.
 */
export class Lane {
  #held: { data: Buffer; timer: NodeJS.Timeout } | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Toxicity is decided once per client and toxic, as a TCP toxic is once per connection. */
  readonly #applies = new Map<string, boolean>();

  constructor(
    readonly send: (data: Buffer) => void,
    readonly toxics: () => readonly Toxic[],
    readonly random: () => number,
    readonly stats: UdpProxyStats,
  ) {}

  #fates(): Fates {
    const active = this.toxics().filter((toxic) => {
      let applies = this.#applies.get(toxic.name);
      if (applies === undefined) {
        applies = toxic.toxicity >= 1 || this.random() < toxic.toxicity;
        this.#applies.set(toxic.name, applies);
      }
      return applies;
    });
    return combine(active);
  }

  push(data: Buffer): void {
    const { stats } = this;
    const fates = this.#fates();
    // Three draws for every datagram, whatever happens to it, so its fate depends only on the seed and its
    // place in the sequence, never on timing (whether an earlier one is still held back).
    const dropRoll = this.random();
    const duplicateRoll = this.random();
    const reorderRoll = this.random();
    if (dropRoll < fates.drop) {
      stats.dropped++;
      return;
    }
    const copies = duplicateRoll < fates.duplicate ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    if (this.#held === undefined && reorderRoll < fates.reorder) {
      stats.reordered++;
      const held = { data, timer: setTimeout(() => this.#releaseHeld(fates), fates.reorderMaxMs) };
      this.#held = held;
      if (copies === 2) this.#deliver(data, fates);
      return;
    }
    for (let i = 0; i < copies; i++) this.#deliver(data, fates);
    this.#releaseHeld(fates);
  }

  close(): void {
    if (this.#held) clearTimeout(this.#held.timer);
    this.#held = undefined;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #releaseHeld(fates: Fates): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    clearTimeout(held.timer);
    this.#deliver(held.data, fates);
  }

  #deliver(data: Buffer, fates: Fates): void {
    const delay = jitteredDelay(fates.latencyMs, fates.jitterMs, this.random);
    this.stats.forwarded++;
    if (delay <= 0) {
      this.send(data);
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.send(data);
    }, delay);
    this.#timers.add(timer);
  }
}
