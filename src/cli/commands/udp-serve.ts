import { formatEndpoint } from '../../address.js';
import { startCounterServer, type CounterEvent, type CounterStats, type DropReason } from '../../apps/counter-server.js';
import { DASHBOARD_FLAG, parseDashboardAddress, serveDashboard } from '../../dashboard/cli.js';
import { counterServerSource } from '../../dashboard/sources/udp-server.js';
import { DEFAULTS } from '../../options.js';
import { accessLists, defineCommand, usageError } from '../command.js';
import { JSON_FLAG } from '../flags/output.js';
import { EventOutput } from '../json-events.js';
import { runScaled, SCALE_OPTIONS, STATE_FILE_OPTIONS } from '../scale.js';

const DROP_REASONS: Record<DropReason, string> = {
  empty: 'empty datagram',
  oversized: 'too big for a request (--max-request-bytes)',
  malformed: 'not a get',
  denied: 'address not allowed',
  'rate-limited': 'source over its rate limit (--rate-limit)',
  amplification: 'reply would exceed --max-amplification times the request',
  overloaded: 'too many replies pending (--max-pending)',
  'backend-unavailable': 'shared state unreachable, no value to give (never invented)',
};

function formatCounterEvent(event: CounterEvent): string {
  switch (event.type) {
    case 'request':
      return `got ${JSON.stringify(event.text)} from ${formatEndpoint(event.from)}${event.retry ? ' (retry: same value)' : ''}`;
    case 'reply':
      return `sending ${event.id === undefined ? '' : `${event.id} `}${event.value} to ${formatEndpoint(event.to)}`;
    case 'dropped':
      return `dropped ${event.bytes} bytes from ${formatEndpoint(event.from)}: ${DROP_REASONS[event.reason]}`;
    case 'backend':
      return event.status === 'down'
        ? `shared state ${event.location} unreachable (${event.reason ?? 'unknown'}): gets are dropped, not answered, until it is back`
        : `shared state ${event.location} ${event.status === 'up' ? 'reachable again' : 'closed'}`;
  }
}

/** The counter server's events by their `--json` names (docs/json-events.md). */
const COUNTER_EVENT_NAMES = { request: 'get', reply: 'reply', dropped: 'drop', backend: 'backend' } as const;

function counterEventFields(event: CounterEvent): Record<string, unknown> {
  const { type: _type, ...fields } = event;
  return fields;
}

