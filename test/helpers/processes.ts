import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { Changes } from './changes.js';
import { tally } from './tally.js';

/** Repository root (this file is compiled to dist/test/helpers/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = `${ROOT}bin/socklab.cjs`;
export const PEERS = `${ROOT}test/peers/`;

/** How long after a child's exit its stdout/stderr may still bring bytes. */
const STDIO_CLOSE_GRACE_MS = 2000;

/** A child process whose output is collected as it comes. */
export class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #changes = new Changes();
  /** Exited, and its output is all in (or the grace ran out). */
  #drained = false;

  constructor(command: string, args: string[], cwd = ROOT) {
    this.proc = spawn(command, args, { cwd, stdio: 'pipe', env: { ...process.env, NODE_DEBUG: '' } });
    this.proc.stdout.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.#changes.changed();
    });
    this.proc.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.#changes.changed();
    });
    // 'exit' can come before the last stdout chunk on a loaded machine; 'close' comes after it, unless a
    // grandchild still holds the pipes, so wait for 'close' a bounded time after 'exit'.
    const closed = once(this.proc, 'close').catch(() => undefined); // a spawn error rejects 'exited' instead
    this.exited = once(this.proc, 'exit').then(async ([code, signal]) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, STDIO_CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      this.#drained = true;
      this.#changes.changed();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves with the first match of `pattern` in stdout (or stderr), failing after `timeoutMs` or on exit. */
  async waitFor(pattern: RegExp, timeoutMs = 5000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    return this.#changes.until(
      () => {
        const match = this[stream].match(pattern);
        if (match) return match;
        if (this.#drained) throw new Error(`process exited before ${pattern} appeared.\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
        return undefined;
      },
      timeoutMs,
      () => new Error(`timed out waiting for ${pattern}.\nstdout: ${this.stdout}\nstderr: ${this.stderr}`),
    );
  }

  /** Writes to stdin; `end` closes it. */
  input(text: string, end = false): void {
    this.proc.stdin.write(text);
    if (end) this.proc.stdin.end();
  }

  /** Waits for exit, killing the process if it outlives `timeoutMs`. */
  async finish(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the process we started (by its PID) if it still runs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) this.proc.kill(signal);
    await this.finish(5000);
  }
}

/** Starts a process and registers its cleanup with the test. */
export function start(t: TestContext, command: string, args: string[]): Child {
  const child = new Child(command, args);
  t.after(() => child.stop('SIGKILL'));
  return child;
}

/** Runs `socklab <args>` to completion, feeding `stdin`. */
export async function runCli(
  t: TestContext,
  args: string[],
  stdin = '',
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(t, process.execPath, [CLI, ...args]);
  child.input(stdin, true);
  const { code } = await child.finish(timeoutMs);
  return { code, stdout: child.stdout, stderr: child.stderr };
}

/**
 * A server's `listening on <address> …` line, whole: up to its newline, so an address that arrived in two chunks
 * is never read cut short. The address is the first word after "listening on" (and "udp"), without a comma.
 */
const LISTENING_LINE = /listening on (?:udp )?([^\s,]+)[^\n]*\n/;

/**
 * Starts a socklab server command (serve, udp-serve, proxy; on a port or a UNIX socket path) and waits for its
 * whole `listening on` line. Returns the address as printed: `127.0.0.1:4000`, `[::1]:4000`, `unix:/tmp/s.sock`.
 */
export async function startCliListener(t: TestContext, args: string[], timeoutMs = 5000): Promise<{ child: Child; address: string }> {
  const child = start(t, process.execPath, [CLI, ...args]);
  const [, address] = await child.waitFor(LISTENING_LINE, timeoutMs);
  return { child, address: address! };
}

/** Starts a socklab server command on a port and waits for its whole `listening on <host>:<port>` line. */
export async function startCliServer(t: TestContext, args: string[], timeoutMs = 5000): Promise<{ child: Child; port: number }> {
  const { child, address } = await startCliListener(t, args, timeoutMs);
  const port = /:(\d+)$/.exec(address)?.[1];
  assert.ok(port !== undefined, `a port in the listening line: ${child.stdout}`);
  return { child, port: Number(port) };
}

/** Starts one of the Python peers in test/peers and waits for its whole `listening <port>` line. */
export async function startPeer(t: TestContext, script: string, args: string[] = ['0']): Promise<{ child: Child; port: number }> {
  const child = start(t, 'python3', ['-u', `${PEERS}${script}`, ...args]);
  const [, port] = await child.waitFor(/listening (\d+)\n/);
  return { child, port: Number(port) };
}

/** A TCP port free on loopback right now, for peers that cannot be told `--port 0` (another process may take it before they bind: retry). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs one of the Python peers to completion. */
export async function runPeer(t: TestContext, script: string, args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(t, 'python3', ['-u', `${PEERS}${script}`, ...args]);
  child.input(stdin, true);
  const { code } = await child.finish(15_000);
  return { code, stdout: child.stdout, stderr: child.stderr };
}

/** True when `command` runs on this machine. Tests that need a missing peer fail loudly, they do not skip. */
export async function available(command: string): Promise<boolean> {
  const child = new Child('sh', ['-c', `command -v ${command}`]);
  const { code } = await child.finish(5000);
  return code === 0;
}

/**
 * Stops a server we started with SIGTERM and checks it shut down cleanly (exit 0 and its "stopped:" totals)
 * within `deadlineMs`: the crash check of every fault test. Returns the server's whole output.
 */
export async function stopChecked(child: Child, deadlineMs = 5000): Promise<{ stdout: string; stopMs: number }> {
  assert.ok(child.running, `server died during the test.\nstdout: ${child.stdout}\nstderr: ${child.stderr}`);
  const started = performance.now();
  child.proc.kill('SIGTERM');
  const { code, signal } = await child.finish(deadlineMs + 2000);
  const stopMs = performance.now() - started;
  tally({ serversChecked: 1, crashes: code === 0 ? 0 : 1 });
  assert.equal(code, 0, `server exit ${code} (${signal}).\nstderr: ${child.stderr}`);
  assert.ok(stopMs < deadlineMs, `server took ${stopMs.toFixed(0)} ms to stop`);
  assert.match(child.stdout, /stopped: /);
  assert.doesNotMatch(child.stderr, /internal error|\n\s+at /, 'no stack trace');
  return { stdout: child.stdout, stopMs };
}
