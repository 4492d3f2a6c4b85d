import type { Socket } from 'node:net';
import { createServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { debuglog } from 'node:util';
import { socketEndpoint, formatEndpoint, type Endpoint } from '../address.js';
import { serverHandshakeError, TlsError } from './errors.js';
import type { ResolvedTlsServerOptions } from './options.js';

const debug = debuglog('socklab');

/** Handshake counters a TLS server keeps beside its connection counters. */
export interface HandshakeStats {
  /** Connections accepted whose handshake is still running. */
  handshaking: number;
  /** Handshakes that failed, by code (SL_ERR_TLS_NOT_TLS, SL_ERR_TLS_HANDSHAKE_TIMEOUT, …). */
  tlsFailures: Partial<Record<string, number>>;
}

export interface HandshakeHooks {
  /** Called at accept, before any TLS work; false refuses the socket (the hook closes it). */
  admit(socket: Socket): boolean;
  /** A handshake failed or was refused: the connection is already closed; this is for the log line. */
  onFailure(error: TlsError, peer: Endpoint): void;
}

/** TLSSocket keeps the TCP socket it wraps here (Node internal, stable since v0.11). */
type WrappingSocket = TLSSocket & { _parent?: Socket };

function destroyOnRenegotiation(this: TLSSocket, err: Error & { code?: string }): void {
  if (err.code === 'ERR_TLS_RENEGOTIATION_DISABLED') this.destroy();
}

/**
 * A `node:tls` server with socklab's settings: TLS 1.2 at least, Node's default ciphers, a handshake deadline.
 * Renegotiation is refused per connection by {@link watchHandshakes}.
 */
export function createTlsListener(options: ResolvedTlsServerOptions): TlsServer {
  return createServer({
    ...options.context,
    ...(options.alpnProtocols ? { ALPNProtocols: [...options.alpnProtocols] } : {}),
    minVersion: options.minVersion,
    handshakeTimeout: options.handshakeTimeoutMs,
    // Not during the handshake: a client that sends FIN before finishing must free its socket at once, not at
    // the handshake timeout. Established connections are made half-open in watchHandshakes, like plaintext ones.
    allowHalfOpen: false,
  });
}

/**
 * Counts and bounds handshakes in progress, and turns each handshake failure into one {@link TlsError} for the
 * log. A failed handshake costs the server that one socket: it is destroyed here, nobody else sees it.
 * Call before adding the server's own `'secureConnection'` listener. Returns a function that drops every
 * handshake still in progress, for a shutdown (the listener's close waits for every socket).
 */
export function watchHandshakes(server: TlsServer, options: ResolvedTlsServerOptions, stats: HandshakeStats, hooks: HandshakeHooks): () => void {
  /** Accepted raw sockets and their peer (kept: after a reset the socket no longer knows it). */
  const peers = new WeakMap<Socket, Endpoint>();
  /** The raw sockets counted in `stats.handshaking` (a Set, not a WeakSet: a shutdown must reach them). */
  const counted = new Set<Socket>();
  const settle = (raw: Socket | undefined): void => {
    if (raw !== undefined && counted.delete(raw)) stats.handshaking--;
  };
  const fail = (error: TlsError, peer: Endpoint): void => {
    stats.tlsFailures[error.code] = (stats.tlsFailures[error.code] ?? 0) + 1;
    debug('tls: %s', error.message);
    hooks.onFailure(error, peer);
  };
  // Runs after tls.Server's own 'connection' listener has wrapped the socket, so destroying it here ends both.
  server.on('connection', (raw: Socket) => {
    if (!hooks.admit(raw)) return;
    const peer = socketEndpoint(raw, 'remote');
    if (stats.handshaking >= options.maxHandshakes) {
      raw.on('error', () => {});
      raw.destroy();
      fail(new TlsError('SL_ERR_SERVER_FULL', `Refused ${formatEndpoint(peer)}: ${stats.handshaking} TLS handshakes in progress, maxHandshakes is ${options.maxHandshakes}`), peer);
      return;
    }
    stats.handshaking++;
    counted.add(raw);
    peers.set(raw, peer);
    raw.once('close', () => settle(raw));
  });
  server.on('secureConnection', (socket: WrappingSocket) => {
    settle(socket._parent);
    // Same as the plaintext server: after the client's close_notify + FIN we may still owe it replies.
    socket.allowHalfOpen = true;
    // TLS 1.2 renegotiation lets a client make the server redo expensive handshakes at will (CVE-2011-1473).
    // Node only reports an attempt as an 'error' and lets the handshake go on, so the socket is destroyed here;
    // the connection's own 'error' listener, which runs next, records why it closed.
    socket.disableRenegotiation();
    socket.on('error', destroyOnRenegotiation);
  });
  server.on('tlsClientError', (err: Error, socket: WrappingSocket) => {
    // Node leaves the socket open when someone listens for this event (a timed-out one would linger).
    socket.destroy();
    settle(socket._parent);
    const peer = socket._parent === undefined ? undefined : peers.get(socket._parent);
    if (peer === undefined) return; // refused at accept, already reported
    fail(serverHandshakeError(err, formatEndpoint(peer), options.handshakeTimeoutMs), peer);
  });
  return () => {
    for (const raw of counted) raw.destroy();
  };
}
