import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a probe connection ended, as far as we saw it. */
export type ProbeEnd = 'open' | 'fin' | 'reset' | 'closed';

/**
 * One raw TCP connection a check drives: it records every byte the server sent and how the connection ended, and
 * waits for bytes with a deadline. No framing of its own: the server under test decides what a reply is, and the
 * checks compare byte counts, so a server whose replies have no newline is measured too.
 */
export class Probe {
  received = Buffer.alloc(0);
  end: ProbeEnd = 'open';
  /** When set, only the last this many bytes are kept (a check that needs only the end of a flood). */
  tailBytes = Infinity;
  /** Bytes read so far that a check already looked at ({@link take}). */
  #taken = 0;
  #waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      if (this.received.length > this.tailBytes) {
        this.received = this.received.subarray(this.received.length - this.tailBytes);
        this.#taken = 0;
      }
      this.#wake();
    });
    socket.on('end', () => {
      if (this.end === 'open') this.end = 'fin';
      this.#wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.end === 'open') this.end = err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'closed';
      this.#wake();
    });
    socket.on('close', () => {
      if (this.end === 'open') this.end = 'closed';
      this.#wake();
    });
  }

  /** Connects, or rejects with the OS error (ECONNREFUSED, …) or a timeout after `timeoutMs`. */
  static open(host: string, port: number, timeoutMs: number): Promise<Probe> {
    return new Promise((resolve, reject) => {
      // allowHalfOpen: after our FIN we still read the replies owed (the half-close check).
      const socket = connect({ host, port, allowHalfOpen: true, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer to the connect within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new Probe(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Resolves when `done()` holds or `timeoutMs` passed; true if it holds. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return true;
    return new Promise<boolean>((resolve) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(done());
      };
      const check = (): void => {
        if (done()) settle();
      };
      // The timer settles unconditionally: its clock and performance.now() may disagree by a fraction of a ms.
      const timer = setTimeout(settle, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Bytes not taken yet. */
  get fresh(): Buffer {
    return this.received.subarray(this.#taken);
  }

  /**
   * Waits for at least `minBytes` new bytes (or the end of the connection), then for `quietMs` without any more,
   * and takes them: a server's answer to what we just sent, however it frames it.
   */
  async reply(timeoutMs: number, quietMs: number, minBytes = 1): Promise<Buffer> {
    const deadline = performance.now() + timeoutMs;
    await this.until(() => this.fresh.length >= minBytes || this.end !== 'open', timeoutMs);
    for (;;) {
      const before = this.received.length;
      const left = deadline - performance.now();
      if (left <= 0 || this.fresh.length === 0) break;
      await this.until(() => this.received.length > before, Math.min(quietMs, left));
      if (this.received.length === before) break;
    }
    return this.take();
  }

  /** Takes every byte not taken yet. */
  take(): Buffer {
    const fresh = this.fresh;
    this.#taken = this.received.length;
    return fresh;
  }

  /** Waits until the server ended the connection (FIN, reset or close); true if it did within `timeoutMs`. */
  ended(timeoutMs: number): Promise<boolean> {
    return this.until(() => this.end !== 'open', timeoutMs);
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Sends `data` one byte per write, `gapMs` apart: with Nagle off, one byte per segment, and so per read. */
  async writeBytewise(data: string, gapMs: number): Promise<void> {
    for (const byte of Buffer.from(data)) {
      if (this.socket.destroyed) return;
      this.socket.write(Buffer.of(byte));
      await sleep(gapMs);
    }
  }

  /** Half-close: FIN, "I will send nothing more", still reading. */
  finish(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Bytes as a short, readable quote for a report: `"got message\n"` or `1048576 bytes`. */
export function quote(data: Buffer | string, max = 80): string {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  if (text.length === 0) return 'nothing';
  const shown = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return text.length > max ? `${shown}… (${text.length} bytes)` : shown;
}
