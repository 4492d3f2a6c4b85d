import { formatEndpoint } from '../../address.js';
import { resolveHost } from '../../dns.js';
import { DEFAULTS } from '../../options.js';
import { connectTcp } from '../../tcp/client.js';
import type { TcpConnection } from '../../tcp/connection.js';
import type { CertificateSummary } from '../../tls/certificate.js';
import { tlsSessionInfo } from '../../tls/client.js';
import { SocklabError } from '../../errors.js';
import { parsePortList } from '../../nc/scan.js';
import { TlsError } from '../../tls/errors.js';
import { resolveTlsClientOptions } from '../../tls/options.js';
import { defineCommand, HOST_AND_PORT, usageError } from '../command.js';
import { JSON_FLAG, UNIX_FLAG, unixPathFrom } from '../flags/output.js';
import { EventOutput } from '../json-events.js';
import { TLS_CLIENT_FLAGS, tlsClientFrom } from '../tls-flags.js';

const VERIFIED = {
  ca: 'yes: the chain leads to a trusted CA and the certificate names this host',
  fingerprint: 'yes: the certificate is the pinned one (--fingerprint)',
  insecure: 'NO: --insecure, nothing was checked',
} as const;

function certificateText(cert: CertificateSummary): string {
  const daysLeft = Math.floor((cert.validTo.getTime() - Date.now()) / 86_400_000);
  const validity = daysLeft < 0 ? `expired ${-daysLeft} days ago` : cert.validFrom.getTime() > Date.now() ? 'not valid yet' : `${daysLeft} days left`;
  return [
    'certificate:',
    `  subject   ${cert.subject}`,
    `  issuer    ${cert.issuer}${cert.selfSigned ? ' (self-signed)' : ''}`,
    `  valid     ${cert.validFrom.toISOString()} to ${cert.validTo.toISOString()} (${validity})`,
    `  names     ${cert.names.join(', ') || '(none)'}`,
    `  sha256    ${cert.fingerprint256}`,
  ].join('\n');
}

function certificateFields(cert: CertificateSummary): Record<string, unknown> {
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    names: cert.names.join(','),
    validFrom: cert.validFrom.toISOString(),
    validTo: cert.validTo.toISOString(),
    fingerprint: cert.fingerprint256,
  };
}

/**
 * The connect has succeeded, which is all a probe asks: FIN now, read and drop what already arrived (a greeting:
 * unread bytes at close would turn the goodbye into a reset), and go without waiting for the server's FIN (a
 * server may never send one; the graceful close used to hold the probe up to a second).
 */
function leave(conn: TcpConnection): Promise<void> {
  const { socket } = conn;
  socket.resume();
  return new Promise((resolve) =>
    socket.end(() =>
      setImmediate(() => {
        conn.destroy();
        resolve();
      }),
    ),
  );
}

