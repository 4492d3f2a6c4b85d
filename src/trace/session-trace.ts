import type { Socket } from 'node:net';
import { formatEndpoint, type Endpoint } from '../address.js';
import { JSON_EVENTS_VERSION } from './event-version.js';
import { DEFAULTS } from '../options.js';
import { formatSocketPath } from '../unix/socket-path.js';
import { formatHexDump, type Direction } from './hexdump.js';
import { PeerPieces, TraceBytes, timePiece } from './_trace-bytes.js';
import type { LogFormat, TraceEntry } from './_trace-types.js';
export type { LogFormat, TraceEntry } from './_trace-types.js';


export const LOG_FORMATS: readonly LogFormat[] = ['text', 'hex', 'jsonl'];
const EMPTY = Buffer.alloc(0);

/** Where trace output goes: a stream (stderr for `--hex`) or a {@link BatchedFileWriter}. */
export interface TraceSink {
  write(text: string): unknown;
  /** If the sink takes bytes (a file), entries are formatted straight into bytes for it: no string per entry. */
  writeBytes?(bytes: Uint8Array): unknown;
}


/** A connection's endpoint object is the same for all its chunks: its text is worked out once. */
const peerNames = new WeakMap<Endpoint, string>();
const peerJsons = new WeakMap<Endpoint, string>();
/** The same as the pieces of an entry in bytes, for sinks that take bytes. */
const peerPieces = new WeakMap<Endpoint, PeerPieces>();

function piecesOf(peer: Endpoint): PeerPieces {
  let pieces = peerPieces.get(peer);
  if (pieces === undefined) peerPieces.set(peer, (pieces = new PeerPieces(peerName(peer), peerJson(peer))));
  return pieces;
}

/** One chunk of a session in a log format. `ts` is `at` as ISO 8601 (passed in, so a batch formats it once). */
export function formatTraceEntry(format: LogFormat, entry: TraceEntry, ts = new Date(entry.at).toISOString()): string {
  const peer = peerName(entry.peer);
  // Chunks from sockets are Buffers already; a view is made only for a plain Uint8Array (one allocation per chunk).
  const bytes = Buffer.isBuffer(entry.bytes) ? entry.bytes : Buffer.from(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength);
  switch (format) {
    case 'hex':
      return `${ts} ${formatHexDump(bytes, { direction: entry.direction, peer, offset: entry.offset })}`;
    case 'text':
      // JSON-quoted so a peer's control bytes cannot rewrite the log or the terminal that shows it.
      return `${ts} ${peer} ${entry.direction === 'in' ? '<' : '>'} ${JSON.stringify(bytes.toString('latin1'))}\n`;
    case 'jsonl':
      // Built by hand rather than JSON.stringify(object): this runs per chunk, and every part but the peer is
      // a number or a string that needs no escaping (ISO time, base64); the peer's JSON is made once.
      return `{"v":${JSON_EVENTS_VERSION},"ts":"${ts}","event":"data","direction":"${entry.direction}","peer":${peerJson(entry.peer)},"offset":${entry.offset},"bytes":${bytes.length},"base64":"${bytes.toString('base64')}"}\n`;
  }
}

function peerName(peer: Endpoint): string {
  let name = peerNames.get(peer);
  if (name === undefined) peerNames.set(peer, (name = formatEndpoint(peer)));
  return name;
}

function peerJson(peer: Endpoint): string {
  let json = peerJsons.get(peer);
  if (json === undefined) {
    const { address, port, family } = peer;
    peerJsons.set(peer, (json = JSON.stringify({ address: family === 'unix' ? formatSocketPath(address) : address, port, family })));
  }
  return json;
}

/**
 * Watches the bytes of connections and writes them to up to two sinks: `--hex` (a hex dump, usually to stderr)
 * and `--log FILE` in a chosen format. Offsets count per connection and direction.
 *
 * @example
 * const trace = new SessionTracer([{ sink: process.stderr, format: 'hex' }]);
 * trace.watch(socket, conn.remote);
 */
