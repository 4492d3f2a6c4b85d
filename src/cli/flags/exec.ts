import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { formatEndpoint, isLoopback } from '../../address.js';
import { SocklabError } from '../../errors.js';
import { execExposureProblem, formatExit, startExecServer, type ExecServerEvent } from '../../exec/exec-server.js';
import { describeCommand, programCommand, ProgramSession, type ProgramCommand, type ProgramExit } from '../../exec/program.js';
import type { TcpConnection } from '../../tcp/connection.js';
import type { SessionTracer } from '../../trace/session-trace.js';
import { untilAborted, usageError } from '../command.js';
import { streamAddress, type EventOutput } from '../json-events.js';
import { reportTls } from '../tls-flags.js';
import type { TlsServerOptions } from '../../tls/options.js';

export { EXEC_FLAGS } from './exec-flags.js';

/** The program from `--exec`/`--sh-exec`, as a usage error when they are wrong. */
export function execCommandFrom(values: { exec?: string | undefined; 'sh-exec'?: string | undefined }): ProgramCommand | undefined {
  let command: ProgramCommand | undefined;
  try {
    command = programCommand({ exec: values.exec, shExec: values['sh-exec'] });
  } catch (err) {
    throw usageError((err as Error).message);
  }
  if (command && 'argv' in command) requireProgram(command.argv[0]!);
  return command;
}

/** True when `path` is a file this process may execute. */
function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Fails at start, not at the first client, when `--exec`'s program cannot be run: looked up the way spawn()
 * looks it up (a path as given, a bare name in each directory of PATH). `--sh-exec` is left to the shell.
 */
function requireProgram(program: string): void {
  const found = program.includes('/') ? executable(program) : (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, program)));
  if (!found) {
    const where = program.includes('/') ? 'no executable file at that path' : 'not found in any directory of PATH';
    throw new SocklabError('SL_ERR_EXEC', `Cannot run ${program}: ${where} (--exec runs a program directly; use --sh-exec for a shell command)`);
  }
}

function exitFields(exit: ProgramExit): Record<string, unknown> {
  return { pid: exit.pid, code: exit.code, signal: exit.signal, killed: exit.killed, error: exit.error?.message };
}

function reportExecEvent(out: EventOutput, event: ExecServerEvent, command: string): void {
  const peer = formatEndpoint(event.peer);
  switch (event.type) {
    case 'connected':
    case 'rejected':
    case 'denied':
      out.event(event.type, { peer: event.peer }, `${peer} ${event.type === 'connected' ? 'connected' : event.type === 'rejected' ? 'rejected (server full)' : 'denied (address not allowed)'}`);
      return;
    case 'exec':
      out.event('exec', { peer: event.peer, pid: event.pid, command }, `${peer} started ${command} (pid ${event.pid})`);
      return;
    case 'stderr':
      // The program's stderr is diagnostics: stderr, as a JSON event too with --json.
      if (out.json) out.event('stderr', { peer: event.peer, pid: event.pid, line: event.line });
      else out.note(`${peer} [pid ${event.pid}] ${event.line}`);
      return;
    case 'exit':
      out.event('exit', { peer: event.peer, ...exitFields(event.exit) }, `${peer} program ${formatExit(event.exit)}`);
      return;
    case 'closed':
      out.event('closed', { peer: event.peer, reason: event.reason, bytesIn: event.bytesIn, bytesOut: event.bytesOut }, `${peer} closed (${event.reason}): ${event.bytesIn} bytes in, ${event.bytesOut} bytes out`);
      return;
  }
}

interface ServeExecSettings {
  command: ProgramCommand;
  host: string;
  port: number;
  path: string | undefined;
  allow?: string[];
  deny?: string[];
  allowText: string | undefined;
  maxConnections: number | undefined;
  killGraceMs: number;
  idleTimeoutMs: number;
  stalledOutputMs: number;
  closeTimeoutMs: number;
  tracer: SessionTracer;
  tls?: TlsServerOptions | undefined;
}

/** `serve --exec`: runs until a signal, then stops the programs and prints totals. */
export async function serveExec(settings: ServeExecSettings, out: EventOutput, signal: AbortSignal): Promise<number> {
  if (settings.path === undefined) {
    const problem = execExposureProblem(settings.host, isLoopback(settings.host), settings.allowText);
    if (problem) throw usageError(problem);
  }
  const command = describeCommand(settings.command);
  const server = await startExecServer({
    command: settings.command,
    host: settings.host,
    port: settings.port,
    ...(settings.path === undefined ? {} : { path: settings.path }),
    ...(settings.allow ? { allow: settings.allow } : {}),
    ...(settings.deny ? { deny: settings.deny } : {}),
    ...(settings.maxConnections === undefined ? {} : { maxConnections: settings.maxConnections }),
    killGraceMs: settings.killGraceMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    stalledOutputMs: settings.stalledOutputMs,
    closeTimeoutMs: settings.closeTimeoutMs,
    onConnection: (conn) => settings.tracer.watch(conn.socket, conn.remote),
    ...(settings.tls ? { tls: settings.tls } : {}),
    onEvent: (event) => reportExecEvent(out, event, command),
  });
  reportTls(out, settings.tls, server.tcp);
  const address = server.address();
  out.event(
    'listening',
    { ...streamAddress(address), mode: 'exec', command },
    `listening on ${formatEndpoint(address)} (exec mode: ${command}, at most ${server.tcp.maxConnections} at once)`,
  );
  await untilAborted(signal);
  await server.close();
  const { accepted, rejected, denied, programs, exitedOk, errors } = server.stats;
  const totals = { accepted, rejected, denied, programs, exitedOk, errors };
  const extras = Object.entries(errors).map(([code, n]) => `, ${n} closed for ${code}`).join('');
  out.event('stopped', { totals }, `stopped: ${accepted} clients served, ${programs} programs run (${exitedOk} exited 0), ${rejected} rejected${extras}`);
  return 0;
}

/**
 * `client --exec`: the program's stdin/stdout replace ours (ncat -e in connect mode). Exit 0 when the program
 * exited 0 or was ended because the server closed; 1 otherwise.
 */
export async function clientExec(conn: TcpConnection, command: ProgramCommand, killGraceMs: number, out: EventOutput, signal: AbortSignal, verbose = false): Promise<number> {
  const text = describeCommand(command);
  const session = new ProgramSession(conn, {
    command,
    killGraceMs,
    onStderr: (line) => (out.json ? out.event('stderr', { pid: session.pid, line }) : out.note(line)),
  });
  if (session.pid !== undefined) out.event('exec', { pid: session.pid, command: text }, undefined);
  const onAbort = (): void => void session.terminate();
  signal.addEventListener('abort', onAbort, { once: true });
  const exit = await session.exited;
  const error = await conn.closed;
  signal.removeEventListener('abort', onAbort);
  out.event('exit', exitFields(exit));
  out.event('closed', { peer: conn.remote, reason: error?.code ?? 'closed', bytesIn: session.bytesIn, bytesOut: session.bytesOut });
  if (verbose && !out.json) out.note(`program ${formatExit(exit)}; ${session.bytesIn} bytes in, ${session.bytesOut} bytes out`);
  if (exit.error) throw exit.error;
  return exit.code === 0 || exit.killed ? 0 : 1;
}
