/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same drops, duplicates and
 * delays, so a fault run can be replayed exactly. Not for cryptography.
 *
 * @example const random = seededRandom(42); random() // a number in [0, 1), the same every time for seed 42
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A seed for when none was given (printed, so the run can be repeated). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

/**
 * A delay of `latencyMs`, plus or minus up to `jitterMs` at random, never negative. Draws from `random` only
 * when there is jitter, so a proxy without it uses no random numbers for delays.
 */
export function jitteredDelay(latencyMs: number, jitterMs: number, random: () => number): number {
  return jitterMs === 0 ? latencyMs : Math.max(0, latencyMs + (random() * 2 - 1) * jitterMs);
}
