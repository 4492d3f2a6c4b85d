import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket, type ConnectionOptions } from 'node:tls';
import { abortedError } from '../errors.js';
import { summarizePeerCertificate, type CertificateSummary } from './certificate.js';
import { clientHandshakeError, handshakeTimeout, TlsError, verifyServerCertificate } from './errors.js';
import type { ResolvedTlsClientOptions } from './options.js';

/** `tls.connect` options both clients share: one secure context, and Node's own checks off (ours follow). */
function connectOptionsFor(options: ResolvedTlsClientOptions, identity: string): ConnectionOptions {
  const connectOptions: ConnectionOptions & { allowHalfOpen: boolean } = {
    // SNI carries host names only (RFC 6066 §3): never an IP literal.
    ...(isIP(identity) === 0 ? { servername: identity } : {}),
    secureContext: options.context,
    ...(options.alpnProtocols ? { ALPNProtocols: [...options.alpnProtocols] } : {}),
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    // Not in the typings, but passed to the TLSSocket: after the server's close_notify we may still send.
    allowHalfOpen: true,
  };
  return connectOptions;
}

/**
 * Runs the client side of a TLS handshake over a connected TCP socket and checks the server's certificate.
 * Resolves with the TLS socket only once the certificate is accepted, so no application byte is read or sent
 * before that.
 *
 * Node is told not to reject (rejectUnauthorized: false) and the verdict is taken here from
 * `socket.authorized` and our own name check: it keeps the certificate at hand, so the error can say which
 * names it has or when it expired, and a pinned fingerprint can replace the chain check.
 *
 * @param hostname the name the user connected to (checked against the certificate unless `servername` is set)
 */
export function startTlsClient(socket: Socket, options: ResolvedTlsClientOptions, hostname: string, target: string, signal?: AbortSignal): Promise<TLSSocket> {
  const identity = options.servername ?? hostname;
  // Nagle would hold each small TLS record back ~40 ms, as it would a plaintext reply; set on the TCP socket.
  socket.setNoDelay(true);
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({ socket, host: identity, ...connectOptionsFor(options, identity) });
    const timer = setTimeout(
      () => fail(handshakeTimeout(target, options.handshakeTimeoutMs)),
      options.handshakeTimeoutMs,
    );
    const onAbort = (): void => fail(abortedError(`TLS handshake with ${target}`, signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      secure.off('error', onError);
    };
    const fail = (error: Error): void => {
      settle();
      secure.on('error', () => {}); // a late reset after we gave up must not crash the process
      secure.destroy();
      reject(error);
    };
    const onError = (err: Error): void => fail(clientHandshakeError(err, target, options.minVersion));
    secure.on('error', onError);
    secure.once('secureConnect', () => {
      const refused = verifyServerCertificate(secure, options, identity, target);
      if (refused) {
        fail(refused);
        return;
      }
      settle();
      resolve(secure);
    });
  });
}

/** What was negotiated, for `probe --tls` and logs. */
export interface TlsSessionInfo {
  /** e.g. 'TLSv1.3' */
  protocol: string;
  /** e.g. 'TLS_AES_256_GCM_SHA384' */
  cipher: string;
  certificate: CertificateSummary;
  /** How the certificate was accepted. */
  verified: 'ca' | 'fingerprint' | 'insecure';
}

/**
 * The TLS session of a connection's socket, or undefined for plaintext.
 * @example const info = tlsSessionInfo(conn.socket, tlsOptions); console.log(info?.protocol);
 */
export function tlsSessionInfo(socket: Socket, options: ResolvedTlsClientOptions): TlsSessionInfo | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  return {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.standardName ?? 'unknown',
    certificate: summarizePeerCertificate(socket.getPeerCertificate()),
    verified: options.fingerprint !== undefined ? 'fingerprint' : options.insecure ? 'insecure' : 'ca',
  };
}

/** Emitted by a {@link connectTlsSocket} socket once the server's certificate is accepted. */
export const VERIFIED_EVENT = 'socklab:verified';

/**
 * A TLS socket for a load generator: connects, handshakes and checks the certificate like
 * {@link startTlsClient}, but with no promise per connection (`name` is the one checked, if `host` is its address).
 * Listen for {@link VERIFIED_EVENT}, not `'secureConnect'`: it is emitted only for an accepted certificate,
 * and `'error'` (a {@link TlsError}) otherwise.
 */
export function connectTlsSocket(host: string, port: number, options: ResolvedTlsClientOptions, name = host): TLSSocket {
  const identity = options.servername ?? name;
  const target = `${host}:${port}`;
  const socket = tlsConnect({ host, port, ...connectOptionsFor(options, identity) });
  socket.setNoDelay(true);
  // From the start of the connect: a server that accepts TCP and never answers the ClientHello must not hold us.
  const timer = setTimeout(
    () => socket.destroy(handshakeTimeout(target, options.handshakeTimeoutMs)),
    options.handshakeTimeoutMs,
  );
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('secureConnect', () => {
    clearTimeout(timer);
    const refused = verifyServerCertificate(socket, options, identity, target);
    if (refused) socket.destroy(refused);
    else socket.emit(VERIFIED_EVENT);
  });
  return socket;
}
