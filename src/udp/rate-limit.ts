import { checkCount } from '../options.js';

/**
 * A token bucket per source address: each source may send `perSecond` requests a second, with a burst of one
 * second's worth. At most `maxSources` buckets exist; when a flood of (possibly spoofed) new sources fills the
 * table, idle buckets are swept and, if none is idle, the newcomers share one overflow bucket, so memory stays
 * bounded and a flood of fresh addresses cannot starve the sources already known.
 *
 * @example
 * const limiter = new SourceRateLimiter({ perSecond: 100, maxSources: 1024 });
 * if (!limiter.take('127.0.0.5')) stats.rateLimited++;
 */
export class SourceRateLimiter {
  readonly perSecond: number;
  readonly maxSources: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #overflow: Bucket;
  #lastSweepAt = -Infinity;

  constructor(options: { perSecond: number; maxSources: number }) {
    this.perSecond = checkCount('perSecond', options.perSecond, 1, true);
    this.maxSources = checkCount('maxSources', options.maxSources, 1);
    this.#overflow = { tokens: this.perSecond, at: performance.now() };
  }

  /** Sources with a bucket of their own. */
  get trackedSources(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `source`; false when its bucket is empty (the request should be dropped). */
  take(source: string, now = performance.now()): boolean {
    if (this.perSecond === Infinity) return true;
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.maxSources) this.#sweep(now);
      if (this.#buckets.size >= this.maxSources) bucket = this.#overflow;
      else {
        bucket = { tokens: this.perSecond, at: now };
        this.#buckets.set(source, bucket);
      }
    }
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }

  /** Drops buckets that have refilled completely: forgetting them changes nothing. At most every 100 ms. */
  #sweep(now: number): void {
    if (now - this.#lastSweepAt < 100) return;
    this.#lastSweepAt = now;
    for (const [source, bucket] of this.#buckets) {
      if (now - bucket.at >= 1000) this.#buckets.delete(source);
    }
  }
}

interface Bucket {
  tokens: number;
  at: number;
}
