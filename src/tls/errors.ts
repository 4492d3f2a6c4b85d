import { checkServerIdentity, type TLSSocket } from 'node:tls';
import { SocklabError, systemCode, type SocklabCode } from '../errors.js';
import { summarizePeerCertificate, type CertificateSummary } from './certificate.js';
import type { ResolvedTlsClientOptions } from './options.js';

/**
 * A TLS failure; `certificate` is the peer's when one was seen (to show what was refused).
 * @example
 * await using server = await listenTcp({ port: 0, tls: true });
 * server.on('connection', (conn) => conn.on('message', () => {}));
 * // A self-signed certificate nobody vouches for: refused unless pinned with `fingerprint`.
 * await connectTcp({ host: '127.0.0.1', port: server.address().port, tls: true }).catch((err) => {
 *   if (!(err instanceof TlsError)) throw err;
 *   console.log(err.code, err.certificate?.fingerprint256 === server.certificate.fingerprint256); // SL_ERR_TLS_UNTRUSTED true
 * });
 */
export class TlsError extends SocklabError {
  constructor(
    code: SocklabCode,
    message: string,
    readonly certificate?: CertificateSummary,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

// OpenSSL's reasons, as Node names them (ERR_SSL_<REASON>), grouped by what they mean for the person reading.
/** The bytes were not a TLS record: the peer speaks plaintext (or HTTP). */
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_HTTPS_PROXY_REQUEST', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNKNOWN_PROTOCOL']);
/** TLS, but no version both sides accept. */
const VERSION = new Set([
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_VERSION_TOO_LOW',
  'ERR_SSL_UNSUPPORTED_SSL_VERSION',
]);
/** The peer sent an alert saying it does not accept our certificate. */
const CERT_ALERT = /^ERR_SSL_(SSLV3|TLSV1)_ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|UNSUPPORTED_CERTIFICATE|DECRYPT_ERROR)$/;

function closedEarly(err: unknown): boolean {
  const code = systemCode(err);
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** The error for a handshake that outlived `handshakeTimeoutMs`, on either side (`target`: the peer or server). */
export function handshakeTimeout(target: string, timeoutMs: number, options?: ErrorOptions): TlsError {
  return new TlsError('SL_ERR_TLS_HANDSHAKE_TIMEOUT', `TLS handshake with ${target} did not finish within ${timeoutMs} ms (handshakeTimeoutMs)`, undefined, options);
}

/**
 * Names a handshake failure a server saw (`'tlsClientError'`). A plaintext client on the TLS port is told apart
 * from the rest by OpenSSL's record check, which is a check of the first bytes.
 */
export function serverHandshakeError(err: unknown, peer: string, handshakeTimeoutMs: number): TlsError {
  const code = systemCode(err) ?? '';
  const options = { cause: err };
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
    return handshakeTimeout(peer, handshakeTimeoutMs, options);
  }
  if (NOT_TLS.has(code)) {
    const what = code === 'ERR_SSL_HTTP_REQUEST' ? 'an HTTP request' : 'plaintext';
    return new TlsError('SL_ERR_TLS_NOT_TLS', `${peer} sent ${what}, not a TLS handshake, to this TLS port (a client without --tls?)`, undefined, options);
  }
  if (VERSION.has(code)) {
    return new TlsError('SL_ERR_TLS_PROTOCOL_VERSION', `${peer} offered no TLS version this server accepts (minVersion / --tls-min)`, undefined, options);
  }
  if (CERT_ALERT.test(code)) {
    const reason = code.replace(/^ERR_SSL_(SSLV3|TLSV1)_ALERT_/, '').toLowerCase().replaceAll('_', ' ');
    return new TlsError('SL_ERR_TLS_HANDSHAKE', `${peer} refused this server's certificate (${reason}): give the client the CA (--ca) or the fingerprint`, undefined, options);
  }
  if (closedEarly(err)) return new TlsError('SL_ERR_TLS_HANDSHAKE', `${peer} closed the connection during the TLS handshake`, undefined, options);
  return new TlsError('SL_ERR_TLS_HANDSHAKE', `TLS handshake with ${peer} failed: ${code || String(err)}`, undefined, options);
}

