import type { OptionSpec } from '../command.js';

/** ncat's option names, meanings and defaults (OpenBSD nc's -q and -N too). Times take ncat's units: 500ms, 2s, 1m, 1h. */
export const NC_FLAGS = {
  listen: { type: 'boolean', short: 'l', description: 'Listen for a connection instead of connecting ([host] [port]; default port 31337, every address)' },
  'keep-open': { type: 'boolean', short: 'k', description: 'Listen mode: serve any number of clients at once; their bytes go to stdout, stdin goes to all' },
  'max-conns': { type: 'number', short: 'm', default: 100, min: 1, description: 'Listen mode: clients at once' },
  broker: { type: 'boolean', description: 'Listen mode: relay what each client sends to every other client (implies -k)' },
  chat: { type: 'boolean', description: 'Listen mode: a line chat among the clients (implies -k; socklab\'s chat server)' },
  exec: { type: 'string', short: 'e', placeholder: 'command', description: 'Run this program (no shell) for the connection: its stdin/stdout are the socket; NCAT_* variables set' },
  'sh-exec': { type: 'string', short: 'c', placeholder: 'command', description: 'Same with /bin/sh -c' },
  udp: { type: 'boolean', short: 'u', description: 'UDP instead of TCP' },
  unixsock: { type: 'boolean', short: 'U', description: 'The target (or listen address) is a UNIX stream socket path' },
  ipv4: { type: 'boolean', short: '4', description: 'IPv4 only' },
  ipv6: { type: 'boolean', short: '6', description: 'IPv6 only' },
  nodns: { type: 'boolean', short: 'n', description: 'Do not resolve host names: IP addresses only' },
  source: { type: 'string', short: 's', placeholder: 'addr', description: 'Connect mode: source address; listen mode: the address to listen on' },
  'source-port': { type: 'number', short: 'p', max: 65_535, description: 'Connect mode: source port; listen mode: the port to listen on' },
  wait: { type: 'string', short: 'w', placeholder: 'time', description: 'Connect timeout (e.g. 500ms, 5s)' },
  'idle-timeout': { type: 'string', short: 'i', placeholder: 'time', description: 'Close the connection after this long with no byte either way (exit 1)' },
  delay: { type: 'string', short: 'd', placeholder: 'time', description: 'Wait this long after each chunk sent' },
  quit: { type: 'string', short: 'q', placeholder: 'time', description: 'After the end of stdin, exit this much later even if the peer has not closed (OpenBSD nc)' },
  'shutdown-eof': { type: 'boolean', short: 'N', description: 'Send FIN at the end of stdin (OpenBSD nc; socklab nc, like ncat, always does unless --no-shutdown)' },
  crlf: { type: 'boolean', short: 'C', description: 'Send LF as CRLF (what is sent only, never what is received)' },
  'send-only': { type: 'boolean', description: 'Only send: what the peer sends is dropped; exit at the end of stdin' },
  'recv-only': { type: 'boolean', description: 'Only receive: stdin is not read' },
  'no-shutdown': { type: 'boolean', description: 'Do not send FIN at the end of stdin (keep the connection until the peer closes)' },
  zero: { type: 'boolean', short: 'z', description: 'Port scan: connect to each port of "host PORTS" (20-30,80,443), report the open ones on stderr, send nothing' },
  output: { type: 'string', short: 'o', placeholder: 'file', description: 'Write every byte sent and received to this file' },
  'hex-dump': { type: 'string', short: 'x', placeholder: 'file', description: 'Write every chunk sent and received to this file as a hex dump (ncat\'s layout)' },
  'append-output': { type: 'boolean', description: 'Add to the -o/-x files instead of replacing them' },
  allow: { type: 'string', placeholder: 'list', description: 'Listen mode: only these addresses or CIDR ranges may connect (comma-separated)' },
  allowfile: { type: 'string', placeholder: 'file', description: 'Same, one entry per line, from a file' },
  deny: { type: 'string', placeholder: 'list', description: 'Listen mode: never these addresses or CIDR ranges' },
  denyfile: { type: 'string', placeholder: 'file', description: 'Same, from a file' },
  ssl: { type: 'boolean', description: 'TLS. Connect: not verified unless --ssl-verify, --ssl-trustfile or --fingerprint. Listen: self-signed unless --ssl-cert/--ssl-key' },
  'ssl-cert': { type: 'string', placeholder: 'file', description: 'TLS certificate (PEM)' },
  'ssl-key': { type: 'string', placeholder: 'file', description: 'TLS private key (PEM)' },
  'ssl-verify': { type: 'boolean', description: 'Connect mode: verify the server\'s certificate and name' },
  'ssl-trustfile': { type: 'string', placeholder: 'file', description: 'Connect mode: trust these CA certificates (PEM) as well; implies --ssl-verify' },
  'ssl-servername': { type: 'string', placeholder: 'name', description: 'Connect mode: the name sent in SNI and checked' },
  'ssl-alpn': { type: 'string', placeholder: 'list', description: 'ALPN protocols, comma-separated in order of preference (h2,http/1.1): offered when connecting, accepted with -l; -v prints the one agreed' },
  fingerprint: { type: 'string', placeholder: 'sha256:…', description: 'Connect mode: accept only the certificate with this SHA-256 fingerprint' },
  proxy: { type: 'string', placeholder: 'host[:port]', description: 'Connect through this proxy (default port 1080 for SOCKS, 3128 for HTTP)' },
  'proxy-type': { type: 'string', choices: ['http', 'socks4', 'socks5'], placeholder: 'type', description: 'Proxy protocol (connect mode; default http, as ncat); with -l: http runs an HTTP proxy server' },
  'proxy-auth': { type: 'string', placeholder: 'user:pass', description: 'Proxy credentials (HTTP: Basic or Digest, whichever the proxy asks for; SOCKS5 user/password; SOCKS4 user id); or the NCAT_PROXY_AUTH variable' },
  'proxy-dns': { type: 'string', choices: ['local', 'remote', 'both', 'none'], placeholder: 'where', description: 'Who resolves the target name: us, the proxy, us then the proxy, nobody (default: remote; socks4: local)' },
  test: { type: 'boolean', description: 'Print "NCAT TEST: LISTEN" on stderr once listening (for ncat\'s test suite)' },
  verbose: { type: 'boolean', short: 'v', description: 'Diagnostics on stderr; -vv, -vvv for more' },
} as const satisfies Record<string, OptionSpec>;

/** Short flags that take no value, which may be grouped (`-lvk`). */
const GROUPABLE = new Set(['l', 'k', 'u', 'U', '4', '6', 'n', 'N', 'z', 'C', 'v']);

/**
 * Counts `-v`, `-vv`, `-vvv`, `--verbose` (also inside groups like `-lvk`) and returns the arguments without them,
 * since the shared parser keeps one value per flag.
 * @example countVerbose(['-lvv', '80']) // { verbose: 2, rest: ['-l', '80'] }
 */
export function countVerbose(argv: readonly string[]): { verbose: number; rest: string[] } {
  let verbose = 0;
  const rest: string[] = [];
  for (const arg of argv) {
    if (arg === '--verbose') {
      verbose++;
      continue;
    }
    if (/^-[^-]/.test(arg) && [...arg.slice(1)].every((c) => GROUPABLE.has(c)) && arg.includes('v')) {
      verbose += [...arg].filter((c) => c === 'v').length;
      const others = arg.slice(1).replaceAll('v', '');
      if (others !== '') rest.push(`-${others}`);
      continue;
    }
    rest.push(arg);
  }
  return { verbose, rest };
}
