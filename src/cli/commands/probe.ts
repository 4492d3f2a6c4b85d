import { formatEndpoint } from '../../address.js';
import { resolveHost } from '../../dns.js';
import { DEFAULTS } from '../../options.js';
import { connectTcp } from '../../tcp/client.js';
import { defineCommand, HOST_AND_PORT, targetFrom } from '../command.js';
import { JSON_FLAG, UNIX_FLAG, unixPathFrom } from '../flags/output.js';
import { EventOutput } from '../json-events.js';

export default defineCommand({
  name: 'probe',
  summary: 'Resolve a host name and try a TCP connect',
  description: [
    "The seed's server.py: look the name up (as gethostbyname does), print the address, connect, report success.",
    'Each failure has its own message and code: a name that does not resolve (SL_ERR_RESOLVE), nothing',
    'listening (SL_ERR_CONNECT_REFUSED), no answer at all (SL_ERR_CONNECT_TIMEOUT). Exit code 0 on success, 1 otherwise.',
    '--unix PATH probes a UNIX domain socket instead: a stale file left by a dead server is "connection refused".',
  ].join('\n'),
  positionals: HOST_AND_PORT,
  options: {
    port: { type: 'number', short: 'p', default: 80, max: 65_535, description: 'TCP port to connect to' },
    'timeout-ms': { type: 'number', default: DEFAULTS.connectTimeoutMs, min: 1, description: 'Give up on a connect with no answer after this long' },
    ipv4: { type: 'boolean', short: '4', description: 'Use IPv4 addresses only' },
    ipv6: { type: 'boolean', short: '6', description: 'Use IPv6 addresses only' },
    ...UNIX_FLAG,
    ...JSON_FLAG,
  },
  examples: ['socklab probe --unix /run/socklab.sock  # is a server listening on this socket file?', 'socklab probe www.example.com', 'socklab probe localhost 12345', 'socklab probe ::1 --port 22 --timeout-ms 2000'],
  async run({ values, positionals }, io) {
    const { host, port } = targetFrom(positionals, values.port, 'localhost');
    const out = new EventOutput(io, values.json === true);
    const path = unixPathFrom(values.unix);
    if (path !== undefined) {
      // No name to resolve: a UNIX socket is found by its path.
      const started = performance.now();
      const conn = await connectTcp({ path, connectTimeoutMs: values['timeout-ms'], closeTimeoutMs: 1000, signal: io.signal });
      const elapsedMs = performance.now() - started;
      out.event('connected', { peer: conn.remote.address === '' ? { address: path, port: 0, family: 'unix' } : conn.remote, elapsedMs }, `connected to ${path} in ${elapsedMs.toFixed(1)} ms`);
      await conn.close();
      return 0;
    }
    const family = values.ipv4 ? 4 : values.ipv6 ? 6 : undefined;
    const resolved = await resolveHost(host, family === undefined ? {} : { family });
    out.event('resolved', { host, address: resolved.address, family: resolved.family }, `resolved ${host} to ${resolved.address} (${resolved.family})`);
    const started = performance.now();
    // A short close timeout: the probe only says goodbye (FIN, not RST) and does not wait long for the reply.
    const conn = await connectTcp({ host: resolved.address, port, connectTimeoutMs: values['timeout-ms'], closeTimeoutMs: 1000, signal: io.signal });
    const elapsedMs = performance.now() - started;
    out.event('connected', { host, peer: conn.remote, elapsedMs }, `connected to ${host} at ${formatEndpoint({ address: resolved.address, port })} in ${elapsedMs.toFixed(1)} ms`);
    await conn.close();
    return 0;
  },
});
