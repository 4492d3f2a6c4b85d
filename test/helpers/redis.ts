import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { available, Child, freePort } from './processes.js';

/** A real redis-server the test started: on loopback, an ephemeral port, a temp dir, no persistence. */
export class RedisServer {
  child: Child;
  readonly port: number;
  readonly dir: string;

  private constructor(child: Child, port: number, dir: string) {
    this.child = child;
    this.port = port;
    this.dir = dir;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  /** Kills it at once (SIGKILL by the PID we started), as a crash or a pulled cable would. */
  async kill(): Promise<void> {
    await this.child.stop('SIGKILL');
  }

  /** Starts it again on the same port (the servers reconnect to the same URL). */
  async restart(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        this.child = await RedisServer.#launch(this.port, this.dir);
        return;
      } catch (err) {
        lastError = err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw lastError;
  }

  static async #launch(port: number, dir: string): Promise<Child> {
    const child = new Child('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ]);
    try {
      await child.waitFor(/Ready to accept connections/, 10_000);
      return child;
    } catch (err) {
      await child.stop('SIGKILL');
      throw err;
    }
  }

  /** Starts a redis-server for this test and registers its stop (by PID) and the temp dir's removal. */
  static async start(t: TestContext): Promise<RedisServer> {
    assert.ok(await available('redis-server'), 'redis-server is missing: apt-get install -y redis-server');
    const dir = mkdtempSync(join(tmpdir(), 'socklab-redis-'));
    let server: RedisServer | undefined;
    t.after(async () => {
      await server?.child.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    let lastError: unknown;
    // The port was free when we looked (redis-server has no `--port 0`); another process may take it before redis
    // binds, so try again.
    for (let attempt = 0; attempt < 5 && server === undefined; attempt++) {
      const port = await freePort();
      try {
        server = new RedisServer(await RedisServer.#launch(port, dir), port, dir);
      } catch (err) {
        lastError = err;
      }
    }
    if (server === undefined) throw lastError;
    return server;
  }
}
