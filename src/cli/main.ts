import { createRequire } from 'node:module';
import { SocklabError } from '../errors.js';
import { println, type Command, type Io } from './command.js';
import { flushEventOutputs } from './json-events.js';

/** How to load each subcommand; their summaries and the root help are in bin/root-help.cjs. */
const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  probe: () => import('./commands/probe.js'),
  serve: () => import('./commands/serve.js'),
  client: () => import('./commands/client.js'),
  'udp-serve': () => import('./commands/udp-serve.js'),
  'udp-client': () => import('./commands/udp-client.js'),
  proxy: () => import('./commands/proxy.js'),
  bench: () => import('./commands/bench.js'),
  check: () => import('./commands/check.js'),
  nc: () => import('./commands/nc.js'),
};

const VERSION = '0.1.0';

interface RootHelpModule {
  COMMAND_SUMMARIES: Record<string, string>;
  rootHelp(): string;
}

/** The CommonJS module the bin shares (from dist/src/cli/ up to the package root). */
export function rootHelpModule(): RootHelpModule {
  return createRequire(import.meta.url)('../../../bin/root-help.cjs') as RootHelpModule;
}

/** Names of every subcommand that can be loaded. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/**
 * Runs the CLI and returns its exit code: 0 success, 1 failure (the error code is printed), 2 usage error.
 * Only `bin/socklab.cjs` turns the code into `process.exit`.
 *
 * @example process.exitCode = await main(process.argv.slice(2), { stdin, stdout, stderr, signal });
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(rootHelpModule().rootHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    println(io.stdout, VERSION);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    println(io.stderr, `socklab: unknown command '${name}'. Commands: ${Object.keys(COMMANDS).join(', ')}. See 'socklab --help'.`);
    return 2;
  }
  const command = (await load()).default;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help());
    return 0;
  }
  try {
    const args = command.parse(rest);
    const code = await command.spec.run(args, io);
    await flushEventOutputs(io);
    return code;
  } catch (err) {
    // What the command printed before it failed comes before why it failed.
    await flushEventOutputs(io);
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
