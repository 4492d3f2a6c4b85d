import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { PeerCertificate } from 'node:tls';

/** What a person needs to see of a certificate to decide whether to trust it. */
export interface CertificateSummary {
  /** e.g. `CN=localhost` */
  subject: string;
  issuer: string;
  validFrom: Date;
  validTo: Date;
  /** The subject alternative names (DNS names and IP addresses) it is valid for. */
  names: string[];
  /** `sha256:` and the SHA-256 of the DER certificate as colon-separated hex: what `--fingerprint` takes. */
  fingerprint256: string;
  /** Subject and issuer are the same: nobody vouches for it but itself. */
  selfSigned: boolean;
}

/** A PEM certificate and key made at start, and the fingerprint to pin it by. */
export interface SelfSignedCertificate {
  cert: string;
  key: string;
  summary: CertificateSummary;
}

/** How long a self-signed certificate made at start stays valid. A server is restarted well before that. */
const SELF_SIGNED_DAYS = 30;

/**
 * The names a self-signed certificate made for `host` should carry: the host itself, `localhost` and the
 * loopback addresses, and for a wildcard bind (0.0.0.0, ::) this machine's name and addresses, since clients
 * will reach it by any of those.
 */
export function selfSignedNames(host: string): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1']);
  if (host === '0.0.0.0' || host === '::') {
    names.add(hostname());
    for (const entries of Object.values(networkInterfaces())) {
      for (const entry of entries ?? []) names.add(entry.address.replace(/%.*$/, ''));
    }
  } else {
    names.add(host);
  }
  return [...names];
}

/**
 * Makes a self-signed certificate (ECDSA P-256, SHA-256) for `names`: IP literals become IP subject
 * alternative names, everything else DNS names. The first DNS name is the common name.
 *
 * @example
 * const { cert, key, summary } = await generateSelfSigned(['localhost', '127.0.0.1']);
 * console.log(summary.fingerprint256);
 */
export async function generateSelfSigned(names: readonly string[]): Promise<SelfSignedCertificate> {
  const commonName = names.find((name) => isIP(name) === 0) ?? names[0] ?? 'localhost';
  const notBeforeDate = new Date(Date.now() - 60_000); // a minute of slack for clocks that disagree a little
  const notAfterDate = new Date(notBeforeDate.getTime() + SELF_SIGNED_DAYS * 86_400_000);
  // selfsigned (and its ASN.1 stack) is loaded when a certificate is made, not by `import 'socklab'`.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((name) => (isIP(name) === 0 ? { type: 2, value: name } : { type: 7, ip: name })) },
    ],
  });
  return { cert: pems.cert, key: pems.private, summary: summarizeX509(new X509Certificate(pems.cert)) };
}

/** `AB:CD:…` (Node's format) with the algorithm in front, as `--fingerprint` takes it. */
function withAlgorithm(fingerprint: string): string {
  return `sha256:${fingerprint.toUpperCase()}`;
}

/** OpenSSL writes IPv6 names in full (`0:0:0:0:0:0:0:1`); people write `::1`. The URL parser compresses them. */
function compressIPv6(name: string): string {
  return isIP(name) === 6 ? new URL(`http://[${name}]/`).hostname.slice(1, -1) : name;
}

/** `DNS:a, IP Address:1.2.3.4` (OpenSSL's text form, which Node and X509Certificate both give) as a list. */
function parseAltNames(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split(/,\s*/)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter((entry) => entry !== '')
    .map(compressIPv6);
}

/** A certificate read from a PEM (the server's own). */
export function summarizeX509(cert: X509Certificate): CertificateSummary {
  const subject = cert.subject.split('\n').join(', ');
  const issuer = cert.issuer.split('\n').join(', ');
  return {
    subject,
    issuer,
    validFrom: new Date(cert.validFrom),
    validTo: new Date(cert.validTo),
    names: parseAltNames(cert.subjectAltName),
    fingerprint256: withAlgorithm(cert.fingerprint256),
    selfSigned: subject === issuer,
  };
}

function formatName(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

/** The certificate a peer presented (`socket.getPeerCertificate()`). */
export function summarizePeerCertificate(cert: PeerCertificate): CertificateSummary {
  const subject = formatName(cert.subject);
  const issuer = formatName(cert.issuer);
  return {
    subject,
    issuer,
    validFrom: new Date(cert.valid_from),
    validTo: new Date(cert.valid_to),
    names: parseAltNames(cert.subjectaltname),
    fingerprint256: withAlgorithm(cert.fingerprint256),
    selfSigned: subject === issuer,
  };
}

/**
 * Normalises a pinned fingerprint: `sha256:` optional, hex in any case, colons optional.
 * @throws {RangeError} when it is not 32 bytes of hex
 * @example parseFingerprint('sha256:ab:cd…') // 'sha256:AB:CD:…'
 */
export function parseFingerprint(text: string): string {
  const hex = text.replace(/^sha256:/i, '').replace(/:/g, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new RangeError(`fingerprint must be a SHA-256 fingerprint (64 hex digits, colons optional, e.g. sha256:AB:CD:…), got '${text}'`);
  }
  return withAlgorithm(hex.toUpperCase().match(/../g)!.join(':'));
}
