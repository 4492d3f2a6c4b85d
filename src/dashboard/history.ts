import type { RateSpec } from './source.js';

/** Rates over a window, as the page charts them: `t` in Unix seconds, one value array per rate. */
export interface RateWindow {
  t: number[];
  series: { label: string; axis: 0 | 1; values: number[] }[];
}

/**
 * Turns cumulative totals sampled now and then into per-second rates over the last `windowMs`: the rate at a
 * sample is its counter's growth since the previous sample over the time between them.
 *
 * @example
 * const history = new RateHistory([{ total: 'messagesIn', label: 'messages/s' }]);
 * history.add(Date.now(), { messagesIn: 120 });
 */
export class RateHistory {
  readonly #specs: readonly RateSpec[];
  readonly #windowMs: number;
  #previous: { atMs: number; totals: Record<string, number> } | undefined;
  readonly #t: number[] = [];
  readonly #values: number[][];

  constructor(specs: readonly RateSpec[], windowMs = 60_000) {
    this.#specs = specs;
    this.#windowMs = windowMs;
    this.#values = specs.map(() => []);
  }

  add(atMs: number, totals: Record<string, number>): void {
    const previous = this.#previous;
    this.#previous = { atMs, totals };
    if (previous === undefined || atMs <= previous.atMs) return;
    const seconds = (atMs - previous.atMs) / 1000;
    this.#t.push(atMs / 1000);
    this.#specs.forEach((spec, i) => {
      // A counter that went down (a source restarted) shows 0, not a negative rate.
      const grown = Math.max(0, (totals[spec.total] ?? 0) - (previous.totals[spec.total] ?? 0));
      this.#values[i]!.push(Math.round((grown / seconds) * 10) / 10);
    });
    const oldest = (atMs - this.#windowMs) / 1000;
    let drop = 0;
    while (drop < this.#t.length && this.#t[drop]! < oldest) drop++;
    if (drop > 0) {
      this.#t.splice(0, drop);
      for (const values of this.#values) values.splice(0, drop);
    }
  }

  toJSON(): RateWindow {
    return {
      t: [...this.#t],
      series: this.#specs.map((spec, i) => ({ label: spec.label, axis: spec.axis ?? 0, values: [...this.#values[i]!] })),
    };
  }
}
