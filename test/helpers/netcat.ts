import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { Changes } from './changes.js';
import { CLI, available, freePort } from './processes.js';

/** The two netcats every compatibility case runs against: Debian's ncat and ours. */
export type Netcat = 'ncat' | 'socklab';
export const NETCATS: readonly Netcat[] = ['ncat', 'socklab'];

/** Fails (never skips) when a peer tool is missing, naming the package that provides it. */
export async function requireTool(command: string, aptPackage = command): Promise<void> {
  assert.ok(await available(command), `${command} is not installed: apt-get install -y ${aptPackage}`);
}

/** A netcat process with its stdout kept as bytes (never decoded) and stderr as text. */
export class NcProcess {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly #out: Buffer[] = [];
  #outBytes = 0;
  stderr = '';
  /** True once stdout reached its end (the process closed it or exited). */
  stdoutEnded = false;
  readonly exited: Promise<number | null>;
  readonly #changes = new Changes();

  constructor(which: Netcat, args: readonly string[], cwd?: string) {
    const [file, argv] = which === 'ncat' ? ['ncat', [...args]] : [process.execPath, [CLI, 'nc', ...args]];
    // Its own process group: ncat forks for --exec, and the fork must go with it (it holds our pipes open).
    this.proc = spawn(file, argv, { stdio: 'pipe', detached: true, ...(cwd ? { cwd } : {}), env: { ...process.env, NODE_DEBUG: '' } });
    this.proc.stdout.on('data', (chunk: Buffer) => {
      this.#out.push(chunk);
      this.#outBytes += chunk.length;
      this.#changes.changed();
    });
    this.proc.stdout.on('end', () => {
      this.stdoutEnded = true;
      this.#changes.changed();
    });
    this.proc.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.#changes.changed();
    });
    this.proc.stdin.on('error', () => {}); // a netcat that exited before we wrote
    this.exited = once(this.proc, 'exit').then(([code]) => {
      this.#changes.changed();
      return code as number | null;
    });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Everything received on stdout so far. */
  get stdout(): Buffer {
    return Buffer.concat(this.#out, this.#outBytes);
  }

  write(bytes: string | Buffer): void {
    this.proc.stdin.write(bytes);
  }

  endInput(): void {
    this.proc.stdin.end();
  }

  /** Waits until stdout holds at least `bytes` bytes (or `text` ends it); fails after `timeoutMs`. */
  async waitOutput(expected: string | Buffer, timeoutMs = 5000): Promise<Buffer> {
    const want = typeof expected === 'string' ? Buffer.from(expected) : expected;
    return this.#changes.until(
      () => (this.#outBytes >= want.length || this.stdoutEnded ? this.stdout : undefined),
      timeoutMs,
      () => new Error(`no ${want.length} bytes on stdout within ${timeoutMs} ms; got ${JSON.stringify(this.stdout.toString('latin1'))}; stderr: ${this.stderr}`),
    );
  }

  async waitStderr(pattern: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    return this.#changes.until(
      () => {
        const match = this.stderr.match(pattern);
        if (match) return match;
        if (!this.running) throw new Error(`exited before ${pattern} on stderr: ${this.stderr}`);
        return undefined;
      },
      timeoutMs,
      () => new Error(`no ${pattern} on stderr within ${timeoutMs} ms: ${this.stderr}`),
    );
  }

  /** Waits for stdout to end (EOF); fails after `timeoutMs`. */
  async waitStdoutEnd(timeoutMs = 5000): Promise<void> {
    await this.#changes.until(() => (this.stdoutEnded ? true : undefined), timeoutMs, () => new Error(`stdout still open after ${timeoutMs} ms`));
  }

  /** The exit code, or undefined if it still runs after `timeoutMs`. */
  async exitWithin(timeoutMs: number): Promise<number | null | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process group we started (by its PID), forks included. */
  async stop(): Promise<void> {
    try {
      if (this.proc.pid !== undefined) process.kill(-this.proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }
}

/** Starts a netcat and registers its cleanup (by PID) with the test. */
export function startNc(t: TestContext, which: Netcat, args: readonly string[], cwd?: string): NcProcess {
  const nc = new NcProcess(which, args, cwd);
  t.after(() => nc.stop());
  return nc;
}

/**
 * Starts `<netcat> --test -l <args> <port>` on a free port and waits for ncat's test hook line, `NCAT TEST: LISTEN`.
 * The port is taken free then bound by the child, so a lost race is retried.
 */
export async function listenNc(t: TestContext, which: Netcat, args: readonly string[], options: { host?: string; cwd?: string } = {}): Promise<{ nc: NcProcess; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const nc = startNc(t, which, ['--test', '-l', ...args, ...(options.host ? [options.host] : []), String(port)], options.cwd);
    // ncat without an address binds IPv6 and IPv4 one after the other and prints the hook line for each.
    const lines = which === 'ncat' && !options.host && !args.some((a) => /^-[^-]*[46U]/.test(a)) ? 2 : 1;
    try {
      await nc.waitStderr(new RegExp(`(NCAT TEST: LISTEN[^]*){${lines}}`));
      return { nc, port };
    } catch (err) {
      if (attempt >= 2 || !/in use|SL_ERR_BIND/i.test(nc.stderr)) throw err;
    }
  }
}

/** Asserts that nothing more arrives on stdout for `ms` (ncat's tests read with a timeout the same way). */
export async function assertQuiet(nc: NcProcess, ms: number, what: string): Promise<void> {
  const before = nc.stdout.length;
  await new Promise((resolve) => setTimeout(resolve, ms));
  assert.equal(nc.stdout.length, before, `${what}: got ${JSON.stringify(nc.stdout.subarray(before).toString('latin1'))}`);
}

/**
 * ncat's server_client_test: a server `<netcat> -l -v <serverArgs>` and a client `<netcat> 127.0.0.1 PORT
 * <clientArgs>` of the same netcat, returned once the server has accepted the client.
 */
export async function serverClient(
  t: TestContext,
  which: Netcat,
  serverArgs: readonly string[],
  clientArgs: readonly string[],
  host = '127.0.0.1',
): Promise<{ server: NcProcess; client: NcProcess; port: number }> {
  const { nc: server, port } = await listenNc(t, which, ['-v', ...serverArgs]);
  const client = startNc(t, which, [host, String(port), ...clientArgs]);
  await server.waitStderr(/Connection from/);
  return { server, client, port };
}

/** Runs `body` once for each netcat, as a subtest named after it. */
export async function eachNetcat(t: TestContext, body: (t: TestContext, which: Netcat) => Promise<void>): Promise<void> {
  for (const which of NETCATS) await t.test(which, (sub) => body(sub, which));
}

/** Waits until the server (run with -v) has reported `count` accepted clients: `Connection from ADDR:PORT`, as both print. */
export async function waitConnections(server: NcProcess, count: number): Promise<void> {
  await server.waitStderr(new RegExp(`(Connection from \\S+:\\d+[^]*){${count}}`));
}