export class SessionTracer {
  /** Chunks not recorded because more than `maxPendingBytes` waited to be formatted (a flood outran the log). */
  dropped = 0;
  readonly #outputs: readonly { sink: TraceSink; format: LogFormat }[];
  readonly #maxPendingBytes: number;
  #pending: TraceEntry[] = [];
  /** Reused by every flush for the sinks that take bytes. */
  readonly #bytes = new TraceBytes();
  #pendingBytes = 0;

  constructor(outputs: readonly { sink: TraceSink; format: LogFormat }[], options: { maxPendingBytes?: number } = {}) {
    this.#outputs = outputs;
    this.#maxPendingBytes = options.maxPendingBytes ?? DEFAULTS.maxLogBufferBytes;
  }

  get enabled(): boolean {
    return this.#outputs.length > 0;
  }

  /**
   * Records one chunk. Nothing is formatted on the data path: chunks wait (bounded) until the end of the
   * event-loop turn, then each sink gets the turn's entries as one string, with one timestamp per millisecond.
   */
  record(direction: Direction, peer: Endpoint, offset: number, bytes: Uint8Array): void {
    if (this.#pendingBytes + bytes.length > this.#maxPendingBytes) {
      this.dropped++;
      return;
    }
    if (this.#pending.length === 0) setImmediate(() => this.flush());
    this.#pending.push({ direction, peer, offset, bytes, at: Date.now() });
    this.#pendingBytes += bytes.length;
  }

  /** Formats and writes what is pending now (called once per turn; call it before closing the sinks). */
  flush(): void {
    const entries = this.#pending;
    if (entries.length === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const { sink, format } of this.#outputs) {
      const bytes = sink.writeBytes ? this.#bytes : undefined;
      let text = '';
      let lastAt = -1;
      let ts = '';
      let tsBytes: Buffer = EMPTY;
      // A request and its reply are two entries of one peer in a row: its pieces are looked up once for both.
      let lastPeer: Endpoint | undefined;
      let pieces: PeerPieces | undefined;
      for (const entry of entries) {
        if (entry.at !== lastAt) {
          lastAt = entry.at;
          ts = new Date(lastAt).toISOString();
          if (bytes) tsBytes = timePiece(format, ts);
        }
        if (bytes) {
          if (entry.peer !== lastPeer) pieces = piecesOf((lastPeer = entry.peer));
          bytes.entry(format, entry, tsBytes, pieces!.mid(format, entry.direction === 'in'));
        } else text += formatTraceEntry(format, entry, ts);
      }
      if (bytes) sink.writeBytes!(bytes.take());
      else sink.write(text);
    }
  }

  /**
   * Taps a socket: what it emits as `'data'` is recorded as `in`, what is written to it as `out`. The tap on
   * `'data'` is added with `prependListener`, which (unlike `on`) does not start the stream flowing, so a socket
   * nobody reads yet (a client queued by a sequential server) is not read early. Node has no hook for outgoing
   * bytes, so this socket's own `write` is wrapped.
   */
  watch(socket: Socket, peer: Endpoint): void {
    if (!this.enabled) return;
    let inOffset = 0;
    let outOffset = 0;
    socket.prependListener('data', (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.record('in', peer, inOffset, bytes);
      inOffset += bytes.length;
    });
    const write = socket.write as (this: Socket, chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;
    // Fixed parameters rather than `...rest`: this runs for every reply, and a rest array is an allocation each time.
    socket.write = function (this: Socket, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : chunk;
        if (bytes.length > 0 && !this.destroyed && !this.writableEnded) {
          tracer.record('out', peer, outOffset, bytes);
          outOffset += bytes.length;
        }
      }
      return write.call(this, chunk, encoding, callback);
    } as Socket['write'];
    const tracer = this;
  }
}