/** Names a handshake failure a client saw, before any certificate check. */
export function clientHandshakeError(err: unknown, target: string, minVersion: string): TlsError {
  const code = systemCode(err) ?? '';
  const options = { cause: err };
  if (NOT_TLS.has(code)) {
    return new TlsError('SL_ERR_TLS_NOT_TLS', `${target} answered in plaintext, not TLS: is it a TLS port? (connect without --tls)`, undefined, options);
  }
  if (VERSION.has(code)) {
    return new TlsError('SL_ERR_TLS_PROTOCOL_VERSION', `${target} and this client share no TLS version (this client accepts ${minVersion} and newer: --tls-min)`, undefined, options);
  }
  if (closedEarly(err) || /socket hang up/.test(String((err as Error)?.message))) {
    return new TlsError('SL_ERR_TLS_HANDSHAKE', `${target} closed the connection during the TLS handshake (not a TLS port, or it refused us)`, undefined, options);
  }
  if (CERT_ALERT.test(code)) {
    return new TlsError('SL_ERR_TLS_HANDSHAKE', `${target} refused the handshake: ${code}`, undefined, options);
  }
  return new TlsError('SL_ERR_TLS_HANDSHAKE', `TLS handshake with ${target} failed: ${code || String(err)}`, undefined, options);
}

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

function daysBetween(a: Date, b: Date): number {
  return Math.round(Math.abs(a.getTime() - b.getTime()) / 86_400_000);
}

/**
 * Checks the certificate of a finished handshake: the pin if there is one, else the chain (OpenSSL's verdict,
 * `socket.authorized`), then the name. Returns why it is refused, or undefined when it is accepted.
 */
export function verifyServerCertificate(socket: TLSSocket, options: ResolvedTlsClientOptions, hostname: string, target: string): TlsError | undefined {
  const peer = socket.getPeerCertificate();
  if (!peer || peer.fingerprint256 === undefined) return new TlsError('SL_ERR_TLS_HANDSHAKE', `${target} presented no certificate`);
  const cert = summarizePeerCertificate(peer);
  if (options.fingerprint !== undefined) {
    if (cert.fingerprint256 === options.fingerprint) return undefined;
    return new TlsError(
      'SL_ERR_TLS_FINGERPRINT_MISMATCH',
      `Certificate of ${target} is not the pinned one: its fingerprint is ${cert.fingerprint256}, the pin is ${options.fingerprint} (a new certificate, or someone in between)`,
      cert,
    );
  }
  if (options.insecure) return undefined;
  const why = socket.authorized ? undefined : String(socket.authorizationError);
  if (why !== undefined && UNTRUSTED.has(why)) {
    const kind = why === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? 'is self-signed' : `is issued by ${cert.issuer || 'a CA'} that this client does not trust`;
    return new TlsError(
      'SL_ERR_TLS_UNTRUSTED',
      `Cannot verify ${target}: its certificate (${cert.subject}) ${kind}. Trust its CA with --ca FILE, or, if ${cert.fingerprint256} is the fingerprint the server printed, pin it with --fingerprint`,
      cert,
    );
  }
  const now = new Date();
  if (why === 'CERT_HAS_EXPIRED') {
    return new TlsError('SL_ERR_TLS_CERT_EXPIRED', `Certificate of ${target} expired on ${cert.validTo.toISOString()} (${daysBetween(now, cert.validTo)} days ago)`, cert);
  }
  if (why === 'CERT_NOT_YET_VALID') {
    return new TlsError(
      'SL_ERR_TLS_CERT_NOT_YET_VALID',
      `Certificate of ${target} is not valid until ${cert.validFrom.toISOString()} (this machine's clock says ${now.toISOString()})`,
      cert,
    );
  }
  // The chain is good (or failed for a reason named below); the name is checked here so the message can list
  // the names the certificate does have.
  if (why === undefined || why === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    if (checkServerIdentity(hostname, peer) === undefined) return undefined;
    const names = cert.names.length > 0 ? cert.names.join(', ') : `only the subject ${cert.subject}`;
    return new TlsError(
      'SL_ERR_TLS_NAME_MISMATCH',
      `Certificate of ${target} is not for "${hostname}": it names ${names}. Connect by one of those, or set --servername`,
      cert,
    );
  }
  return new TlsError('SL_ERR_TLS_HANDSHAKE', `Certificate of ${target} was refused: ${why}`, cert);
}

/** A plaintext server's verdict on a peer whose first bytes are a TLS ClientHello. */
export function tlsClientOnPlaintextError(peer: string): TlsError {
  return new TlsError('SL_ERR_TLS_EXPECTED', `${peer} sent a TLS handshake to this plaintext port (a client with --tls? serve with --tls to accept it)`);
}

/** A plaintext client's verdict on a server whose first bytes are TLS records. */
export function tlsServerOnPlaintextError(target: string): TlsError {
  return new TlsError('SL_ERR_TLS_EXPECTED', `${target} answered with TLS records: it is a TLS port, connect with --tls`);
}