export default defineCommand({
  name: 'udp-serve',
  summary: 'UDP counter server',
  description: [
    "The seed's udp_server.py: each \"get\" datagram takes the next counter value and is answered with it after",
    '--delay-ms, to the address it came from. A trailing newline is accepted (ncat -u, socat) and echoed in the',
    'reply. Serves any number of senders at once.',
    '',
    '"get <id>" (id: 1-32 letters, digits, . _ -) is answered "<id> <value>", and a retry of the same id from the',
    'same address and port gets the same value again: socklab udp-client --retries uses this.',
    '',
    'Dropped and counted, never answered: empty, oversized and malformed datagrams, addresses refused by',
    '--allow/--deny, sources over --rate-limit, replies that would be more than --max-amplification times',
    'their request (so the server cannot amplify a spoofed flood), and gets beyond --max-pending.',
    '',
    'One counter for many servers:',
    '  --workers N   N processes on this machine share the port; the primary hands out the values',
    '  --redis URL   every instance on this Redis shares one counter (INCRBY, one round trip per batch of gets).',
    '                If Redis goes away, gets are dropped and counted, never answered with an invented value.',
    '  --state FILE  the counter survives restarts, kill -9 included: values are reserved in blocks of',
    '                --state-block-size, each written and fsynced before use; a restart skips the rest of a block.',
    'Values are unique across all instances; a client that waits for each reply before its next get sees them',
    'increase.',
  ].join('\n'),
  positionals: [],
  options: {
    host: { type: 'string', default: '127.0.0.1', placeholder: 'addr', description: 'Address to bind' },
    port: { type: 'number', short: 'p', default: 12345, max: 65_535, description: 'Port; 0 picks a free one (printed)' },
    'delay-ms': { type: 'number', default: DEFAULTS.replyDelayMs, description: 'Wait before each reply' },
    'max-pending': { type: 'number', default: DEFAULTS.maxPendingReplies, min: 1, description: 'Replies waiting at once; more gets are dropped' },
    'receive-buffer-bytes': { type: 'number', default: DEFAULTS.udpReceiveBufferBytes, min: 1, description: 'SO_RCVBUF to ask for (capped by net.core.rmem_max)' },
    'max-request-bytes': { type: 'number', default: DEFAULTS.maxRequestBytes, min: 3, description: 'Bigger datagrams are dropped' },
    'max-amplification': { type: 'number', default: DEFAULTS.maxAmplification, min: 1, allowInfinity: true, description: 'A reply is at most this many times its request' },
    'rate-limit': { type: 'number', default: DEFAULTS.maxRequestsPerSecondPerSource, min: 1, allowInfinity: true, description: 'Requests per second answered per source address' },
    allow: { type: 'string', placeholder: 'list', description: 'Only these addresses/CIDR ranges are answered, comma-separated' },
    deny: { type: 'string', placeholder: 'list', description: 'These addresses/CIDR ranges are never answered, comma-separated' },
    quiet: { type: 'boolean', short: 'q', description: 'Do not log each datagram' },
    ...SCALE_OPTIONS,
    ...STATE_FILE_OPTIONS,
    dashboard: DASHBOARD_FLAG,
    ...JSON_FLAG,
  },
  examples: [
    'socklab udp-serve',
    'socklab udp-serve --port 0 --delay-ms 0',
    'echo get | ncat -u localhost 12345',
    'socklab udp-serve --workers 2 --state /var/lib/socklab/counter',
    'socklab udp-serve --redis redis://10.0.0.5:6379/0   # run it on several machines: one counter',
    'socklab udp-serve --dashboard 9000   # gets/s, pending replies, drops: http://127.0.0.1:9000/',
  ],
  async run({ values }, io) {
    if (values.dashboard !== undefined) {
      parseDashboardAddress(values.dashboard);
      if (values.workers > 1) {
        throw usageError("Option '--dashboard' watches one process; with '--workers' each worker is a process of its own");
      }
    }
    const out = new EventOutput(io, values.json === true);
    return runScaled({
      values: { workers: values.workers, redis: values.redis, state: values.state, 'state-block-size': values['state-block-size'] },
      io,
      start: async (state) => {
        const server = await startCounterServer({
          host: values.host,
          port: values.port,
          delayMs: values['delay-ms'],
          maxPendingReplies: values['max-pending'],
          receiveBufferBytes: values['receive-buffer-bytes'],
          maxRequestBytes: values['max-request-bytes'],
          maxAmplification: values['max-amplification'],
          maxRequestsPerSecondPerSource: values['rate-limit'],
          ...accessLists(values.allow, values.deny),
          state,
          logMessages: !values.quiet,
          onEvent: out.json
            ? (event) => out.event(COUNTER_EVENT_NAMES[event.type], counterEventFields(event), formatCounterEvent(event))
            : (event) => (event.type === 'backend' ? out.note(formatCounterEvent(event)) : out.say(formatCounterEvent(event))),
        });
        const dashboard =
          values.dashboard === undefined
            ? undefined
            : await serveDashboard(values.dashboard, counterServerSource(server), (line) => out.say(line), (line) => out.note(line), () => server.close());
        return {
          address: server.address(),
          totals: () => pickStats(server.stats),
          close: async () => {
            await Promise.all([server.close(), dashboard?.close()]);
          },
        };
      },
      onListening: (address, workers) =>
        out.event('listening', { address, protocol: 'udp', ...(workers > 1 ? { workers } : {}) }, `listening on udp ${formatEndpoint(address)}${workers > 1 ? ` (${workers} workers)` : ''}`),
      onStopped: (totals) => out.event('stopped', { totals }, stoppedLine(totals)),
    });
  },
});

function pickStats(stats: CounterStats): Record<string, number> {
  const { gets, ignored, overloaded, dropped, retries, empty, oversized, malformed, denied, rateLimited, amplificationLimited, backendUnavailable, peakPending } = stats;
  return { gets, ignored, overloaded, dropped, retries, empty, oversized, malformed, denied, rateLimited, amplificationLimited, backendUnavailable, peakPending };
}

function stoppedLine(t: Record<string, number>): string {
  const n = (name: string): number => t[name] ?? 0;
  const details = Object.entries({
    retries: n('retries'),
    empty: n('empty'),
    oversized: n('oversized'),
    malformed: n('malformed'),
    denied: n('denied'),
    'rate-limited': n('rateLimited'),
    amplification: n('amplificationLimited'),
    overloaded: n('overloaded'),
    'backend unavailable': n('backendUnavailable'),
  })
    .filter(([, value]) => value > 0)
    .map(([name, value]) => `${name} ${value}`);
  if (n('overloaded') > 0) details.push(`peak pending ${n('peakPending')}`);
  const droppedTotal = n('overloaded') + n('dropped') + n('denied') + n('rateLimited') + n('amplificationLimited') + n('backendUnavailable');
  return `stopped: ${n('gets')} gets answered, ${n('ignored')} ignored, ${droppedTotal} dropped${details.length ? ` (${details.join(', ')})` : ''}`;
}
