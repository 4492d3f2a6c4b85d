import { formatEndpoint } from '../../address.js';
import { startTcpProxy, type FaultDirection, type TcpProxyEvent } from '../../proxy/tcp-proxy.js';
import { startUdpProxy } from '../../proxy/udp-proxy.js';
import { defineCommand, println, targetFrom, untilAborted, usageError } from '../command.js';
import { LogWriter } from '../log-writer.js';

function formatTcpEvent(event: TcpProxyEvent): string {
  switch (event.type) {
    case 'open':
      return `#${event.id} ${formatEndpoint(event.client)} connected`;
    case 'upstream-failed':
      return `#${event.id} cannot reach the target: ${event.message}`;
    case 'reset':
      return `#${event.id} reset (${event.why})`;
    case 'close':
      return `#${event.id} closed: ${event.up} bytes up, ${event.down} bytes down`;
  }
}

/** A probability typed as a percentage or a fraction: "10%" or "0.1". */
function parseProbability(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (text.trim() === '' || !(value >= 0 && value <= 1)) throw usageError(`Option '--${name}' must be a fraction from 0 to 1 or a percentage; got '${text}'`);
  return value;
}

export default defineCommand({
  name: 'proxy',
  summary: 'Fault-injecting TCP/UDP proxy',
  description: [
    'Listens on --port and relays to the target, adding faults, to see how clients and servers cope with a',
    'bad network without leaving your laptop. With no fault flags it is a plain relay. Toxiproxy is the model.',
    '',
    'TCP faults: --latency-ms and --jitter-ms (data never overtakes itself), --bandwidth (bytes/s each way),',
    '--slice (cut the stream into segments of n bytes; the far side sees many small reads), --reset-after-ms',
    'and --reset-after-bytes (RST both sides), --slow-close-ms (hold each FIN), --black-hole (accept, answer',
    'nothing). --direction up|down|both picks which way latency, bandwidth, slices and byte counts apply.',
    '',
    'UDP faults (--udp): --drop, --duplicate and --reorder (fractions or percentages), --latency-ms and',
    '--jitter-ms. Every random choice comes from --seed (printed when not given), so a run can be replayed.',
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
    'reset-after-bytes': { type: 'number', description: 'TCP: reset each connection after this many bytes' },
    'slow-close-ms': { type: 'number', default: 0, description: 'TCP: hold each FIN this long' },
    'black-hole': { type: 'boolean', description: 'TCP: accept connections but never answer (a hung server)' },
    direction: { type: 'string', default: 'both', choices: ['both', 'up', 'down'], description: 'TCP: which way the faults apply (up = client to server)' },
    drop: { type: 'string', placeholder: 'p', description: 'UDP: chance to drop a datagram (e.g. 10% or 0.1)' },
    duplicate: { type: 'string', placeholder: 'p', description: 'UDP: chance to deliver a datagram twice' },
    reorder: { type: 'string', placeholder: 'p', description: 'UDP: chance to hold a datagram back behind the next' },
    seed: { type: 'number', description: 'Seed for random faults (default: random, printed)' },
    quiet: { type: 'boolean', short: 'q', description: 'Do not log each connection' },
  },
  examples: [
    'socklab proxy localhost 12345 --port 9000 --latency-ms 100 --jitter-ms 20',
    'socklab proxy localhost 12345 --port 9000 --slice 1          # one byte per segment',
    'socklab proxy localhost 12345 --port 9000 --reset-after-bytes 100',
    'socklab proxy --udp localhost 12345 --port 9000 --drop 10% --duplicate 5% --reorder 5% --seed 1',
  ],
  async run({ values, positionals }, io) {
    const target = targetFrom(positionals, values['target-port'] ?? Number.NaN, '127.0.0.1');
    if (Number.isNaN(target.port)) throw usageError('Which target? Give its port: socklab proxy <host> <port>, or --target-port');
    const common = { host: values.host, port: values.port, targetHost: target.host, targetPort: target.port, latencyMs: values['latency-ms'], jitterMs: values['jitter-ms'], ...(values.seed === undefined ? {} : { seed: values.seed }) };
    const targetText = `${target.host}:${target.port}`;
    if (values.udp) {
      const proxy = await startUdpProxy({
        ...common,
        ...withDefined({ drop: parseProbability('drop', values.drop), duplicate: parseProbability('duplicate', values.duplicate), reorder: parseProbability('reorder', values.reorder) }),
      });
      println(io.stdout, `listening on udp ${formatEndpoint(proxy.address())}, proxying to ${targetText} (seed ${proxy.seed})`);
      await untilAborted(io.signal);
      await proxy.close();
      const { forwarded, dropped, duplicated, reordered, sessions } = proxy.stats;
      println(io.stdout, `stopped: ${sessions} clients, ${forwarded} forwarded, ${dropped} dropped, ${duplicated} duplicated, ${reordered} reordered`);
      return 0;
    }
    const proxy = await startTcpProxy({
      ...common,
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
    });
    const log = new LogWriter(io.stdout);
    if (!values.quiet) proxy.on('event', (event) => log.line(formatTcpEvent(event)));
    println(io.stdout, `listening on ${formatEndpoint(proxy.address())}, proxying to ${targetText} (seed ${proxy.seed})`);
    await untilAborted(io.signal);
    await proxy.close();
    await log.close();
    const { connections, bytesUp, bytesDown, resets } = proxy.stats;
    println(io.stdout, `stopped: ${connections} connections, ${bytesUp} bytes up, ${bytesDown} bytes down, ${resets} resets`);
    return 0;
  },
});

/** Drops undefined values, so unset flags leave the library's defaults alone. */
function withDefined<T extends Record<string, unknown>>(values: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined> }> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<{ [K in keyof T]: Exclude<T[K], undefined> }>;
}
