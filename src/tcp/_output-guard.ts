import { SocklabError } from '../errors.js';
import type { RareState } from './_connection-state.js';
import type { TcpConnection } from './connection.js';

/**
 * Called after a write left more than `outputSoftLimitBytes` or `maxBufferedBytes` queued for a peer. Above the
 * soft limit a clock starts (once): still above it after `outputSoftLimitMs`, the peer is cut off; 'drain'
 * (the peer caught up) stops the clock. Above `maxBufferedBytes` the peer is cut off at once. Returns false
 * when the connection was destroyed.
 */
export function guardOutput(conn: TcpConnection, rare: RareState, queued: number): boolean {
  const { options, socket } = conn;
  if (queued > options.outputSoftLimitBytes && options.outputSoftLimitMs !== Infinity && rare.softLimitTimer === undefined) {
    // Past the soft limit write() has returned false, so 'drain' will fire once the peer catches up. A closure
    // is fine here: only a connection over its soft limit makes one.
    rare.softLimitTimer = setTimeout(onSoftLimitTimeout, options.outputSoftLimitMs, conn, rare);
    socket.once('drain', () => {
      clearTimeout(rare.softLimitTimer);
      rare.softLimitTimer = undefined;
    });
  }
  if (queued > options.maxBufferedBytes) {
    conn.destroy(
      new SocklabError(
        'SL_ERR_OUTPUT_OVERFLOW',
        `Peer ${conn.peer} is not reading: ${queued} bytes queued, maxBufferedBytes is ${options.maxBufferedBytes}`,
      ),
    );
    return false;
  }
  return true;
}

function onSoftLimitTimeout(conn: TcpConnection, rare: RareState): void {
  rare.softLimitTimer = undefined;
  const queued = conn.socket.writableLength;
  const { outputSoftLimitBytes, outputSoftLimitMs } = conn.options;
  if (queued <= outputSoftLimitBytes || conn.state === 'closed') return;
  conn.destroy(
    new SocklabError(
      'SL_ERR_OUTPUT_OVERFLOW',
      `Peer ${conn.peer} is reading too slowly: ${queued} bytes queued for over ${outputSoftLimitMs} ms (outputSoftLimitBytes is ${outputSoftLimitBytes})`,
    ),
  );
}

/** `TcpConnection.drained()`: resolves on 'drain', or at once if nothing waits or the connection is closed. */
export function drained(conn: TcpConnection): Promise<void> {
  if (!conn.socket.writableNeedDrain || conn.state === 'closed') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      conn.socket.off('drain', done);
      conn.off('close', done);
      resolve();
    };
    conn.socket.on('drain', done);
    conn.on('close', done);
  });
}
