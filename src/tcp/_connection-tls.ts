import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { summarizePeerCertificate, type CertificateSummary } from '../tls/certificate.js';

/** How a client accepted the server's certificate: against CAs, by its pinned fingerprint, or not at all. */
export type TlsVerification = 'ca' | 'fingerprint' | 'insecure';

/** What `conn.tls` tells about a TLS connection. */
export interface ConnectionTls {
  /** e.g. 'TLSv1.3' */
  protocol: string;
  /** e.g. 'TLS_AES_256_GCM_SHA384' */
  cipher: string;
  /** The peer's certificate: the server's, seen from a client; undefined when the peer sent none (a client, seen by a server). */
  peerCertificate: CertificateSummary | undefined;
  /** How this client accepted the server's certificate; undefined on a server's connection. */
  verified: TlsVerification | undefined;
}

/** How connectTcp accepted the server's certificate: client TLS sockets only, so not a field of every connection. */
const verifications = new WeakMap<Socket, TlsVerification>();

/** connectTcp records how it accepted the server's certificate, for `conn.tls`. */
export function setTlsVerification(socket: Socket, verified: TlsVerification): void {
  verifications.set(socket, verified);
}

/** The session of `socket`, or undefined for plaintext. */
export function connectionTls(socket: Socket): ConnectionTls | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const peer = socket.getPeerCertificate();
  return {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.standardName ?? 'unknown',
    peerCertificate: peer && Object.keys(peer).length > 0 ? summarizePeerCertificate(peer) : undefined,
    verified: verifications.get(socket),
  };
}
