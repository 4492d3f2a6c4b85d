import { formatEndpoint } from '../../address.js';
import { runCounterClient } from '../../apps/counter-client.js';
import { defineCommand, HOST_AND_PORT, println, targetFrom } from '../command.js';

export default defineCommand({
  name: 'udp-client',
  summary: 'UDP counter client',
  description: [
    "The seed's udp_client.py: sends \"get\", prints the reply and who sent it, pauses, --count times. UDP may lose",
    'a datagram either way; where the seed would wait forever, this reports the reply lost after --timeout-ms and',
    'goes on. Exit code 1 if any reply was lost.',
  ].join('\n'),
  positionals: HOST_AND_PORT,
  options: {
    port: { type: 'number', short: 'p', default: 12345, max: 65_535, description: 'Server port' },
    count: { type: 'number', short: 'n', default: 10, description: 'How many gets to send' },
    'interval-ms': { type: 'number', default: 500, description: 'Pause between a reply and the next get' },
    'timeout-ms': { type: 'number', default: 2000, min: 1, description: 'A reply later than this counts as lost' },
    request: { type: 'string', default: 'get', description: 'Datagram to send' },
  },
  examples: ['socklab udp-client', 'socklab udp-client localhost 12345 --count 3 --interval-ms 0'],
  async run({ values, positionals }, io) {
    const { host, port } = targetFrom(positionals, values.port, 'localhost');
    const result = await runCounterClient({
      host,
      port,
      count: values.count,
      intervalMs: values['interval-ms'],
      timeoutMs: values['timeout-ms'],
      request: values.request,
      signal: io.signal,
      onEvent: (event) => {
        if (event.type === 'reply') println(io.stdout, `got ${event.text} from ${formatEndpoint(event.from)} in ${event.rttMs.toFixed(1)} ms`);
        else if (event.type === 'lost') println(io.stderr, `no reply to get #${event.index} within ${event.timeoutMs} ms`);
      },
    });
    if (result.lost > 0) {
      println(io.stderr, `${result.lost} of ${values.count} replies lost`);
      return 1;
    }
    return 0;
  },
});
