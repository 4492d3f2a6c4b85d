/** The types a session trace and its byte formatter share (kept apart so neither imports the other). */
import type { Endpoint } from '../address.js';
import type { Direction } from './hexdump.js';

/** How `--log FILE` writes a session: readable text, a hex dump, or one JSON object per line. */
export type LogFormat = 'text' | 'hex' | 'jsonl';

/** One chunk that passed, as the tracer holds it until the end of the event-loop turn. */
export interface TraceEntry {
  direction: Direction;
  peer: Endpoint;
  offset: number;
  bytes: Uint8Array;
  /** When it passed, ms since the epoch. */
  at: number;
}
