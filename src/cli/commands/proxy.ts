import { formatEndpoint, type Endpoint } from '../../address.js';
import { startTcpProxy, type FaultDirection, type TcpProxy, type TcpProxyEvent } from '../../proxy/tcp-proxy.js';
import { startUdpProxy } from '../../proxy/udp-proxy.js';
import { DASHBOARD_FLAG, parseDashboardAddress, serveDashboard } from '../../dashboard/cli.js';
import { proxySetSource, tcpProxySource, udpProxySource, type FaultSettings } from '../../dashboard/sources/proxy.js';
import type { DashboardSource } from '../../dashboard/source.js';
import { defineCommand, targetFrom, untilAborted, usageError } from '../command.js';
import { JSON_FLAG, openTracer, TRACE_FLAGS, UNIX_FLAG, unixPathFrom } from '../flags/output.js';
import { EventOutput, streamAddress } from '../json-events.js';
import { readFile } from 'node:fs/promises';
import { parseScenario, runScenario, type ScenarioStep } from '../../proxy/scenario.js';
import { startProxyService, withApiDefault } from './_proxy-service.js';
import { reportCertificate, reportTlsFailure, TLS_CLIENT_FLAGS, TLS_SERVER_FLAGS, tlsClientFrom, tlsServerFrom } from '../tls-flags.js';

/** Reports a proxy's event; `proxy` names it when there are several (--api, --config). */
function reportTcpEvent(out: EventOutput, event: TcpProxyEvent, proxy?: TcpProxy): void {
  const tag = proxy ? `[${proxy.name}] ` : '';
  const named = proxy ? { proxy: proxy.name } : {};
  switch (event.type) {
    case 'open':
      return out.event('connected', { id: event.id, peer: event.client }, `${tag}#${event.id} ${formatEndpoint(event.client)} connected`);
    case 'upstream-failed':
      return out.event('upstream-failed', { id: event.id, message: event.message }, `${tag}#${event.id} cannot reach the target: ${event.message}`);
    case 'reset':
      return out.event('fault', { id: event.id, kind: 'reset', why: event.why, ...named }, `${tag}#${event.id} reset (${event.why})`);
    case 'fault':
      // A reset toxic that fires is reported as the reset itself.
      if (event.kind === 'reset_peer' || event.kind === 'reset_after') return;
      return out.event('fault', { id: event.id, kind: event.kind, why: event.why, toxic: event.toxic, stream: event.stream, ...named }, `${tag}#${event.id} ${event.toxic}: ${event.why}`);
    case 'close':
      return out.event('closed', { id: event.id, reason: 'closed', bytesUp: event.up, bytesDown: event.down }, `${tag}#${event.id} closed: ${event.up} bytes up, ${event.down} bytes down`);
    case 'tls-failed':
      return reportTlsFailure(out, event.client, event.code, event.message);
  }
}

/** A probability typed as a percentage or a fraction: "10%" or "0.1". */
function parseProbability(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (text.trim() === '' || !(value >= 0 && value <= 1)) throw usageError(`Option '--${name}' must be a fraction from 0 to 1 or a percentage; got '${text}'`);
  return value;
}

