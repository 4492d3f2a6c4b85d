import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { Changes } from './changes.js';
import { tally } from './tally.js';

/** Repository root (this file is compiled to dist/test/helpers/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = `${ROOT}bin/socklab.cjs`;
export const PEERS = `${ROOT}test/peers/`;

/** A child process whose output is collected as it comes. */
export class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #changes = new Changes();

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
    this.exited = once(this.proc, 'exit').then(([code, signal]) => {
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
        if (!this.running) throw new Error(`process exited before ${pattern} appeared.\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
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

/** Starts a socklab server command and waits for its `listening on <host>:<port>` line. */
export async function startCliServer(t: TestContext, args: string[]): Promise<{ child: Child; port: number }> {
  const child = start(t, process.execPath, [CLI, ...args]);
  const [, port] = await child.waitFor(/listening on (?:udp )?\S+:(\d+)/);
  return { child, port: Number(port) };
}

/** Starts one of the Python peers in test/peers and waits for its `listening <port>` line. */
export async function startPeer(t: TestContext, script: string, args: string[] = ['0']): Promise<{ child: Child; port: number }> {
  const child = start(t, 'python3', ['-u', `${PEERS}${script}`, ...args]);
  const [, port] = await child.waitFor(/listening (\d+)/);
  return { child, port: Number(port) };
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

/** Reads a process's open file descriptors and resident memory from /proc (Linux). */
export function processUsage(pid: number): { fds: number; rssKiB: number } {
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { fds, rssKiB: Number(rss) };
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
