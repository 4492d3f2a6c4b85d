import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { SocklabError, systemCode } from '../errors.js';

/**
 * Turns a path as the user types it into what `net` takes: `@name` is a Linux abstract socket name, which
 * lives in the kernel's namespace instead of the file system (a leading NUL byte in `sun_path`), so there is no
 * file to leave behind or clean up.
 *
 * @example toSocketPath('@socklab') // '\0socklab'
 */
export function toSocketPath(path: string): string {
  if (path === '' || path === '@') throw new RangeError(`A UNIX socket path cannot be empty; got '${path}'`);
  if (!path.startsWith('@')) return path;
  if (process.platform !== 'linux') throw new RangeError(`Abstract socket names (${path}) exist only on Linux`);
  return `\0${path.slice(1)}`;
}

/** True for an abstract name (`\0name`, typed `@name`). */
export function isAbstract(socketPath: string): boolean {
  return socketPath.startsWith('\0');
}

/**
 * A socket path for logs: abstract names shown the way they are typed (`@name`).
 * @example formatSocketPath('\0socklab') // '@socklab'
 */
export function formatSocketPath(socketPath: string): string {
  return isAbstract(socketPath) ? `@${socketPath.slice(1)}` : socketPath;
}

/** What is at a socket path: nothing, a socket a server still listens on, or one left by a dead server. */
export type SocketPathState = 'absent' | 'live' | 'stale';

/**
 * Finds out whether a socket file has a server behind it by connecting to it: ECONNREFUSED means the file
 * was left by a server that died without removing it (stale); a connect that succeeds means a server is live.
 * @example await probeSocketPath('/tmp/app.sock') // 'stale'
 */
export function probeSocketPath(socketPath: string, timeoutMs = 1000): Promise<SocketPathState> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    const timer = setTimeout(() => settle(() => resolve('live')), timeoutMs);
    const settle = (then: () => void): void => {
      clearTimeout(timer);
      socket.destroy();
      then();
    };
    socket.once('connect', () => settle(() => resolve('live')));
    socket.once('error', (err) => {
      const code = systemCode(err);
      if (code === 'ECONNREFUSED') settle(() => resolve('stale'));
      else if (code === 'ENOENT') settle(() => resolve('absent'));
      // A full accept queue (EAGAIN) still means someone is listening.
      else if (code === 'EAGAIN') settle(() => resolve('live'));
      else settle(() => reject(unixBindError(socketPath, `cannot check the existing socket (${code ?? err.message})`, err)));
    });
  });
}

function unixBindError(socketPath: string, why: string, cause?: unknown): SocklabError {
  return new SocklabError('SL_ERR_BIND', `Cannot listen on ${formatSocketPath(socketPath)}: ${why}`, cause === undefined ? undefined : { cause });
}

/**
 * Makes a socket path ready to bind: a stale socket file left by a dead server is removed, a live one is
 * refused (two servers on one path would each think they own it), and anything that is not a socket is
 * never touched. Abstract names need nothing: the kernel frees them when the last socket closes.
 *
 * @throws {SocklabError} SL_ERR_BIND when a server is live on the path or the path is not a socket.
 */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  if (isAbstract(socketPath)) return;
  let isSocket: boolean;
  try {
    isSocket = (await lstat(socketPath)).isSocket();
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return;
    throw unixBindError(socketPath, systemCode(err) ?? String(err), err);
  }
  if (!isSocket) throw unixBindError(socketPath, 'a file that is not a socket is in the way (not removed)');
  const state = await probeSocketPath(socketPath);
  if (state === 'live') throw unixBindError(socketPath, 'a server is already listening there (stop it, or pick another path)');
  if (state === 'stale') await unlink(socketPath).catch(() => {});
}


