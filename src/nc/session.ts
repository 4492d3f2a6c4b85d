import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { isUnixSocket } from '../address.js';
import type { ProgramCommand, ProgramExit } from '../exec/program.js';
import { CrlfEncoder } from '../pipe/crlf.js';
import type { LendingReader } from '../pipe/_lending-reader.js';
import { pipeBytes, type BytePipeOptions, type ChunkRecorder, type PipeResult } from '../pipe/byte-pipe.js';

/** How one connection is served: piped to stdin/stdout, or handed to a program. */
export interface SessionOptions {
  input?: Readable | LendingReader | undefined;
  output?: Writable | undefined;
  /** `output`'s descriptor, written directly (see {@link BytePipeOptions.outputFd}). */
  outputFd?: number | undefined;
  sendOnly?: boolean;
  recvOnly?: boolean;
  noShutdown?: boolean;
  /** Keep sending after the peer's FIN until the end of input (`-k` in connect mode, ncat's old default). */
  halfOpen?: boolean;
  /** How `output` is closed at the peer's FIN (see {@link BytePipeOptions.closeOutput}). */
  closeOutput?: (() => void) | undefined;
  quitAfterInputEndMs?: number;
  idleTimeoutMs?: number;
  delayMs?: number;
  crlf?: boolean;
  log?: ChunkRecorder | undefined;
  /** `-e`/`-c`: the connection goes to this program instead of stdin/stdout. */
  exec?: ProgramCommand | undefined;
  /** Each line the program writes to stderr. */
  onProgramStderr?: (line: string) => void;
  signal?: AbortSignal | undefined;
}

export type SessionResult = { kind: 'pipe'; pipe: PipeResult } | { kind: 'exec'; exit: ProgramExit };

/**
 * The variables ncat gives an `--exec` program: both ends of the connection and the protocol. A UNIX socket's
 * ends are `localhost` with an empty port, as in ncat.
 */
export function ncatEnvironment(socket: Socket, proto: 'TCP' | 'UDP'): Record<string, string> {
  if (isUnixSocket(socket)) {
    return { NCAT_REMOTE_ADDR: 'localhost', NCAT_REMOTE_PORT: '', NCAT_LOCAL_ADDR: 'localhost', NCAT_LOCAL_PORT: '', NCAT_PROTO: proto };
  }
  const bare = (address: string | undefined): string => (address?.startsWith('::ffff:') ? address.slice(7) : (address ?? ''));
  return {
    NCAT_REMOTE_ADDR: bare(socket.remoteAddress),
    NCAT_REMOTE_PORT: String(socket.remotePort ?? ''),
    NCAT_LOCAL_ADDR: bare(socket.localAddress),
    NCAT_LOCAL_PORT: String(socket.localPort ?? ''),
    NCAT_PROTO: proto,
  };
}

/**
 * Serves one connected socket until it is done, by ncat's rules (see {@link pipeBytes}), or runs the program
 * on it. Resolves when the session is over; the socket is destroyed by then. Rejects (reset, idle timeout)
 * with a SocklabError.
 */
export async function runSession(socket: Socket, options: SessionOptions): Promise<SessionResult> {
  if (options.exec) {
    // Loaded for -e/-c only: the plain pipe needs neither child processes nor the message connection.
    const [{ ProgramSession }, { TcpConnection }] = await Promise.all([import('../exec/program.js'), import('../tcp/connection.js')]);
    const crlf = options.crlf ? new CrlfEncoder() : undefined;
    const conn = new TcpConnection(socket, { idleTimeoutMs: Infinity, outputSoftLimitMs: Infinity });
    const session = new ProgramSession(conn, {
      command: options.exec,
      env: ncatEnvironment(socket, 'TCP'),
      stalledOutputMs: Infinity,
      idleTimeoutMs: options.idleTimeoutMs ?? Infinity,
      ...(crlf ? { mapOutput: (chunk: Buffer) => crlf.encode(chunk) } : {}),
      ...(options.onProgramStderr ? { onStderr: options.onProgramStderr } : {}),
    });
    const onAbort = (): void => void session.terminate();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const exit = await session.exited;
    await conn.closed;
    options.signal?.removeEventListener('abort', onAbort);
    if (exit.error) throw exit.error;
    return { kind: 'exec', exit };
  }
  try {
    const pipe = await pipeBytes({
      socket,
      input: options.recvOnly ? undefined : options.input,
      output: options.sendOnly ? undefined : options.output,
      outputFd: options.outputFd,
      shutdown: !options.noShutdown,
      endOnInputEnd: options.sendOnly === true,
      halfOpen: options.halfOpen === true,
      ...(options.closeOutput ? { closeOutput: options.closeOutput } : {}),
      quitAfterInputEndMs: options.quitAfterInputEndMs ?? Infinity,
      idleTimeoutMs: options.idleTimeoutMs ?? Infinity,
      delayMs: options.delayMs ?? 0,
      crlf: options.crlf === true,
      log: options.log,
      signal: options.signal,
    });
    return { kind: 'pipe', pipe };
  } finally {
    socket.destroy();
  }
}
