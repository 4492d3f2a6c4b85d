import { SocklabError } from '../errors.js';
import { println, type Command, type Io } from './command.js';

/** The subcommands, with the summary root help shows, so `socklab --help` loads none of them. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  probe: { summary: 'Resolve a host name and try a TCP connect (the seed server.py)', load: () => import('./commands/probe.js') },
  serve: { summary: 'TCP message server: greet, sequential or concurrent (server2/3.py, async_server.py)', load: () => import('./commands/serve.js') },
  client: { summary: 'Interactive TCP client: send lines, print replies (client.py)', load: () => import('./commands/client.js') },
  'udp-serve': { summary: 'UDP counter server: answers each "get" with the next value (udp_server.py)', load: () => import('./commands/udp-serve.js') },
  'udp-client': { summary: 'UDP client: sends "get"s, reports replies and losses (udp_client.py)', load: () => import('./commands/udp-client.js') },
  proxy: { summary: 'Fault proxy: latency, bandwidth, tiny segments, resets; UDP drop/duplicate/reorder', load: () => import('./commands/proxy.js') },
  bench: { summary: 'Load generator: request/response, held connections, connect rate, UDP', load: () => import('./commands/bench.js') },
};

const VERSION = '0.1.0';

function rootHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  return [
    'socklab: TCP and UDP socket programming, from the workshop to a netcat-like tool',
    '',
    'Usage: socklab <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}${command.summary}`),
    '',
    'Run "socklab <command> --help" for a command\'s options and examples.',
    '',
    'Quick start (two terminals):',
    '  socklab serve --port 12345',
    '  socklab client localhost 12345',
    '',
  ].join('\n');
}

/**
 * Runs the CLI and returns its exit code: 0 success, 1 failure (the error code is printed), 2 usage error.
 * Only `bin/socklab.js` turns the code into `process.exit`.
 *
 * @example process.exitCode = await main(process.argv.slice(2), { stdin, stdout, stderr, signal });
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(rootHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    println(io.stdout, VERSION);
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    println(io.stderr, `socklab: unknown command '${name}'. Commands: ${Object.keys(COMMANDS).join(', ')}. See 'socklab --help'.`);
    return 2;
  }
  const command = (await entry.load()).default;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help());
    return 0;
  }
  try {
    const args = command.parse(rest);
    return await command.spec.run(args, io);
  } catch (err) {
    return reportError(name, err, io);
  }
}

function reportError(name: string, err: unknown, io: Io): number {
  if (err instanceof SocklabError) {
    if (err.code === 'SL_ERR_USAGE') {
      println(io.stderr, `socklab ${name}: ${err.message}`);
      println(io.stderr, `See 'socklab ${name} --help'.`);
      return 2;
    }
    println(io.stderr, `socklab ${name}: ${err.message} [${err.code}]`);
    return 1;
  }
  if (err instanceof RangeError || err instanceof TypeError) {
    // Bad option values caught by the library's own checks.
    println(io.stderr, `socklab ${name}: ${err.message}`);
    return 2;
  }
  println(io.stderr, `socklab ${name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}
