import { formatEndpoint } from '../../address.js';
import { runCounterClient } from '../../apps/counter-client.js';
import { defineCommand, HOST_AND_PORT, targetFrom } from '../command.js';
import { JSON_FLAG } from '../flags/output.js';
import { EventOutput } from '../json-events.js';

export default defineCommand({
  name: 'udp-client',
  summary: 'UDP counter client',
  description: [
    "The seed's udp_client.py: sends \"get\", prints the reply and who sent it, pauses, --count times. UDP may lose",
    'a datagram either way; where the seed would wait forever, this reports the reply lost after --timeout-ms and',
    'goes on. Exit code 1 if any reply was lost. When nothing listens there, the kernel says so (an ICMP "port',
    'unreachable", ECONNREFUSED): that is reported at once as "connection refused", not as a loss.',
    '',
    'With --retries, each get carries a request id ("get <id>") and is sent again when its reply is late; the',
    'server answers a retry with the value it first gave that id, so nothing is counted twice, and a late reply',
    "to an earlier get is recognised and skipped. Ids need socklab udp-serve (the seed's server ignores them).",
  ].join('\n'),
  positionals: HOST_AND_PORT,
  options: {
    port: { type: 'number', short: 'p', default: 12345, max: 65_535, description: 'Server port' },
    count: { type: 'number', short: 'n', default: 10, description: 'How many gets to send' },
    'interval-ms': { type: 'number', default: 500, description: 'Pause between a reply and the next get' },
    'timeout-ms': { type: 'number', default: 2000, min: 1, description: 'A reply later than this counts as lost' },
    retries: { type: 'number', short: 'r', default: 0, description: 'Send a get again this many times if its reply is late (uses ids)' },
    ids: { type: 'boolean', description: 'Send "get <id>" even without retries, so late replies are not misread' },
    request: { type: 'string', default: 'get', description: 'Datagram to send (without ids)' },
    ...JSON_FLAG,
  },
  examples: [
    'socklab udp-client',
    'socklab udp-client localhost 12345 --count 3 --interval-ms 0',
    'socklab udp-client --retries 3 --timeout-ms 800   # over a lossy path',
  ],
  async run({ values, positionals }, io) {
    const { host, port } = targetFrom(positionals, values.port, 'localhost');
    const out = new EventOutput(io, values.json === true);
    const result = await runCounterClient({
      host,
      port,
      count: values.count,
      intervalMs: values['interval-ms'],
      timeoutMs: values['timeout-ms'],
      request: values.request,
      retries: values.retries,
      requestIds: values.ids === true || values.retries > 0,
      signal: io.signal,
      onEvent: (event) => {
        if (out.json) {
          const { type, ...fields } = event;
          out.event(type === 'reply' ? 'received' : type, fields);
        } else if (event.type === 'reply') out.say(`got ${event.text} from ${formatEndpoint(event.from)} in ${event.rttMs.toFixed(1)} ms`);
        else if (event.type === 'lost') {
          const tries = event.attempts > 1 ? ` (${event.attempts} attempts)` : '';
          out.note(`no reply to get #${event.index} within ${event.timeoutMs} ms${tries}`);
        } else if (event.type === 'late') out.note(`skipped a late or duplicate reply: ${event.text}`);
      },
    });
    out.event('summary', { totals: { ...result } });
    if (result.lost > 0) {
      out.note(`${result.lost} of ${values.count} replies lost`);
      if (result.replies.length === 0 && (values.ids === true || values.retries > 0)) {
        out.note('hint: no get with an id was answered. A server that knows only a plain "get" (the seed\'s udp_server.py) ignores "get <id>": try again without --retries and --ids');
      }
      return 1;
    }
    return 0;
  },
});
