import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { debuglog } from 'node:util';
import { SocklabError } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';
import type { TcpConnection } from '../tcp/connection.js';
import { splitCommandLine } from './argv.js';

/** How long a program that closed its stdout may take to exit by itself once its connection is gone. */
const EXIT_AFTER_STDOUT_END_MS = 200;
const debug = debuglog('socklab');

/** The program a connection is handed to: argv run directly (`--exec`), or a script for `/bin/sh -c` (`--sh-exec`). */
export type ProgramCommand = { argv: readonly string[] } | { shell: string };

/**
 * `--exec 'prog args'` (split into argv, no shell) or `--sh-exec 'cmd'` as a {@link ProgramCommand}.
 * @example programCommand({ exec: 'cat -u' }) // { argv: ['cat', '-u'] }
 */
export function programCommand(flags: { exec?: string | undefined; shExec?: string | undefined }): ProgramCommand | undefined {
  if (flags.exec !== undefined && flags.shExec !== undefined) throw new RangeError('Give --exec or --sh-exec, not both');
  if (flags.exec !== undefined) return { argv: splitCommandLine(flags.exec) };
  if (flags.shExec !== undefined) {
    if (flags.shExec.trim() === '') throw new RangeError('The command to run is empty');
    return { shell: flags.shExec };
  }
  return undefined;
}

/** The command as it would be typed, for logs. */
export function describeCommand(command: ProgramCommand): string {
  return 'argv' in command ? command.argv.map((word) => (/^[\w./:=@%+-]+$/.test(word) ? word : JSON.stringify(word))).join(' ') : `sh -c ${JSON.stringify(command.shell)}`;
}

/** How a program is run for a connection (`startExecServer`). */
export interface ProgramOptions {
  command: ProgramCommand;
  /** After the connection closes, how long the program has to exit after SIGTERM before SIGKILL. @default DEFAULTS.execKillGraceMs */
  killGraceMs?: number;
  /**
   * How long the peer may leave the program's output unread (the socket's buffer full, the program blocked)
   * before the connection is cut with SL_ERR_OUTPUT_OVERFLOW. @default the connection's outputSoftLimitMs
   */
  stalledOutputMs?: number;
  /** No byte either way for this long closes the connection with SL_ERR_IDLE_TIMEOUT. @default Infinity */
  idleTimeoutMs?: number;
  /** Each line the program writes to stderr (cut at 4096 bytes). Without it, stderr is read and dropped. */
  onStderr?: (line: string) => void;
  /** Variables added to the program's environment (`nc` sets ncat's NCAT_REMOTE_ADDR and the others). */
  env?: Readonly<Record<string, string>>;
  /** Applied to each chunk the program writes before it goes to the peer (`nc -C` turns LF into CRLF). */
  mapOutput?: (chunk: Buffer) => Buffer;
}

/** How a program ended. `code` is null when a signal ended it; `error` when it could not start at all. */
export interface ProgramExit {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We sent the signal because the connection had closed. */
  killed: boolean;
  error?: SocklabError;
}

const MAX_STDERR_LINE_BYTES = 4096;

/**
 * One program serving one connection: the connection's bytes are its stdin, its stdout goes back to the peer,
 * with backpressure both ways (a peer that does not read stops the program's output; a program that does not
 * read stops reading from the peer), and half-close carried both ways (the peer's FIN closes stdin; the end of
 * stdout sends FIN). When the connection closes first, the program gets SIGTERM, then SIGKILL after
 * `killGraceMs`. The connection must not have a `'message'` listener: the bytes go to the program unframed.
 *
 * @example
 * const server = await startExecServer({ port: 0, command: { argv: ['cat'] } }); // a session per connection
 * const conn = await connectTcp({ host: '127.0.0.1', port: server.address().port });
 * conn.send('hi');
 * console.log(`${await conn.receive({ timeoutMs: 2000 })}`); // "hi": cat echoes it
 * for (const session of server.sessions) console.log(session.child.pid !== undefined); // true
 * await conn.close();
 * await server.close();
 */
export class ProgramSession {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<ProgramExit>;
  /** Bytes from the peer to the program, and from the program to the peer. */
  bytesIn = 0;
  bytesOut = 0;
  #killGraceMs: number;
  #exit: ProgramExit | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #killed = false;

