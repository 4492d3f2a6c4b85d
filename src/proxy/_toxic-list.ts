import { EventEmitter } from 'node:events';
import { SocklabError } from '../errors.js';
import { resolveToxic, updatedToxic, type Toxic, type ToxicInput, type ToxicType } from './toxics.js';

/** What a proxy does to its live connections when its toxics change. */
export interface ToxicChanges {
  added(toxic: Toxic): void;
  updated(toxic: Toxic): void;
  removed(toxic: Toxic): void;
}

/**
 * A proxy's toxics, in the order they were added, names unique across both streams (as toxiproxy's are).
 * Shared by the TCP and UDP proxies; each tells its connections through `changes`.
 */
export class ToxicList {
  #toxics: Toxic[] = [];

  constructor(
    readonly proxyName: string,
    readonly types: readonly ToxicType[],
    readonly changes: ToxicChanges,
  ) {}

  /** The toxics in force, as they are (not copies: for the hot path; do not change them). */
  get live(): readonly Toxic[] {
    return this.#toxics;
  }

  all(): Toxic[] {
    return this.#toxics.map((toxic) => structuredClone(toxic));
  }

  get(name: string): Toxic {
    const toxic = this.#toxics.find((candidate) => candidate.name === name);
    if (!toxic) throw new SocklabError('SL_ERR_TOXIC_NOT_FOUND', `No toxic named "${name}" on proxy ${this.proxyName}`);
    return structuredClone(toxic);
  }

  add(input: ToxicInput): Toxic {
    const toxic = resolveToxic(input, this.types);
    if (this.#toxics.some((other) => other.name === toxic.name)) throw new SocklabError('SL_ERR_TOXIC_EXISTS', `Proxy ${this.proxyName} already has a toxic named "${toxic.name}"`);
    this.#toxics = [...this.#toxics, toxic];
    this.changes.added(toxic);
    return structuredClone(toxic);
  }

  update(name: string, change: { attributes?: unknown; toxicity?: unknown }): Toxic {
    const index = this.#toxics.findIndex((toxic) => toxic.name === name);
    if (index === -1) this.get(name);
    const toxic = updatedToxic(this.#toxics[index]!, change);
    this.#toxics = this.#toxics.map((other, i) => (i === index ? toxic : other));
    this.changes.updated(toxic);
    return structuredClone(toxic);
  }

  remove(name: string): void {
    const toxic = this.get(name);
    this.#toxics = this.#toxics.filter((other) => other.name !== name);
    this.changes.removed(toxic);
  }

  clear(): void {
    for (const toxic of [...this.#toxics]) this.remove(toxic.name);
  }
}

/**
 * What the TCP and UDP proxies share: their toxics, and the calls that change them. A subclass hears of each
 * change through `toxicAdded` / `toxicUpdated` / `toxicRemoved` (to tell its live connections).
 */
// `any[]` is node's own bound for an event's arguments (EventEmitter's type parameter).
export abstract class ToxicProxyBase<Events extends Record<keyof Events, any[]> | [never] = [never]> extends EventEmitter<Events> {
  /** @internal */
  protected readonly toxicList: ToxicList;

  constructor(name: string, types: readonly ToxicType[]) {
    super();
    this.toxicList = new ToxicList(name, types, {
      added: (toxic) => this.toxicAdded(toxic),
      updated: (toxic) => this.toxicUpdated(toxic),
      removed: (toxic) => this.toxicRemoved(toxic),
    });
  }

  protected toxicAdded(_toxic: Toxic): void {}
  protected toxicUpdated(_toxic: Toxic): void {}
  protected toxicRemoved(_toxic: Toxic): void {}

  /** The toxics in force, in the order they were added. */
  toxics(): Toxic[] {
    return this.toxicList.all();
  }

  toxic(name: string): Toxic {
    return this.toxicList.get(name);
  }

  /**
   * Adds a toxic; it applies to what is open now as well as to what comes later.
   *
   * @example
   * const proxy = await startTcpProxy({ targetPort: port });
   * proxy.addToxic({ type: 'latency', stream: 'upstream', attributes: { latency: 100 } });
   * await proxy.close();
   */
  addToxic(input: ToxicInput): Toxic {
    return this.toxicList.add(input);
  }

  /** Changes a toxic's attributes or toxicity (those given; the rest stay), on live connections too. */
  updateToxic(name: string, change: { attributes?: unknown; toxicity?: unknown }): Toxic {
    return this.toxicList.update(name, change);
  }

  /** Removes a toxic; what it held back goes on, in order, and its connections stay open. */
  removeToxic(name: string): void {
    this.toxicList.remove(name);
  }

  /** Removes every toxic. */
  resetToxics(): void {
    this.toxicList.clear();
  }
}
