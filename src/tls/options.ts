import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext, type SecureContextOptions } from 'node:tls';
import { SocklabError, systemCode } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';
import { generateSelfSigned, parseFingerprint, selfSignedNames, summarizeX509, type CertificateSummary } from './certificate.js';

/** TLS versions socklab will speak; older ones are broken and refused. */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';
/**
 * The TLS versions socklab speaks (1.2 is the floor).
 * @example TLS_VERSIONS.includes('TLSv1.3') // true
 */
export const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];

/** PEM text, as read from a file. */
export type Pem = string | Buffer;

/**
 * Server side. With neither `cert` nor `key`, a self-signed certificate is made at start for `names` (its
 * fingerprint is in `server.certificate`, for clients to pin).
 */
export interface TlsServerOptions {
  /** The certificate chain, PEM: the server's certificate first, then intermediates. */
  cert?: Pem;
  /** The private key, PEM (unencrypted). */
  key?: Pem;
  /** Names and addresses of a self-signed certificate. @default localhost, the loopback addresses and the bound host */
  names?: string[];
  /** Oldest version accepted. @default 'TLSv1.2' */
  minVersion?: TlsVersion;
  /** A handshake not finished in this long costs the client its connection (SL_ERR_TLS_HANDSHAKE_TIMEOUT). @default DEFAULTS.handshakeTimeoutMs */
  handshakeTimeoutMs?: number;
  /** Handshakes in progress at once; more clients are closed at accept. @default DEFAULTS.maxHandshakes */
  maxHandshakes?: number;
}

/**
 * Client side. The server's certificate is verified by default against Node's CA list plus `ca`, and must be for
 * `servername` (or the host connected to). `fingerprint` replaces all of that with one pinned certificate;
 * `insecure` turns verification off.
 */
export interface TlsClientOptions {
  /** Extra CA certificates (PEM) trusted besides Node's list (Mozilla's CA store, `tls.rootCertificates`). */
  ca?: Pem | Pem[];
  /** Name sent in SNI and checked against the certificate. @default the host connected to */
  servername?: string;
  /**
   * Accept exactly the certificate with this SHA-256 fingerprint (`sha256:AB:CD:…`, as `socklab serve --tls`
   * prints it), whoever issued it and whatever names it has: the pin is the verification.
   */
  fingerprint?: string;
  /** Skip verification: anyone in the middle can read and change the traffic. @default false */
  insecure?: boolean;
  /** @default 'TLSv1.2' */
  minVersion?: TlsVersion;
  /** The handshake must finish this long after the TCP connect. @default DEFAULTS.handshakeTimeoutMs */
  handshakeTimeoutMs?: number;
  /** ALPN protocols to offer, in order of preference (`h2`, `http/1.1`). @default none */
  alpnProtocols?: string[];
}

export interface ResolvedTlsServerOptions {
  readonly context: SecureContextOptions;
  readonly minVersion: TlsVersion;
  readonly handshakeTimeoutMs: number;
  readonly maxHandshakes: number;
  readonly certificate: CertificateSummary;
  /** True when the certificate was made at start. */
  readonly selfSigned: boolean;
  /** ALPN protocols the server accepts, in its order of preference. @default none */
  readonly alpnProtocols?: readonly string[] | undefined;
}

export interface ResolvedTlsClientOptions {
  /**
   * Made once and shared by every connection: with `ca`, each new context would parse Node's whole CA list again
   * (measured: it held a full-handshake connect loop to 45 connections/s).
   */
  readonly context: SecureContext;
  readonly servername: string | undefined;
  readonly alpnProtocols: readonly string[] | undefined;
  readonly fingerprint: string | undefined;
  readonly insecure: boolean;
  readonly minVersion: TlsVersion;
  readonly handshakeTimeoutMs: number;
}

