import type { Socket } from 'node:net';
import { formatEndpoint, type Endpoint } from '../address.js';
import { JSON_EVENTS_VERSION } from './event-version.js';
import { formatHexDump, type Direction } from './hexdump.js';

/** How `--log FILE` writes a session: readable text, a hex dump, or one JSON object per line. */
export type LogFormat = 'text' | 'hex' | 'jsonl';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'hex', 'jsonl'];

/** Where trace output goes: a stream (stderr for `--hex`) or a {@link BatchedFileWriter}. */
export interface TraceSink {
  write(text: string): unknown;
}

/** One chunk of a session in a log format. `at` is when it passed (ms since the epoch). */
export function formatTraceEntry(format: LogFormat, entry: { direction: Direction; peer: Endpoint; offset: number; bytes: Uint8Array; at: number }): string {
  const peer = formatEndpoint(entry.peer);
  const ts = new Date(entry.at).toISOString();
  const bytes = Buffer.from(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength);
  switch (format) {
    case 'hex':
      return `${ts} ${formatHexDump(bytes, { direction: entry.direction, peer, offset: entry.offset })}`;
    case 'text':
      // JSON-quoted so a peer's control bytes cannot rewrite the log or the terminal that shows it.
      return `${ts} ${peer} ${entry.direction === 'in' ? '<' : '>'} ${JSON.stringify(bytes.toString('latin1'))}\n`;
    case 'jsonl':
      return (
        JSON.stringify({
          v: JSON_EVENTS_VERSION,
          ts,
          event: 'data',
          direction: entry.direction,
          peer: entry.peer,
          offset: entry.offset,
          bytes: bytes.length,
          base64: bytes.toString('base64'),
        }) + '\n'
      );
  }
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
  readonly #outputs: readonly { sink: TraceSink; format: LogFormat }[];

  constructor(outputs: readonly { sink: TraceSink; format: LogFormat }[]) {
    this.#outputs = outputs;
  }

  get enabled(): boolean {
    return this.#outputs.length > 0;
  }

  /** Records one chunk. */
  record(direction: Direction, peer: Endpoint, offset: number, bytes: Uint8Array): void {
    const at = Date.now();
    for (const { sink, format } of this.#outputs) sink.write(formatTraceEntry(format, { direction, peer, offset, bytes, at }));
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
    const write = socket.write;
    socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8') : chunk;
        if (bytes.length > 0 && !this.destroyed && !this.writableEnded) {
          tracer.record('out', peer, outOffset, bytes);
          outOffset += bytes.length;
        }
      }
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Socket['write'];
    const tracer = this;
  }
}
