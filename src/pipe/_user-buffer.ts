import type { Socket } from 'node:net';

/** Called with each read: the bytes are `buffer[0, length)`. */
export type BytesCallback = (length: number, buffer: Buffer) => void;

interface UserBufferHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/** Sets the buffer the next reads go into (after {@link readIntoUserBuffer}). */
export type SetUserBuffer = (buffer: Buffer) => void;

/**
 * Makes an already open plain stream socket (TCP, UNIX, a pipe) read into a buffer of ours, as
 * `net.connect({ onread })` does (which a server's accepted sockets and process.stdin cannot be given). Node's
 * default gives every read a fresh 64 KiB allocation, and at 1 GiB that churn (malloc, page faults on memory the
 * allocator handed back) was most of a receiving nc's user CPU. `nextBuffer`, called after each read, may give
 * the buffer for the next one (undefined: the same). Uses the fields `onread` itself sets; returns undefined
 * (nothing changed) where they are missing, on a TLS socket, or with bytes already queued in the stream, and the
 * caller keeps its 'data' listener. Otherwise returns a function that swaps the buffer while reading is stopped.
 */
export function readIntoUserBuffer(socket: Socket, buffer: Buffer, onBytes: BytesCallback, nextBuffer?: () => Buffer | undefined): SetUserBuffer | undefined {
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if ('encrypted' in socket || socket.readableLength > 0 || typeof handle?.useUserBuffer !== 'function') return undefined;
  const symbols = new Map(Object.getOwnPropertySymbols(socket).map((symbol) => [symbol.description, symbol]));
  const bufferKey = symbols.get('kBuffer');
  const callbackKey = symbols.get('kBufferCb');
  const generatorKey = symbols.get('kBufferGen');
  const fields = socket as unknown as Record<symbol, unknown>;
  if (!bufferKey || !callbackKey || !generatorKey || fields[bufferKey] !== null || fields[generatorKey] !== null) return undefined;
  const setBuffer = (next: Buffer): void => {
    fields[bufferKey] = next;
    handle.useUserBuffer!(next);
  };
  setBuffer(buffer);
  fields[callbackKey] = (length: number, bytes: Buffer): boolean => {
    onBytes(length, bytes);
    return true;
  };
  if (nextBuffer) fields[generatorKey] = nextBuffer;
  return setBuffer;
}
