import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the hardening tests tried and saw, summed over every test file by scripts/run-tests.mjs and printed
 * at the end of `npm test`. Each test records only after its own assertions passed, from numbers it measured.
 */
export interface TallyEntry {
  /** Generated or hostile inputs fed to a decoder or a server. */
  inputs?: number;
  /** A fault kind the server lived through (named, so the total counts kinds, not repetitions). */
  fault?: string;
  /** Server processes checked for a crash at the end of a fault, and how many had crashed. */
  serversChecked?: number;
  crashes?: number;
  /** Messages the server accepted (logged or counted) whose reply never reached the client. */
  lostAcks?: number;
  /** Acknowledged messages checked. */
  acksChecked?: number;
  /** Counter values missing from or repeated in 1..N. */
  lostValues?: number;
  duplicatedValues?: number;
  /** Counter values checked. */
  valuesChecked?: number;
}

/** Appends one entry to this test process's tally file (no-op when not run by scripts/run-tests.mjs). */
export function tally(entry: TallyEntry): void {
  const dir = process.env['SOCKLAB_TALLY_DIR'];
  if (!dir) return;
  appendFileSync(join(dir, `${process.pid}.jsonl`), JSON.stringify(entry) + '\n');
}
