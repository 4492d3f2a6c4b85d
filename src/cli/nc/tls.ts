// Loaded only with --ssl: the TLS modules (and the self-signed certificate maker) stay out of plain nc's start-up.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { startTlsClient } from '../../tls/client.js';
import { readPemFile, resolveTlsClientOptions, resolveTlsServerOptions, type ResolvedTlsServerOptions } from '../../tls/options.js';
import { usageError } from '../command.js';
import type { NcValues } from './options.js';

/**
 * ncat's --ssl client: encrypted but not verified unless --ssl-verify (or a trust file or a pinned fingerprint) is
 * given, as ncat does; then the chain and the name are checked.
 */
export async function startNcTlsClient(values: NcValues, socket: Socket, host: string, target: string, signal: AbortSignal): Promise<TLSSocket> {
  const verify = values['ssl-verify'] === true || values['ssl-trustfile'] !== undefined;
  if (values.fingerprint !== undefined && verify) throw usageError('--fingerprint replaces --ssl-verify/--ssl-trustfile: give one or the other');
  const options = resolveTlsClientOptions({
    ...(values['ssl-trustfile'] === undefined ? {} : { ca: readPemFile('CA', values['ssl-trustfile']) }),
    ...(values['ssl-servername'] === undefined ? {} : { servername: values['ssl-servername'] }),
    ...(values.fingerprint === undefined ? {} : { fingerprint: values.fingerprint }),
    ...alpnFrom(values),
    insecure: !verify && values.fingerprint === undefined,
  });
  return startTlsClient(socket, options, host, target, signal);
}

/** The --ssl server: --ssl-cert/--ssl-key, or a self-signed certificate made at start (its fingerprint is printed). */
export async function ncTlsServerOptions(values: NcValues, host: string | undefined): Promise<{ tls: ResolvedTlsServerOptions; lines: string[] }> {
  if ((values['ssl-cert'] === undefined) !== (values['ssl-key'] === undefined)) throw usageError('Give both --ssl-cert and --ssl-key, or neither for a self-signed certificate');
  const files = values['ssl-cert'] === undefined ? undefined : { cert: readPemFile('certificate', values['ssl-cert']), key: readPemFile('key', values['ssl-key']!) };
  const tls = { ...(await resolveTlsServerOptions(files ?? true, host ?? 'localhost')), ...alpnFrom(values) };
  const lines = tls.selfSigned
    ? [`SSL: self-signed certificate made at start (use --ssl-cert and --ssl-key for a permanent one)`, `SSL: fingerprint ${tls.certificate.fingerprint256} (socklab nc --ssl --fingerprint ${tls.certificate.fingerprint256} HOST PORT)`]
    : [`SSL: certificate ${tls.certificate.subject}, fingerprint ${tls.certificate.fingerprint256}`];
  return { tls, lines };
}

/**
 * `--ssl-alpn h2,http/1.1`: the protocols offered (connect mode) or accepted (listen mode, where ncat refuses the
 * option), in order of preference.
 */
function alpnFrom(values: NcValues): { alpnProtocols?: string[] } {
  const text = values['ssl-alpn'];
  if (text === undefined) return {};
  const protocols = text.split(',');
  if (protocols.some((name) => name.length === 0 || name.length > 255)) throw usageError(`--ssl-alpn takes a comma-separated list of protocol names (1-255 bytes each); got '${text}'`);
  return { alpnProtocols: protocols };
}
