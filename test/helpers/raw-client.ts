import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { Changes } from './changes.js';

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
  readonly #changes = new Changes();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.bytes += chunk.length;
      this.#changes.changed();
    });
    socket.on('error', (err) => (this.error = err));
    socket.on('close', () => {
      this.closed = true;
      this.#changes.changed();
    });
  }

  static async connect(t: TestContext, port: number, options: { localAddress?: string; host?: string; path?: string } = {}): Promise<RawClient> {
    const socket =
      options.path !== undefined
        ? connect({ path: options.path })
        : connect({ host: options.host ?? '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
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

  /** Waits until `check` is true, failing after `timeoutMs`; re-checked on every event and every 250 ms. */
  async until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    await this.#changes.until(
      () => (check() ? true : undefined),
      timeoutMs,
      () => new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.text.slice(-300))}`),
      250,
    );
  }

  waitForText(pattern: RegExp, timeoutMs = 5000): Promise<void> {
    return this.until(() => pattern.test(this.text), String(pattern), timeoutMs);
  }

  waitForClose(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.closed, 'the connection to close', timeoutMs);
  }
}