function checkVersion(value: string | undefined): TlsVersion {
  const version = value ?? 'TLSv1.2';
  if (!(TLS_VERSIONS as readonly string[]).includes(version)) throw new RangeError(`minVersion must be one of ${TLS_VERSIONS.join(', ')}, got '${version}'`);
  return version as TlsVersion;
}

function configError(message: string, cause?: unknown): SocklabError {
  return new SocklabError('SL_ERR_TLS_CONFIG', message, cause === undefined ? undefined : { cause });
}

/**
 * Validates server TLS options and loads or makes the certificate, before anything binds.
 * @throws {SocklabError} SL_ERR_TLS_CONFIG for a certificate and key that do not fit together or cannot be parsed
 */
export async function resolveTlsServerOptions(options: TlsServerOptions | true, host: string): Promise<ResolvedTlsServerOptions> {
  const given = options === true ? {} : options;
  const minVersion = checkVersion(given.minVersion);
  const handshakeTimeoutMs = checkCount('handshakeTimeoutMs', given.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs, 1);
  const maxHandshakes = checkCount('maxHandshakes', given.maxHandshakes ?? DEFAULTS.maxHandshakes, 1);
  if ((given.cert === undefined) !== (given.key === undefined)) {
    throw new TypeError('cert and key go together: give both (PEM), or neither for a self-signed certificate');
  }
  const selfSigned = given.cert === undefined ? await generateSelfSigned(given.names ?? selfSignedNames(host)) : undefined;
  const cert = selfSigned?.cert ?? given.cert!;
  const key = selfSigned?.key ?? given.key!;
  let certificate: CertificateSummary;
  try {
    certificate = selfSigned?.summary ?? summarizeX509(new X509Certificate(cert));
    // Fails here, with OpenSSL's reason, for a key that is not the certificate's ("key values mismatch").
    createSecureContext({ cert, key });
  } catch (err) {
    throw configError(`Cannot use the TLS certificate and key: ${(err as Error).message}`, err);
  }
  return Object.freeze({ context: { cert, key }, minVersion, handshakeTimeoutMs, maxHandshakes, certificate, selfSigned: selfSigned !== undefined });
}

/** Validates client TLS options. @throws {RangeError} for a malformed fingerprint or version */
export function resolveTlsClientOptions(options: TlsClientOptions | true): ResolvedTlsClientOptions {
  const given = options === true ? {} : options;
  const extra = given.ca === undefined ? undefined : Array.isArray(given.ca) ? given.ca : [given.ca];
  if (given.fingerprint !== undefined && given.insecure) throw new TypeError('fingerprint and insecure conflict: a pinned certificate is verified');
  const minVersion = checkVersion(given.minVersion);
  let context: SecureContext;
  try {
    // Node replaces its CA list with `ca` when given one; we add to it instead.
    context = createSecureContext({ minVersion, ...(extra === undefined ? {} : { ca: [...rootCertificates, ...extra] }) });
  } catch (err) {
    throw configError(`Cannot use the CA certificates: ${(err as Error).message}`, err);
  }
  return Object.freeze({
    context,
    servername: given.servername,
    alpnProtocols: given.alpnProtocols === undefined ? undefined : Object.freeze([...given.alpnProtocols]),
    fingerprint: given.fingerprint === undefined ? undefined : parseFingerprint(given.fingerprint),
    insecure: given.insecure === true,
    minVersion,
    handshakeTimeoutMs: checkCount('handshakeTimeoutMs', given.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs, 1),
  });
}

/**
 * Reads a PEM file (certificate, key or CA) for the CLI.
 * @throws {SocklabError} SL_ERR_TLS_CONFIG naming the file and why
 */
export function readPemFile(what: string, path: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw configError(`Cannot read the ${what} file ${path}: ${systemCode(err) ?? String(err)}`, err);
  }
  if (!bytes.includes('-----BEGIN ')) throw configError(`The ${what} file ${path} is not PEM (no "-----BEGIN" line)`);
  return bytes;
}
