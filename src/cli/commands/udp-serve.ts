import { formatEndpoint } from '../../address.js';
import { startCounterServer, type CounterEvent, type DropReason } from '../../apps/counter-server.js';
import { DEFAULTS } from '../../options.js';
import { accessLists, defineCommand, println, untilAborted } from '../command.js';
import { LogWriter } from '../log-writer.js';

const DROP_REASONS: Record<DropReason, string> = {
  empty: 'empty datagram',
  oversized: 'too big for a request (--max-request-bytes)',
  malformed: 'not a get',
  denied: 'address not allowed',
  'rate-limited': 'source over its rate limit (--rate-limit)',
  amplification: 'reply would exceed --max-amplification times the request',
  overloaded: 'too many replies pending (--max-pending)',
};

function formatCounterEvent(event: CounterEvent): string {
  switch (event.type) {
    case 'request':
      return `got ${JSON.stringify(event.text)} from ${formatEndpoint(event.from)}${event.retry ? ' (retry: same value)' : ''}`;
    case 'reply':
      return `sending ${event.id === undefined ? '' : `${event.id} `}${event.value} to ${formatEndpoint(event.to)}`;
    case 'dropped':
      return `dropped ${event.bytes} bytes from ${formatEndpoint(event.from)}: ${DROP_REASONS[event.reason]}`;
  }
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
  },
  examples: ['socklab udp-serve', 'socklab udp-serve --port 0 --delay-ms 0', 'echo get | ncat -u localhost 12345'],
  async run({ values }, io) {
    const log = new LogWriter(io.stdout);
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
      logMessages: !values.quiet,
      onEvent: (event) => log.line(formatCounterEvent(event)),
    });
    println(io.stdout, `listening on udp ${formatEndpoint(server.address())}`);
    await untilAborted(io.signal);
    await server.close();
    await log.close();
    const { gets, ignored, overloaded, dropped, retries, empty, oversized, malformed, denied, rateLimited, amplificationLimited } = server.stats;
    const details = Object.entries({ retries, empty, oversized, malformed, denied, 'rate-limited': rateLimited, amplification: amplificationLimited, overloaded })
      .filter(([, n]) => n > 0)
      .map(([name, n]) => `${name} ${n}`);
    if (overloaded > 0) details.push(`peak pending ${server.stats.peakPending}`);
    println(
      io.stdout,
      `stopped: ${gets} gets answered, ${ignored} ignored, ${overloaded + dropped + denied + rateLimited + amplificationLimited} dropped${details.length ? ` (${details.join(', ')})` : ''}`,
    );
    return 0;
  },
});
