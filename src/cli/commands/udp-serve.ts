import { formatEndpoint } from '../../address.js';
import { startCounterServer, type CounterEvent } from '../../apps/counter-server.js';
import { DEFAULTS } from '../../options.js';
import { defineCommand, println, untilAborted } from '../command.js';

function formatCounterEvent(event: CounterEvent): string {
  switch (event.type) {
    case 'request':
      return `got ${JSON.stringify(event.text)} from ${formatEndpoint(event.from)}${event.accepted ? '' : ' (ignored)'}`;
    case 'reply':
      return `sending ${event.value} to ${formatEndpoint(event.to)}`;
    case 'overloaded':
      return `dropped a get from ${formatEndpoint(event.from)}: too many replies pending`;
  }
}

export default defineCommand({
  name: 'udp-serve',
  summary: 'UDP counter server',
  description: [
    "The seed's udp_server.py: each \"get\" datagram takes the next counter value and is answered with it after",
    '--delay-ms, to the address it came from. A trailing newline is accepted (ncat -u, socat) and echoed in the',
    'reply. Anything else is logged, ignored and counted. Serves any number of senders at once.',
  ].join('\n'),
  positionals: [],
  options: {
    host: { type: 'string', default: '127.0.0.1', placeholder: 'addr', description: 'Address to bind' },
    port: { type: 'number', short: 'p', default: 12345, max: 65_535, description: 'Port; 0 picks a free one (printed)' },
    'delay-ms': { type: 'number', default: DEFAULTS.replyDelayMs, description: 'Wait before each reply' },
    'max-pending': { type: 'number', default: DEFAULTS.maxPendingReplies, min: 1, description: 'Replies waiting at once; more gets are dropped' },
    'receive-buffer-bytes': { type: 'number', default: DEFAULTS.udpReceiveBufferBytes, min: 1, description: 'SO_RCVBUF to ask for (capped by net.core.rmem_max)' },
    quiet: { type: 'boolean', short: 'q', description: 'Do not log each datagram' },
  },
  examples: ['socklab udp-serve', 'socklab udp-serve --port 0 --delay-ms 0', 'echo get | ncat -u localhost 12345'],
  async run({ values }, io) {
    const server = await startCounterServer({
      host: values.host,
      port: values.port,
      delayMs: values['delay-ms'],
      maxPendingReplies: values['max-pending'],
      receiveBufferBytes: values['receive-buffer-bytes'],
      logMessages: !values.quiet,
      onEvent: (event) => println(io.stdout, formatCounterEvent(event)),
    });
    println(io.stdout, `listening on udp ${formatEndpoint(server.address())}`);
    await untilAborted(io.signal);
    await server.close();
    const { gets, ignored, overloaded, dropped } = server.stats;
    println(io.stdout, `stopped: ${gets} gets answered, ${ignored} ignored, ${overloaded + dropped} dropped`);
    return 0;
  },
});
