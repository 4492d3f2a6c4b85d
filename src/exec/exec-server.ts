import type { Endpoint } from '../address.js';
import type { SocklabError, SocklabCode } from '../errors.js';
import { DEFAULTS } from '../options.js';
import type { TcpConnection } from '../tcp/connection.js';
import { listenTcp, type ListenOptions, type ServerStats, type TcpServer } from '../tcp/server.js';
import { ProgramSession, type ProgramCommand, type ProgramExit, type ProgramOptions } from './program.js';

/** What an exec server reports, for logs and `--json`. */
export type ExecServerEvent =
  | { type: 'connected'; peer: Endpoint }
  | { type: 'exec'; peer: Endpoint; pid: number | undefined }
  | { type: 'stderr'; peer: Endpoint; pid: number | undefined; line: string }
  | { type: 'exit'; peer: Endpoint; exit: ProgramExit }
  | { type: 'closed'; peer: Endpoint; reason: string; bytesIn: number; bytesOut: number; error?: SocklabError }
  | { type: 'rejected'; peer: Endpoint }
  | { type: 'denied'; peer: Endpoint };

export interface ExecServerOptions extends ListenOptions, Omit<ProgramOptions, 'onStderr' | 'command'> {
  command: ProgramCommand;
  onEvent?: (event: ExecServerEvent) => void;
  /** Called with each connection before its program starts (to trace its bytes, say). */
  onConnection?: (conn: TcpConnection) => void;
}

export interface ExecServerStats extends ServerStats {
  /** Programs started, and how many exited 0 by themselves. */
  programs: number;
  exitedOk: number;
  errors: Partial<Record<SocklabCode, number>>;
}

/** A running inetd-style server. */
export interface ExecServer {
  readonly tcp: TcpServer;
  readonly stats: ExecServerStats;
  /** Programs running now. */
  readonly sessions: ReadonlySet<ProgramSession>;
  address(): Endpoint;
  readonly done: Promise<void>;
  /** Graceful stop: no new clients; each program gets SIGTERM (SIGKILL after the grace), its output still goes out. */
  close(): Promise<void>;
}

/** How a program's end reads in a log line. */
export function formatExit(exit: ProgramExit): string {
  if (exit.error) return `could not start: ${exit.error.message}`;
  if (exit.signal) return `killed by ${exit.signal}${exit.killed ? ' (connection closed)' : ''}`;
  return `exit code ${exit.code}`;
}

/**
 * inetd in a function (ncat `-e`/`-c`, socat `EXEC:`): every connection is handed to a new process, whose
 * stdin and stdout are the connection's bytes. `maxConnections` bounds the processes (default
 * {@link DEFAULTS}.execMaxConnections); the peer past it is told `error SL_ERR_SERVER_FULL: …`.
 *
 * @example
 * const server = await startExecServer({ port: 0, command: { argv: ['cat'] } }); // an echo server
 */
export async function startExecServer(options: ExecServerOptions): Promise<ExecServer> {
  const emit = options.onEvent ?? (() => {});
  const tcp = await listenTcp({
    ...options,
    // Timeouts are the program's business (a shell may sit idle); idleTimeoutMs applies below, to both directions.
    idleTimeoutMs: Infinity,
    messageTimeoutMs: Infinity,
    maxConnections: options.maxConnections ?? DEFAULTS.execMaxConnections,
    farewell: options.farewell ?? ((reason) => `error ${reason.code}: ${reason.message}`),
  });
  const stats: ExecServerStats = Object.assign(tcp.stats, { programs: 0, exitedOk: 0, errors: {} });
  const sessions = new Set<ProgramSession>();
  const done = new Promise<void>((resolve) => tcp.once('close', resolve));

  tcp.on('connection', (conn) => {
    const peer = conn.remote;
    emit({ type: 'connected', peer });
    options.onConnection?.(conn);
    const session = new ProgramSession(conn, {
      command: options.command,
      ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
      ...(options.stalledOutputMs === undefined ? {} : { stalledOutputMs: options.stalledOutputMs }),
      idleTimeoutMs: options.idleTimeoutMs ?? Infinity,
      onStderr: (line) => emit({ type: 'stderr', peer, pid: session.pid, line }),
    });
    stats.programs++;
    sessions.add(session);
    if (session.pid !== undefined) emit({ type: 'exec', peer, pid: session.pid });
    void session.exited.then((exit) => {
      sessions.delete(session);
      if (exit.code === 0) stats.exitedOk++;
      if (exit.error) stats.errors[exit.error.code] = (stats.errors[exit.error.code] ?? 0) + 1;
      emit({ type: 'exit', peer, exit });
    });
    conn.once('close', (error) => {
      if (error) stats.errors[error.code] = (stats.errors[error.code] ?? 0) + 1;
      // The program's exit may be heard after the socket closes (its pipes close first): the reason waits for
      // it. A program we had to kill means the client left first.
      void session.exited.then((exit) => {
        const reason = error?.code ?? (exit.error ? 'SL_ERR_EXEC' : exit.killed ? 'client closed' : 'program exited');
        emit({ type: 'closed', peer, reason, bytesIn: session.bytesIn, bytesOut: session.bytesOut, ...(error ? { error } : {}) });
      });
    });
  });
  tcp.on('rejected', (conn) => emit({ type: 'rejected', peer: conn.remote }));
  tcp.on('denied', (peer) => emit({ type: 'denied', peer }));

  const close = async (): Promise<void> => {
    // The programs go first: their last output and FIN reach the peer, then the connections close.
    await Promise.all([...sessions].map((session) => session.terminate()));
    await tcp.close();
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return { tcp, stats, sessions, address: () => tcp.address(), done, close };
}

/**
 * Why `--exec` on a network address is refused unless `--allow` names who may connect: a program (often a
 * shell) for anyone who can reach the port is the classic netcat accident. Loopback and UNIX sockets are local.
 * Returns the reason to refuse, or undefined when it is fine.
 */
export function execExposureProblem(host: string, isLoopbackHost: boolean, allow: string | undefined): string | undefined {
  if (isLoopbackHost || allow !== undefined) return undefined;
  return `Refusing to run a program for every client of ${host}: anyone who can reach that address would get it (for a shell, a remote shell). Name who may connect with --allow (e.g. --allow 192.168.1.0/24), or listen on loopback or --unix`;
}
