import { AsyncQueue } from '../_async-queue.js';
import type { TcpConnection } from './connection.js';

/**
 * The queue behind `TcpConnection.messages()`: at most `maxQueuedMessages` held, reading paused past that and
 * resumed at half, the connection closed when the consumer leaves early.
 */
export function messageQueue(conn: TcpConnection): AsyncIterableIterator<Buffer> {
  const limit = conn.options.maxQueuedMessages;
  const onMessage = (message: Buffer): void => {
    queue.push(message);
    if (queue.size >= limit) conn.socket.pause();
  };
  const onFinish = (): void => queue.end();
  const queue = new AsyncQueue<Buffer>({
    onTake: (remaining) => {
      if (remaining <= limit / 2 && conn.socket.isPaused() && conn.state === 'open') conn.socket.resume();
    },
    onDone: (early) => {
      conn.off('message', onMessage);
      conn.off('end', onFinish);
      conn.off('close', onFinish);
      if (early) void conn.close();
    },
  });
  conn.on('end', onFinish);
  conn.on('close', onFinish);
  conn.on('message', onMessage);
  if (conn.peerEnded || conn.state === 'closed') queue.end();
  return queue;
}