  constructor(conn: TcpConnection, options: ProgramOptions) {
    this.#killGraceMs = checkCount('killGraceMs', options.killGraceMs ?? DEFAULTS.execKillGraceMs, 0);
    const stalledOutputMs = checkCount('stalledOutputMs', options.stalledOutputMs ?? conn.options.outputSoftLimitMs, 1, true);
    const idleTimeoutMs = checkCount('idleTimeoutMs', options.idleTimeoutMs ?? Infinity, 1, true);
    const [file, ...args] = 'argv' in options.command ? options.command.argv : ['/bin/sh', '-c', options.command.shell];
    // Its own process group, so that ending the session reaches what the program started too (`--sh-exec 'a | b'`,
    // a shell's `sleep`), not only the shell.
    const env = options.env === undefined ? undefined : { ...process.env, ...options.env };
    this.child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...(env === undefined ? {} : { env }) });
    const mapOutput = options.mapOutput;
    const { child } = this;
    const socket = conn.socket;
    let resolveExited!: (exit: ProgramExit) => void;
    this.exited = new Promise((resolve) => (resolveExited = resolve));
    const finish = (exit: ProgramExit): void => {
      if (this.#exit) return;
      this.#exit = exit;
      clearTimeout(this.#killTimer);
      clearTimeout(this.#stallTimer);
      resolveExited(exit);
    };

    // Peer → program. A program that stopped reading (stdin closed, EPIPE) gets nothing more; the bytes are dropped.
    let stdinOpen = true;
    const closeStdin = (): void => {
      stdinOpen = false;
      if (socket.isPaused() && !socket.destroyed) socket.resume();
    };
    child.stdin.on('error', closeStdin);
    child.stdin.on('close', closeStdin);
    const resumeSocket = (): void => void (socket.destroyed || socket.resume());
    socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      if (!stdinOpen) return;
      if (!child.stdin.write(chunk)) {
        socket.pause();
        child.stdin.once('drain', resumeSocket);
      }
    });
    socket.on('end', () => {
      if (stdinOpen) child.stdin.end();
    });

    // Program → peer. The socket's buffer stays under its high-water mark: the pipe is paused until it drains.
    const resumeStdout = (): void => {
      clearTimeout(this.#stallTimer);
      this.#stallTimer = undefined;
      child.stdout.resume();
    };
    child.stdout.on('data', (data: Buffer) => {
      if (socket.destroyed || socket.writableEnded) return;
      const chunk = mapOutput ? mapOutput(data) : data;
      this.bytesOut += chunk.length;
      if (socket.write(chunk)) return;
      child.stdout.pause();
      socket.once('drain', resumeStdout);
      if (stalledOutputMs !== Infinity && this.#stallTimer === undefined) {
        this.#stallTimer = setTimeout(() => {
          conn.destroy(
            new SocklabError('SL_ERR_OUTPUT_OVERFLOW', `Peer ${conn.peer} has not read the program's output for ${stalledOutputMs} ms (outputSoftLimitMs)`),
          );
        }, stalledOutputMs);
      }
    });
    child.stdout.on('end', () => {
      // The program is done talking: FIN to the peer, who may still send (half-close).
      if (!socket.destroyed && !socket.writableEnded) socket.end();
    });
    child.stdout.on('error', () => {});

    this.#readStderr(options.onStderr);

    if (idleTimeoutMs !== Infinity) {
      // One timer per program is cheap next to the process itself; reads and writes both refresh it.
      socket.setTimeout(idleTimeoutMs, () =>
        conn.destroy(new SocklabError('SL_ERR_IDLE_TIMEOUT', `Connection idle for ${idleTimeoutMs} ms: idleTimeoutMs is ${idleTimeoutMs}`)),
      );
    }

    child.once('error', (err) => {
      // Could not start (ENOENT, EACCES): there is no process to wait for.
      debug('exec failed: %s', err.message);
      finish({ pid: child.pid, code: null, signal: null, killed: false, error: new SocklabError('SL_ERR_EXEC', `Cannot run ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }) });
      if (!socket.destroyed) void conn.close();
    });
    child.once('exit', (code, signal) => {
      // The connection may close (and call terminate()) between the program's own exit and our hearing of it:
      // only a death by signal counts as killed by us.
      finish({ pid: child.pid, code, signal, killed: this.#killed && signal !== null });
      // Whatever the program left in its pipes is still delivered; a grandchild that holds stdout open
      // does not keep the connection alive past the grace period.
      const closeTimer = setTimeout(() => {
        child.stdout.destroy();
        if (!socket.destroyed && !socket.writableEnded) socket.end();
      }, this.#killGraceMs);
      const closeConnection = (): void => {
        clearTimeout(closeTimer);
        if (!socket.destroyed) void conn.close();
      };
      if (child.stdout.closed) closeConnection();
      else child.stdout.once('close', closeConnection);
    });
    conn.once('close', () => {
      // A program that ended its stdout is on its way out (that end is what closed the connection): SIGTERM now
      // would race its own exit and report it killed. It gets a moment to exit by itself first.
      if (!child.stdout.readableEnded || this.#exit !== undefined) return void this.terminate();
      const timer = setTimeout(() => void this.terminate(), EXIT_AFTER_STDOUT_END_MS);
      child.once('exit', () => clearTimeout(timer));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True until the program has exited (or failed to start). */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Ends the program: SIGTERM now, SIGKILL if it is still there after `killGraceMs`. Idempotent. */
  terminate(): Promise<ProgramExit> {
    if (this.#exit === undefined && !this.#killed) {
      this.#killed = true;
      this.#signal('SIGTERM');
      this.child.stdin.destroy();
      this.#killTimer = setTimeout(() => this.#signal('SIGKILL'), this.#killGraceMs);
    }
    return this.exited;
  }

  /** Signals the program's whole process group; the program alone if the group is gone. */
  #signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    try {
      if (pid === undefined) throw new Error('not started');
      process.kill(-pid, signal);
    } catch {
      this.child.kill(signal);
    }
  }

  #readStderr(onLine: ((line: string) => void) | undefined): void {
    let pending = '';
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      if (!onLine) return;
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        onLine(pending.slice(0, newline).slice(0, MAX_STDERR_LINE_BYTES));
        pending = pending.slice(newline + 1);
      }
      if (pending.length > MAX_STDERR_LINE_BYTES) {
        onLine(pending.slice(0, MAX_STDERR_LINE_BYTES));
        pending = '';
      }
    });
    this.child.stderr.on('end', () => {
      if (onLine && pending !== '') onLine(pending);
    });
  }
}
