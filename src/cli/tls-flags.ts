import type { Writable } from 'node:stream';
import { formatEndpoint, type Endpoint } from '../address.js';
import type { TcpServer } from '../tcp/server.js';
import type { EventOutput } from './json-events.js';
import { DEFAULTS } from '../options.js';
import type { CertificateSummary } from '../tls/certificate.js';
import { readPemFile, type TlsClientOptions, type TlsServerOptions, type TlsVersion } from '../tls/options.js';
import { println, usageError, type OptionSpec } from './command.js';

const VERSIONS = ['1.2', '1.3'] as const;

/** Flags shared by every command that can serve TLS. */
export const TLS_SERVER_FLAGS = {
  tls: { type: 'boolean', description: 'Serve TLS: with --cert and --key, or a self-signed certificate made at start (its fingerprint is printed)' },
  cert: { type: 'string', placeholder: 'file', description: 'TLS: certificate chain, PEM (server certificate first)' },
  key: { type: 'string', placeholder: 'file', description: 'TLS: private key of --cert, PEM' },
  'tls-min': { type: 'string', default: '1.2', choices: VERSIONS, description: 'TLS: oldest version accepted' },
  'handshake-timeout-ms': { type: 'number', default: DEFAULTS.handshakeTimeoutMs, min: 1, description: 'TLS: a handshake not done in this long is dropped' },
  'max-handshakes': { type: 'number', default: DEFAULTS.maxHandshakes, min: 1, description: 'TLS: handshakes in progress at once; more clients are closed at accept' },
} as const satisfies Record<string, OptionSpec>;

/** Flags shared by every command that can connect with TLS. */
export const TLS_CLIENT_FLAGS = {
  tls: { type: 'boolean', description: "Connect with TLS; the server's certificate is verified (Node's CA list, --ca, the host name)" },
  ca: { type: 'string', placeholder: 'file', description: 'TLS: also trust the CA certificates (or the self-signed certificate) in this PEM file' },
  servername: { type: 'string', placeholder: 'name', description: 'TLS: name sent in SNI and checked against the certificate (default: the host)' },
  fingerprint: { type: 'string', placeholder: 'sha256:…', description: 'TLS: accept only the certificate with this SHA-256 fingerprint (what serve --tls prints); replaces the CA and name checks' },
  insecure: { type: 'boolean', description: 'TLS: do not verify the certificate at all (prints a warning every time)' },
  'tls-min': { type: 'string', default: '1.2', choices: VERSIONS, description: 'TLS: oldest version accepted' },
  'handshake-timeout-ms': { type: 'number', default: DEFAULTS.handshakeTimeoutMs, min: 1, description: 'TLS: give up on a handshake after this long' },
} as const satisfies Record<string, OptionSpec>;

interface ServerFlagValues {
  tls?: boolean | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  'tls-min': string;
  'handshake-timeout-ms': number;
  'max-handshakes': number;
}

interface ClientFlagValues {
  tls?: boolean | undefined;
  ca?: string | undefined;
  servername?: string | undefined;
  fingerprint?: string | undefined;
  insecure?: boolean | undefined;
  'tls-min': string;
  'handshake-timeout-ms': number;
}

const version = (text: string): TlsVersion => (text === '1.3' ? 'TLSv1.3' : 'TLSv1.2');

/** Server TLS options from the flags, or undefined without --tls. Files are read here (SL_ERR_TLS_CONFIG). */
export function tlsServerFrom(values: ServerFlagValues, flag = 'tls'): TlsServerOptions | undefined {
  if (!values.tls) {
    if (values.cert !== undefined || values.key !== undefined) throw usageError(`Options '--cert' and '--key' need '--${flag}'`);
    return undefined;
  }
  if ((values.cert === undefined) !== (values.key === undefined)) throw usageError("Give both '--cert' and '--key', or neither for a self-signed certificate");
  return {
    ...(values.cert === undefined ? {} : { cert: readPemFile('certificate', values.cert), key: readPemFile('key', values.key!) }),
    minVersion: version(values['tls-min']),
    handshakeTimeoutMs: values['handshake-timeout-ms'],
    maxHandshakes: values['max-handshakes'],
  };
}

/** Client TLS options from the flags, or undefined without `--<flag>`; warns on stderr for --insecure. */
export function tlsClientFrom(values: ClientFlagValues, stderr: Writable, flag = 'tls'): TlsClientOptions | undefined {
  const used = (['ca', 'servername', 'fingerprint', 'insecure'] as const).filter((name) => values[name] !== undefined && values[name] !== false);
  if (!values.tls) {
    if (used.length > 0) throw usageError(`Option '--${used[0]}' needs '--${flag}'`);
    return undefined;
  }
  if (values.fingerprint !== undefined && values.insecure) throw usageError("Options '--fingerprint' and '--insecure' conflict: a pinned certificate is verified");
  if (values.insecure) {
    println(stderr, "warning: --insecure: the server's certificate is not checked, so anyone in between can read and change this connection");
  }
  return {
    ...(values.ca === undefined ? {} : { ca: readPemFile('CA', values.ca) }),
    ...(values.servername === undefined ? {} : { servername: values.servername }),
    ...(values.fingerprint === undefined ? {} : { fingerprint: values.fingerprint }),
    insecure: values.insecure === true,
    minVersion: version(values['tls-min']),
    handshakeTimeoutMs: values['handshake-timeout-ms'],
  };
}

/** The lines a TLS server prints at start: what it presents and how a client can pin it. */
export function certificateLines(cert: CertificateSummary, selfSignedAtStart: boolean): string[] {
  const origin = selfSignedAtStart ? 'self-signed, made at start' : cert.selfSigned ? 'self-signed' : `issued by ${cert.issuer}`;
  return [
    `tls: certificate ${cert.subject} for ${cert.names.join(', ') || '(no alternative names)'} (${origin}; valid until ${cert.validTo.toISOString()})`,
    `tls: fingerprint ${cert.fingerprint256}`,
    ...(selfSignedAtStart || cert.selfSigned ? [`tls: clients can pin it: socklab client --tls --fingerprint ${cert.fingerprint256}`] : []),
  ];
}

/**
 * With TLS: prints the certificate (its fingerprint, for clients to pin) and logs each failed handshake as one
 * event; the server itself counts them by code.
 */
export function reportTls(out: EventOutput, tls: TlsServerOptions | undefined, tcp: TcpServer): void {
  if (!tcp.certificate) return;
  reportCertificate(out, tcp.certificate, tls?.cert === undefined);
  tcp.on('tlsError', (error, peer) => reportTlsFailure(out, peer, error.code, error.message));
}

/** One failed handshake: one event, one log line. */
export function reportTlsFailure(out: EventOutput, peer: Endpoint, code: string, message: string): void {
  out.event('tls-failed', { peer, code, message }, `${formatEndpoint(peer)} TLS handshake failed: ${message} [${code}]`);
}

/** The certificate a server presents: its summary and fingerprint, for clients to pin. */
export function reportCertificate(out: EventOutput, cert: CertificateSummary, selfSignedAtStart: boolean): void {
  const human = certificateLines(cert, selfSignedAtStart).join('\n');
  out.event('certificate', { fingerprint: cert.fingerprint256, names: cert.names.join(','), selfSigned: cert.selfSigned, validTo: cert.validTo.toISOString() }, human);
}

/** The TLS handshake failures of a server's totals, one phrase per code. */
export function tlsFailureExtras(tlsFailures: Partial<Record<string, number>>): string[] {
  return Object.entries(tlsFailures).map(([code, n]) => `${n} TLS handshakes failed for ${code}`);
}
