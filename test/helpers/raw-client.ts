import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

/**
 * A bare node:net client for fault tests: sends exact bytes, collects everything it receives, and knows when
 * and how the server closed. Registered for cleanup with the test.
 */
export class RawClient {
  text = '';
  bytes = 0;
  closed = false;
  /** The error that ended the connection (ECONNRESET, …), if any. */
  error: NodeJS.ErrnoException | undefined;
  readonly socket: Socket;
  #watchers: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.bytes += chunk.length;
      this.#notify();
    });
    socket.on('error', (err) => (this.error = err));
    socket.on('close', () => {
      this.closed = true;
      this.#notify();
    });
  }

  static async connect(t: TestContext, port: number, options: { localAddress?: string; host?: string } = {}): Promise<RawClient> {
    const socket = connect({ host: options.host ?? '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const client = new RawClient(socket);
    t.after(() => void socket.destroy());
    await Promise.race([once(socket, 'connect'), once(socket, 'close')]);
    return client;
  }

  /** Lines received so far (LF-terminated ones). */
  get lines(): string[] {
    const lines = this.text.split('\n');
    lines.pop();
    return lines;
  }

  /** Waits until `check` is true, failing after `timeoutMs`. */
  async until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.text.slice(-300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.#watchers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  waitForText(pattern: RegExp, timeoutMs = 5000): Promise<void> {
    return this.until(() => pattern.test(this.text), String(pattern), timeoutMs);
  }

  waitForClose(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.closed, 'the connection to close', timeoutMs);
  }

  #notify(): void {
    const watchers = this.#watchers;
    this.#watchers = [];
    for (const watcher of watchers) watcher();
  }
}