export default defineCommand({
  name: 'probe',
  summary: 'Resolve a host name and try a TCP connect',
  description: [
    "The seed's server.py: look the name up (as gethostbyname does), print the address, connect, report success.",
    'Each failure has its own message and code: a name that does not resolve (SL_ERR_RESOLVE), nothing',
    'listening (SL_ERR_CONNECT_REFUSED), no answer at all (SL_ERR_CONNECT_TIMEOUT). Exit code 0 on success, 1 otherwise.',
    '--unix PATH probes a UNIX domain socket instead: a stale file left by a dead server is "connection refused".',
    '',
    'With --tls it also runs the TLS handshake and prints the protocol, the cipher and the server\'s certificate',
    '(subject, issuer, validity, names, fingerprint) and whether it was verified. A certificate that fails',
    'verification is still printed, above the error that says why.',
    '',
    'The port may be a list of ports and ranges, as nc -z takes them (20-30,80,443): each is tried in turn, as',
    'soon as the one before is decided; each open port prints "connected", each other one a failure line (a',
    '"failed" event with --json). Exit code 0 when any port is open, as nc -z, and 1 when none is.',
  ].join('\n'),
  positionals: [HOST_AND_PORT[0]!, { name: 'port', description: 'Port, or a list of ports and ranges (20-30,80,443), instead of --port' }],
  options: {
    port: { type: 'string', short: 'p', default: '80', placeholder: 'ports', description: 'TCP port to connect to, or a list of ports and ranges (20-30,80,443)' },
    'timeout-ms': { type: 'number', default: DEFAULTS.connectTimeoutMs, min: 1, description: 'Give up on a connect with no answer after this long' },
    ipv4: { type: 'boolean', short: '4', description: 'Use IPv4 addresses only' },
    ipv6: { type: 'boolean', short: '6', description: 'Use IPv6 addresses only' },
    ...UNIX_FLAG,
    ...JSON_FLAG,
    ...TLS_CLIENT_FLAGS,
  },
  examples: [
    'socklab probe --unix /run/socklab.sock  # is a server listening on this socket file?',
    'socklab probe www.example.com',
    'socklab probe localhost 12345',
    'socklab probe ::1 --port 22 --timeout-ms 2000',
    'socklab probe localhost 8443 --tls --ca cert.pem   # handshake, certificate, verified?',
    'socklab probe localhost 20-30,80,443     # which of these ports are open?',
  ],
  async run({ values, positionals }, io) {
    const [host = 'localhost', portText = values.port] = positionals;
    let ports: number[];
    try {
      ports = parsePortList(portText);
    } catch (err) {
      throw usageError((err as Error).message);
    }
    const out = new EventOutput(io, values.json === true);
    const path = unixPathFrom(values.unix);
    const tls = tlsClientFrom(values, io.stderr);
    if (path !== undefined && tls) throw usageError("Options '--unix' and '--tls' do not combine in probe: probe a TLS server over TCP");
    /** With --json, a failure is an event too, printed before the error line. */
    const failed = (err: unknown, fields: { host?: string; port?: number; elapsedMs?: number }): void => {
      if (err instanceof SocklabError) out.event('failed', { code: err.code, message: err.message, ...fields });
    };
    if (path !== undefined) {
      // No name to resolve: a UNIX socket is found by its path.
      const started = performance.now();
      let conn;
      try {
        conn = await connectTcp({ path, connectTimeoutMs: values['timeout-ms'], closeTimeoutMs: 1000, signal: io.signal });
      } catch (err) {
        failed(err, { elapsedMs: performance.now() - started });
        throw err;
      }
      const elapsedMs = performance.now() - started;
      out.event('connected', { peer: conn.remote.address === '' ? { address: path, port: 0, family: 'unix' } : conn.remote, elapsedMs }, `connected to ${path} in ${elapsedMs.toFixed(1)} ms`);
      await leave(conn);
      return 0;
    }
    const family = values.ipv4 ? 4 : values.ipv6 ? 6 : undefined;
    let resolved;
    try {
      resolved = await resolveHost(host, family === undefined ? {} : { family });
    } catch (err) {
      failed(err, { host });
      throw err;
    }
    out.event('resolved', { host, address: resolved.address, family: resolved.family }, `resolved ${host} to ${resolved.address} (${resolved.family})`);
    // With TLS the name checked is the one typed, not the address it resolved to.
    const target = tls ? { host, family: resolved.family === 'IPv6' ? (6 as const) : (4 as const) } : { host: resolved.address };
    const probePort = async (port: number): Promise<void> => {
      const started = performance.now();
      let conn;
      try {
        conn = await connectTcp({ ...target, port, connectTimeoutMs: values['timeout-ms'], closeTimeoutMs: 1000, signal: io.signal, ...(tls ? { tls } : {}) });
      } catch (err) {
        if (err instanceof TlsError && err.certificate) out.event('certificate-refused', certificateFields(err.certificate), certificateText(err.certificate));
        failed(err, { host, port, elapsedMs: performance.now() - started });
        throw err;
      }
      const elapsedMs = performance.now() - started;
      out.event('connected', { host, peer: conn.remote, elapsedMs }, `connected to ${host} at ${formatEndpoint(conn.remote)} in ${elapsedMs.toFixed(1)} ms`);
      const info = tls ? tlsSessionInfo(conn.socket, resolveTlsClientOptions(tls)) : undefined;
      if (info) {
        const human = [`tls: ${info.protocol}, cipher ${info.cipher}`, certificateText(info.certificate), `verified: ${VERIFIED[info.verified]}`].join('\n');
        out.event('tls', { protocol: info.protocol, cipher: info.cipher, verified: info.verified, ...certificateFields(info.certificate) }, human);
      }
      await leave(conn);
    };
    if (ports.length === 1) {
      await probePort(ports[0]!);
      return 0;
    }
    let open = 0;
    for (const port of ports) {
      if (io.signal.aborted) break;
      try {
        await probePort(port);
        open++;
      } catch (err) {
        // One closed port of a list is an answer, not the end of the probe.
        if (!(err instanceof SocklabError)) throw err;
        out.note(`port ${port}: ${err.message} [${err.code}]`);
      }
    }
    return open > 0 ? 0 : 1;
  },
});
