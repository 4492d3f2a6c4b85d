import type { Writable } from 'node:stream';
import { formatEndpoint } from '../../address.js';
import { resolveHost } from '../../dns.js';
import { DEFAULTS } from '../../options.js';
import { connectTcp } from '../../tcp/client.js';
import type { CertificateSummary } from '../../tls/certificate.js';
import { tlsSessionInfo } from '../../tls/client.js';
import { TlsError } from '../../tls/errors.js';
import { resolveTlsClientOptions } from '../../tls/options.js';
import { defineCommand, HOST_AND_PORT, println, targetFrom } from '../command.js';
import { TLS_CLIENT_FLAGS, tlsClientFrom } from '../tls-flags.js';

const VERIFIED = {
  ca: 'yes: the chain leads to a trusted CA and the certificate names this host',
  fingerprint: 'yes: the certificate is the pinned one (--fingerprint)',
  insecure: 'NO: --insecure, nothing was checked',
} as const;

function printCertificate(out: Writable, cert: CertificateSummary): void {
  const daysLeft = Math.floor((cert.validTo.getTime() - Date.now()) / 86_400_000);
  const validity = daysLeft < 0 ? `expired ${-daysLeft} days ago` : cert.validFrom.getTime() > Date.now() ? 'not valid yet' : `${daysLeft} days left`;
  println(out, 'certificate:');
  println(out, `  subject   ${cert.subject}`);
  println(out, `  issuer    ${cert.issuer}${cert.selfSigned ? ' (self-signed)' : ''}`);
  println(out, `  valid     ${cert.validFrom.toISOString()} to ${cert.validTo.toISOString()} (${validity})`);
  println(out, `  names     ${cert.names.join(', ') || '(none)'}`);
  println(out, `  sha256    ${cert.fingerprint256}`);
}

export default defineCommand({
  name: 'probe',
  summary: 'Resolve a host name and try a TCP connect',
  description: [
    "The seed's server.py: look the name up (as gethostbyname does), print the address, connect, report success.",
    'Each failure has its own message and code: a name that does not resolve (SL_ERR_RESOLVE), nothing',
    'listening (SL_ERR_CONNECT_REFUSED), no answer at all (SL_ERR_CONNECT_TIMEOUT). Exit code 0 on success, 1 otherwise.',
    '',
    'With --tls it also runs the TLS handshake and prints the protocol, the cipher and the server\'s certificate',
    '(subject, issuer, validity, names, fingerprint) and whether it was verified. A certificate that fails',
    'verification is still printed, above the error that says why.',
  ].join('\n'),
  positionals: HOST_AND_PORT,
  options: {
    port: { type: 'number', short: 'p', default: 80, max: 65_535, description: 'TCP port to connect to' },
    'timeout-ms': { type: 'number', default: DEFAULTS.connectTimeoutMs, min: 1, description: 'Give up on a connect with no answer after this long' },
    ipv4: { type: 'boolean', short: '4', description: 'Use IPv4 addresses only' },
    ipv6: { type: 'boolean', short: '6', description: 'Use IPv6 addresses only' },
    ...TLS_CLIENT_FLAGS,
  },
  examples: [
    'socklab probe www.example.com',
    'socklab probe localhost 12345',
    'socklab probe ::1 --port 22 --timeout-ms 2000',
    'socklab probe localhost 8443 --tls --ca cert.pem   # handshake, certificate, verified?',
  ],
  async run({ values, positionals }, io) {
    const { host, port } = targetFrom(positionals, values.port, 'localhost');
    const family = values.ipv4 ? 4 : values.ipv6 ? 6 : undefined;
    const tls = tlsClientFrom(values, io.stderr);
    const resolved = await resolveHost(host, family === undefined ? {} : { family });
    println(io.stdout, `resolved ${host} to ${resolved.address} (${resolved.family})`);
    const started = performance.now();
    // A short close timeout: the probe only says goodbye (FIN, not RST) and does not wait long for the reply.
    // With TLS the name checked is the one typed, not the address it resolved to.
    const target = tls ? { host, family: resolved.family === 'IPv6' ? (6 as const) : (4 as const) } : { host: resolved.address };
    let conn;
    try {
      conn = await connectTcp({ ...target, port, connectTimeoutMs: values['timeout-ms'], closeTimeoutMs: 1000, signal: io.signal, ...(tls ? { tls } : {}) });
    } catch (err) {
      if (err instanceof TlsError && err.certificate) printCertificate(io.stdout, err.certificate);
      throw err;
    }
    const elapsedMs = performance.now() - started;
    println(io.stdout, `connected to ${host} at ${formatEndpoint(conn.remote)} in ${elapsedMs.toFixed(1)} ms`);
    const info = tls ? tlsSessionInfo(conn.socket, resolveTlsClientOptions(tls)) : undefined;
    if (info) {
      println(io.stdout, `tls: ${info.protocol}, cipher ${info.cipher}`);
      printCertificate(io.stdout, info.certificate);
      println(io.stdout, `verified: ${VERIFIED[info.verified]}`);
    }
    await conn.close();
    return 0;
  },
});
