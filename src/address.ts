import { isIP, type Socket } from 'node:net';
import { formatSocketPath } from './unix/socket-path.js';

/**
 * An endpoint of a socket: what `socket.address()` and `rinfo` describe. A UNIX domain socket has no port: its
 * `address` is the path (`\0name` for a Linux abstract name; '' for a client's unnamed end) and `port` is 0.
 */
export interface Endpoint {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6' | 'unix';
}

/**
 * Formats an endpoint the way URLs do: `127.0.0.1:12345`, `[::1]:12345`.
 * @example formatEndpoint({ address: '::1', port: 80 }) // '[::1]:80'
 */
export function formatEndpoint(endpoint: { address: string; port: number; family?: string }): string {
  if (endpoint.family === 'unix') return endpoint.address === '' ? 'unix:(unnamed)' : `unix:${formatSocketPath(endpoint.address)}`;
  // A known family saves isIP's parse of the whole address (two per connection in the event log); one labelled
  // IPv4 is still checked for a colon, which no IPv4 address has (a caller may label a host it has not resolved).
  const { family, address } = endpoint;
  const v6 = family === 'IPv6' || (family === 'IPv4' ? address.includes(':') : isIP(address) === 6);
  return v6 ? `[${address}]:${endpoint.port}` : `${address}:${endpoint.port}`;
}

/** Normalises Node's `family` (a string, or a number on some versions) to `'IPv4' | 'IPv6'`. */
export function toEndpoint(info: { address: string; port: number; family?: string | number }): Endpoint {
  const family = info.family === 6 || info.family === 'IPv6' || isIP(info.address) === 6 ? 'IPv6' : 'IPv4';
  return { address: info.address, port: info.port, family };
}

/** A TCP socket's peer (`remote`) or own (`local`) endpoint; `?` and port 0 once the socket no longer knows. */
export function socketEndpoint(socket: Socket, side: 'remote' | 'local'): Endpoint {
  // A UNIX domain socket's peer is usually unnamed (clients rarely bind a path), so it has neither address nor port.
  if (isUnixSocket(socket)) return { address: '', port: 0, family: 'unix' };
  return side === 'remote'
    ? toEndpoint({ address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0, family: socket.remoteFamily })
    : toEndpoint({ address: socket.localAddress ?? '?', port: socket.localPort ?? 0, family: socket.localFamily });
}

/**
 * True for 127.0.0.0/8, ::1, IPv4-mapped loopback and the name `localhost`.
 * @example isLoopback('::ffff:127.0.0.2') // true
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Strips the brackets users type around IPv6 literals (`[::1]`). */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

type Wrapped = { _handle?: { constructor?: { name?: string } }; _parent?: Wrapped };

/**
 * True for a socket over a UNIX domain socket (libuv's Pipe handle) rather than TCP. A TLS socket's own handle is
 * its TLS layer: the transport is the socket it wraps.
 */
export function isUnixSocket(socket: Socket): boolean {
  const handleName = (wrapped: Wrapped | undefined): string | undefined => wrapped?._handle?.constructor?.name;
  return handleName(socket as unknown as Wrapped) === 'Pipe' || handleName((socket as unknown as Wrapped)._parent) === 'Pipe';
}
