import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { TestContext } from 'node:test';

/** One UDP client sending `get`s to one counter server, a window of them outstanding at once. */
export class CounterLoad {
  readonly values: number[] = [];
  readonly socket: Socket;
  sent = 0;
  #port: number;
  #stopped = false;
  #lastProgress = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #window: number;
  #limit: number;
  #lostAfterMs: number;

  private constructor(socket: Socket, port: number, window: number, limit: number, lostAfterMs: number) {
    this.socket = socket;
    this.#port = port;
    this.#window = window;
    this.#limit = limit;
    this.#lostAfterMs = lostAfterMs;
    socket.on('message', (data) => {
      this.values.push(Number(data.toString('latin1')));
      this.#lastProgress = performance.now();
      this.#fill();
    });
    // ICMP port unreachable from a server we killed: expected, not a failure of the client.
    socket.on('error', () => {});
  }

  /** Starts sending to `port` until `limit` replies came or `stop()`; registered for cleanup with the test. */
  /**
   * `lostAfterMs`: a reply that long overdue is taken as lost and the window reopens. Keep it long for a lockstep
   * client (window 1), or a late reply on a loaded machine puts two gets in flight.
   */
  static async start(t: TestContext, port: number, options: { window?: number; limit?: number; lostAfterMs?: number } = {}): Promise<CounterLoad> {
    const socket = createSocket('udp4');
    t.after(() => {
      try {
        socket.close();
      } catch {
        // already closed
      }
    });
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    socket.setRecvBufferSize(4 * 1024 * 1024);
    const load = new CounterLoad(socket, port, options.window ?? 200, options.limit ?? Infinity, options.lostAfterMs ?? 100);
    load.#timer = setInterval(() => load.#recover(), 50);
    load.#fill();
    return load;
  }

  #fill(): void {
    while (!this.#stopped && this.sent - this.values.length < this.#window && this.sent < this.#limit + this.#window && this.values.length < this.#limit) {
      this.socket.send('get', this.#port, '127.0.0.1');
      this.sent++;
    }
  }

  /** Replies that have not come in `lostAfterMs` are taken as lost (UDP), so the window opens again. */
  #recover(): void {
    if (performance.now() - this.#lastProgress < this.#lostAfterMs) return;
    this.sent = this.values.length;
    this.#lastProgress = performance.now();
    this.#fill();
  }

  /** Waits until `count` values came in (or `timeoutMs` passed: resolves anyway; the test checks the count). */
  async until(count: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.values.length < count && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}

/** Values that occur more than once. */
export function duplicates(values: number[]): number {
  return values.length - new Set(values).size;
}

/** Places where a value is not above the one before it (per client, values must increase). */
export function decreases(values: number[]): number {
  let count = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! <= values[i - 1]!) count++;
  return count;
}
