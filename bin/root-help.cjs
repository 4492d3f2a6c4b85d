'use strict';
// The command list and the root help, in CommonJS so that bin/socklab.cjs can answer `socklab --help` without
// loading any ES module (Node starts them ~8 ms slower), and dist/src/cli/main.js shows the same text.

/** Every subcommand with its one-line summary; src/cli/main.ts has a loader for each (a test checks both agree). */
const COMMAND_SUMMARIES = {
  probe: 'Resolve a host name and try a TCP connect (the seed server.py)',
  serve: 'TCP server: greet, sequential, concurrent (server2/3.py, async_server.py), chat, broker, --exec',
  client: 'Interactive TCP client: send lines, print replies (client.py)',
  'udp-serve': 'UDP counter server: answers each "get" with the next value (udp_server.py)',
  'udp-client': 'UDP client: sends "get"s, reports replies and losses (udp_client.py)',
  proxy: 'Fault proxy and toxiproxy API: latency, bandwidth, slices, resets, live toxics; UDP; TLS, UNIX',
  bench: 'Load generator: request/response, held connections, connect rate, UDP',
  check: 'Grade a server in any language against a workshop protocol (greeting, concurrent, chat, udp-counter, …)',
  nc: "A netcat: raw bytes between stdin/stdout and a socket (TCP, UDP, UNIX, TLS, proxies), ncat's options",
};

/** `socklab --help`. */
function rootHelp() {
  const names = Object.keys(COMMAND_SUMMARIES);
  const width = Math.max(...names.map((name) => name.length)) + 2;
  return [
    'socklab: TCP and UDP socket programming, from the workshop to a netcat-like tool',
    '',
    'Usage: socklab <command> [options]',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}${COMMAND_SUMMARIES[name]}`),
    '',
    'Run "socklab <command> --help" for a command\'s options and examples.',
    '',
    'Quick start (two terminals):',
    '  socklab serve --port 12345',
    '  socklab client localhost 12345',
    '',
  ].join('\n');
}

module.exports = { COMMAND_SUMMARIES, rootHelp };