const command = defineCommand({
  name: 'proxy',
  summary: 'Fault-injecting TCP/UDP proxy',
  description: [
    'Listens on --port and relays to the target, adding faults, to see how clients and servers cope with a',
    'bad network without leaving your laptop. With no fault flags it is a plain relay. Toxiproxy is the model.',
    '',
    'TCP faults: --latency-ms and --jitter-ms (data never overtakes itself), --bandwidth (bytes/s each way),',
    '--slice (cut the stream into segments of n bytes; the far side sees many small reads), --reset-after-ms',
    'and --reset-after-bytes (RST both sides), --slow-close-ms (hold each FIN), --black-hole (accept, answer',
    'nothing, closing when the client does). --direction up|down|both picks which way they apply. Each',
    'becomes a toxic (toxiproxy\'s word for a fault) on the proxy named "default".',
    '',
    'Toxiproxy\'s API: --api [host:]port (127.0.0.1:8474 without a value; loopback unless a host is written',
    'out) serves toxiproxy\'s HTTP API, so its clients (toxiproxy-node-client, toxiproxy-cli, the Go, Ruby',
    'and Python clients, testcontainers) create proxies and add, change and remove toxics on live connections',
    '(latency, bandwidth, slicer, timeout, reset_peer, limit_data, slow_close; socklab adds message toxics',
    'on framed streams, UDP proxies with drop/duplicate/reorder, TLS per proxy). With --api and no target it',
    'starts with no proxies, as toxiproxy-server does. --config FILE creates the proxies of a toxiproxy',
    'populate file (a JSON array of {name, listen, upstream}). See docs/toxiproxy-compat.md. --scenario FILE',
    'plays a timeline, one step a line or split by ";": at <time> [on <proxy>] add <toxic> [upstream|downstream]',
    '[toxicity P] [200ms] [key=value] [name=N] | update <name> key=value | remove <name> | heal | disable | enable.',
    '',
    'UDP faults (--udp): --drop, --duplicate and --reorder (fractions or percentages), --latency-ms and',
    '--jitter-ms, applied both ways (client to server and the replies) unless --direction up|down says. Every random',
    'choice comes from --seed (printed when not given), so a run can be replayed.',
    '',
    'UNIX sockets: --unix PATH listens on one, --upstream-unix PATH relays to one (so a TCP port can front a',
    'socket file, or the reverse). --hex dumps what passes (< from the client, > from the target) to stderr,',
    '--log FILE writes it to a file; --json prints events (connected, fault, closed) as JSON lines.',
    '',
    'TLS: --tls terminates TLS (clients speak TLS to the proxy, the target gets plaintext; --cert/--key or a',
    'self-signed certificate), --upstream-tls originates it (the target is a TLS server, verified with --ca,',
    '--servername, --fingerprint, or not at all with --insecure). Both together re-encrypt, so the faults',
    'apply to the plaintext in between.',
  ].join('\n'),
  positionals: [
    { name: 'host', description: 'Target: the server to relay to (default: 127.0.0.1)' },
    { name: 'port', description: "Target's port (or --target-port)" },
  ],
  options: {
    port: { type: 'number', short: 'p', default: 0, max: 65_535, description: 'Port to listen on; 0 picks a free one (printed)' },
    host: { type: 'string', default: '127.0.0.1', placeholder: 'addr', description: 'Address to listen on' },
    'target-port': { type: 'number', max: 65_535, description: 'Target port, instead of the second argument' },
    udp: { type: 'boolean', short: 'u', description: 'Relay UDP datagrams instead of TCP' },
    'latency-ms': { type: 'number', default: 0, description: 'Delay added each way' },
    'jitter-ms': { type: 'number', default: 0, description: 'Random extra delay, up to this much either side of the latency' },
    bandwidth: { type: 'number', min: 1, placeholder: 'bytes/s', description: 'TCP: bytes per second each way, per connection' },
    slice: { type: 'number', min: 1, placeholder: 'bytes', description: 'TCP: forward in segments of at most this many bytes' },
    'slice-delay-ms': { type: 'number', default: 1, description: 'TCP: pause between segments' },
    'reset-after-ms': { type: 'number', description: 'TCP: reset each connection this long after it opened' },
    'reset-after-bytes': { type: 'number', description: 'TCP: pass exactly this many bytes, then reset the connection' },
    'slow-close-ms': { type: 'number', default: 0, description: 'TCP: hold each FIN this long' },
    'black-hole': { type: 'boolean', description: 'TCP: accept connections, pass nothing (a hung server); closes when the client does' },
    direction: { type: 'string', default: 'both', choices: ['both', 'up', 'down'], description: 'Which way the faults apply (up = client to server), TCP and UDP' },
    drop: { type: 'string', placeholder: 'p', description: 'UDP: chance to drop a datagram (e.g. 10% or 0.1)' },
    duplicate: { type: 'string', placeholder: 'p', description: 'UDP: chance to deliver a datagram twice' },
    reorder: { type: 'string', placeholder: 'p', description: 'UDP: chance to hold a datagram back behind the next' },
    seed: { type: 'number', description: 'Seed for random faults: jitter, toxicity, slice sizes, UDP fates (default: random, printed)' },
    api: { type: 'string', placeholder: '[host:]port', description: `Serve toxiproxy's HTTP API here (without a value: 127.0.0.1:8474)` },
    config: { type: 'string', placeholder: 'file', description: 'Create the proxies of a toxiproxy populate file (JSON)' },
    scenario: { type: 'string', placeholder: 'file', description: 'TCP: play a timeline of toxic changes on the proxy ("at 5s add latency 200ms downstream")' },
    quiet: { type: 'boolean', short: 'q', description: 'Do not log each connection' },
    dashboard: DASHBOARD_FLAG,
    ...UNIX_FLAG,
    'upstream-unix': { type: 'string', placeholder: 'path', description: 'TCP: relay to the UNIX domain socket at this path instead of host and port' },
    ...TRACE_FLAGS,
    ...JSON_FLAG,
    ...TLS_SERVER_FLAGS,
    ...TLS_CLIENT_FLAGS,
    tls: { type: 'boolean', description: 'TCP: terminate TLS (clients connect with TLS; --cert/--key or a self-signed certificate)' },
    'upstream-tls': { type: 'boolean', description: 'TCP: connect to the target with TLS (verified: --ca, --servername, --fingerprint, or --insecure)' },
  },
  examples: [
    'socklab proxy localhost 12345 --port 9000 --latency-ms 100 --jitter-ms 20',
    'socklab proxy localhost 12345 --port 9000 --slice 1          # one byte per segment',
    'socklab proxy localhost 12345 --port 9000 --reset-after-bytes 100',
    'socklab proxy --udp localhost 12345 --port 9000 --drop 10% --duplicate 5% --reorder 5% --seed 1',
    'socklab proxy localhost 12345 --port 9000 --reset-after-ms 5000 --dashboard 9001',
    'socklab proxy --port 9000 --upstream-unix /var/run/app.sock --hex   # watch a socket-file protocol',
    'socklab proxy localhost 12345 --port 9443 --tls                 # TLS in front of a plaintext server',
    'socklab proxy example.test 443 --port 9000 --upstream-tls --latency-ms 50',
    'socklab proxy --api                                # toxiproxy-server on 127.0.0.1:8474, no proxies yet',
    'socklab proxy --api 8474 --config proxies.json     # toxiproxy-server -config proxies.json',
    'socklab proxy localhost 6379 --port 26379 --api    # a "default" proxy to redis, and the API to change it',
    'socklab proxy localhost 6379 --port 26379 --scenario outage.txt   # "at 5s add timeout downstream; at 15s heal"',
  ],
  async run({ values, positionals }, io) {
    const out = new EventOutput(io, values.json === true);
    const path = unixPathFrom(values.unix);
    const upstreamPath = unixPathFrom(values['upstream-unix']);
    if (values.udp && (path !== undefined || upstreamPath !== undefined)) throw usageError('UNIX sockets (--unix, --upstream-unix) are stream sockets: not with --udp');
    if (upstreamPath !== undefined && positionals.length > 0) throw usageError("Give the target as host and port, or as --upstream-unix, not both");
    const target = targetFrom(positionals, values['target-port'] ?? Number.NaN, '127.0.0.1');
    const service = values.api !== undefined || values.config !== undefined;
    if (values.udp && service) throw usageError("Options '--api' and '--config' run TCP proxies: not with --udp");
    const noTarget = Number.isNaN(target.port) && upstreamPath === undefined;
    if (values.udp && values.scenario !== undefined) throw usageError("Option '--scenario' changes TCP toxics: not with --udp");
    if (noTarget && values.scenario !== undefined && !service) throw usageError("Option '--scenario' plays on a proxy: give a target, or --api / --config (then steps say 'on NAME')");
    const scenarioEarly = noTarget && values.scenario !== undefined ? parseScenario(await readScenario(values.scenario)) : undefined;
    if (noTarget && service) return runService(values, io, out, undefined, undefined, scenarioEarly);
    if (noTarget) throw usageError('Which target? Give its port: socklab proxy <host> <port>, or --target-port, or --upstream-unix (or --api to start with none)');
    const common = { host: values.host, port: values.port, targetHost: target.host, targetPort: target.port, latencyMs: values['latency-ms'], jitterMs: values['jitter-ms'], ...(values.seed === undefined ? {} : { seed: values.seed }) };
    const targetText = upstreamPath ?? `${target.host}:${target.port}`;
    if (values.dashboard !== undefined) parseDashboardAddress(values.dashboard);
    const tls = tlsServerFrom(values);
    const upstreamTls = tlsClientFrom({ ...values, tls: values['upstream-tls'] }, io.stderr, 'upstream-tls');
    if (values.udp && (tls || upstreamTls)) throw usageError("Options '--tls' and '--upstream-tls' are for TCP");
    if (upstreamPath !== undefined && upstreamTls) throw usageError("Options '--upstream-unix' and '--upstream-tls' do not combine: TLS to a socket file has no host name to verify");
    const faults = faultSettings(values);
    const scenario = values.scenario === undefined ? undefined : parseScenario(await readScenario(values.scenario));
    const watch = async (source: DashboardSource, proxy: { close(): Promise<void> }) =>
      values.dashboard === undefined ? undefined : serveDashboard(values.dashboard, source, (line) => out.say(line), (line) => out.note(line), () => proxy.close());
    if (values.udp) {
      const proxy = await startUdpProxy({
        ...common,
        ...withDefined({ drop: parseProbability('drop', values.drop), duplicate: parseProbability('duplicate', values.duplicate), reorder: parseProbability('reorder', values.reorder) }),
        direction: values.direction as FaultDirection,
      });
      out.event('listening', { address: proxy.address(), protocol: 'udp', target: targetText, seed: proxy.seed }, `listening on udp ${formatEndpoint(proxy.address())}, proxying to ${targetText} (seed ${proxy.seed})`);
      const dashboard = await watch(udpProxySource(proxy, faults), proxy);
      await untilAborted(io.signal);
      await Promise.all([proxy.close(), dashboard?.close()]);
      const { forwarded, dropped, duplicated, reordered, sessions } = proxy.stats;
      out.event('stopped', { totals: { ...proxy.stats } }, `stopped: ${sessions} clients, ${forwarded} forwarded, ${dropped} dropped, ${duplicated} duplicated, ${reordered} reordered`);
      return 0;
    }
    const trace = openTracer(values, io);
    const proxy = await startTcpProxy({
      ...common,
      ...(path === undefined ? {} : { path }),
      ...(upstreamPath === undefined ? {} : { targetPath: upstreamPath }),
      ...(trace.tracer.enabled ? { onChunk: (_id: number, client: Endpoint, direction: 'up' | 'down', offset: number, chunk: Buffer) => trace.tracer.record(direction === 'up' ? 'in' : 'out', client, offset, chunk) } : {}),
      ...withDefined({
        bandwidthBytesPerSec: values.bandwidth,
        sliceBytes: values.slice,
        resetAfterMs: values['reset-after-ms'],
        resetAfterBytes: values['reset-after-bytes'],
      }),
      sliceDelayMs: values['slice-delay-ms'],
      slowCloseMs: values['slow-close-ms'],
      blackHole: values['black-hole'] === true,
      direction: values.direction as FaultDirection,
      ...(tls ? { tls } : {}),
      ...(upstreamTls ? { upstreamTls } : {}),
    });
    if (proxy.certificate) reportCertificate(out, proxy.certificate, tls?.cert === undefined);
    if (service) return runService(values, io, out, proxy, trace.close, scenario);
    const play = (): Promise<void> | undefined => scenario && playScenario(proxy, scenario, out, io.signal);
    if (!values.quiet) proxy.on('event', (event) => reportTcpEvent(out, event));
    const address = proxy.address();
    out.event('listening', { ...streamAddress(address), target: targetText, seed: proxy.seed }, `listening on ${formatEndpoint(address)}, proxying to ${targetText} (seed ${proxy.seed})`);
    const playing = play();
    const dashboard = await watch(tcpProxySource(proxy, faults), proxy);
    await untilAborted(io.signal);
    await playing;
    await Promise.all([proxy.close(), dashboard?.close()]);
    await trace.close();
    const { connections, bytesUp, bytesDown, resets } = proxy.stats;
    out.event('stopped', { totals: { ...proxy.stats } }, `stopped: ${connections} connections, ${bytesUp} bytes up, ${bytesDown} bytes down, ${resets} resets`);
    return 0;
  },
});

async function readScenario(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw usageError(`Cannot read --scenario ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
}

/** Plays `--scenario` in the background, one `scenario` event per step. */
function playScenario(proxy: Parameters<typeof runScenario>[0], steps: ScenarioStep[], out: EventOutput, signal: AbortSignal): Promise<void> {
  return runScenario(proxy, steps, {
    signal,
    onStep: (step, error) =>
      out.event('scenario', { atMs: step.atMs, step: step.text, ...(error ? { error: error.message } : {}) }, `scenario at ${step.atMs} ms: ${step.text}${error ? ` failed: ${error.message}` : ''}`),
  });
}

/** `--api` / `--config`: named proxies the toxiproxy way, the command line's one (if any) named "default". */
async function runService(values: { api?: string | undefined; config?: string | undefined; seed?: number | undefined; quiet?: boolean | undefined; dashboard?: string | undefined }, io: Parameters<Parameters<typeof defineCommand>[0]['run']>[1], out: EventOutput, defaultProxy: TcpProxy | undefined, closeTrace?: () => Promise<void>, scenario?: ScenarioStep[]): Promise<number> {
  const service = await startProxyService({ api: values.api, config: values.config, seed: values.seed, defaultProxy, quiet: values.quiet === true }, out, (event, proxy) => reportTcpEvent(out, event, proxy));
  const dashboard = values.dashboard === undefined ? undefined : await serveDashboard(values.dashboard, proxySetSource(service.proxies), (line) => out.say(line), (line) => out.note(line), () => service.close());
  // Steps without `on NAME` are for the proxy named "default" (the command line's, if there is one).
  const playing = scenario && playScenario((name) => service.proxies.get(name ?? 'default'), scenario, out, io.signal);
  await untilAborted(io.signal);
  await playing;
  await dashboard?.close();
  const totals = service.proxies.all().map((proxy) => ({ name: proxy.name, ...proxy.stats }));
  await service.close();
  await closeTrace?.();
  out.event('stopped', { totals: { proxies: totals } }, `stopped: ${totals.map((t) => ('connections' in t ? `${t.name} ${t.connections} connections, ${t.resets} resets` : `${t.name} (udp) ${t.sessions} clients, ${t.dropped} dropped`)).join('; ') || 'no proxies'}`);
  return 0;
}

/** The fault flags given (non-default), for the dashboard's "faults configured" table. */
function faultSettings(values: Record<string, unknown>): FaultSettings {
  const names = values.udp
    ? ['latency-ms', 'jitter-ms', 'drop', 'duplicate', 'reorder', 'direction']
    : ['latency-ms', 'jitter-ms', 'bandwidth', 'slice', 'reset-after-ms', 'reset-after-bytes', 'slow-close-ms', 'black-hole', 'direction'];
  const given: FaultSettings = {};
  for (const name of names) {
    const value = values[name];
    if (value === undefined || value === 0 || value === false || (name === 'direction' && value === 'both')) continue;
    given[name] = typeof value === 'number' ? value : String(value);
  }
  return given;
}

/** Drops undefined values, so unset flags leave the library's defaults alone. */
function withDefined<T extends Record<string, unknown>>(values: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<{ [K in keyof T]: Exclude<T[K], undefined> }>;
}

/** The command, its `--api` allowed without a value. */
export default { ...command, parse: (argv: string[]) => command.parse(withApiDefault(argv)) };
