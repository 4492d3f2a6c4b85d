import type { Readable, Writable } from 'node:stream';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SocklabError } from '../errors.js';

/** What a command may touch: passed in, so tests run commands in-process with their own streams. */
export interface Io {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
  /** Fires on SIGINT/SIGTERM: servers stop gracefully, clients close. */
  signal: AbortSignal;
}

/** One flag. Numbers are parsed and range-checked here, so commands receive typed values. */
export interface OptionSpec {
  type: 'string' | 'boolean' | 'number';
  description: string;
  short?: string;
  default?: string | boolean | number;
  /** Shown in help after the flag: `--port <n>`. */
  placeholder?: string;
  choices?: readonly string[];
  /** Smallest number accepted. @default 0 */
  min?: number;
  max?: number;
  /** Accept `inf`/`Infinity` for "no limit". */
  allowInfinity?: boolean;
  /** Accept `--no-<flag>` (booleans only). */
  negatable?: boolean;
  /** The flag may be given more than once (strings only); its value is then every one, in order. */
  multiple?: boolean;
}

export interface PositionalSpec {
  name: string;
  description: string;
  /** The last positional may take any number of values. */
  rest?: boolean;
}

type ValueOf<S extends OptionSpec> = S extends { multiple: true } ? string[] : S['type'] extends 'boolean' ? boolean : S['type'] extends 'number' ? number : string;

/** Parsed flags: options with a default are always set, the others may be undefined. */
export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K] extends { default: unknown } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export interface ParsedArgs<O extends Record<string, OptionSpec>> {
  values: OptionValues<O>;
  positionals: string[];
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  name: string;
  summary: string;
  /** Longer text under the usage line: what it does, which seed program it replaces. */
  description: string;
  positionals: readonly PositionalSpec[];
  options: O;
  examples: readonly string[];
  run(args: ParsedArgs<O>, io: Io): Promise<number>;
}

/** A command with its types erased, as the root command holds it. */
export interface Command {
  spec: CommandSpec<Record<string, OptionSpec>>;
  parse(argv: string[]): ParsedArgs<Record<string, OptionSpec>>;
  help(): string;
}

/** A usage error: the CLI prints it with a hint and exits 2. */
export function usageError(message: string): SocklabError {
  return new SocklabError('SL_ERR_USAGE', message);
}

/**
 * Declares a subcommand; its flags are typed from `options`.
 * @example export default defineCommand({ name: 'probe', options: { port: { type: 'number', default: 80, description: '…' } }, … });
 */
export function defineCommand<const O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): Command {
  const erased = spec as unknown as CommandSpec<Record<string, OptionSpec>>;
  return { spec: erased, parse: (argv) => parseCommandArgs(erased, argv), help: () => renderHelp(erased) };
}

function parseCommandArgs(spec: CommandSpec<Record<string, OptionSpec>>, argv: string[]): ParsedArgs<Record<string, OptionSpec>> {
  const config: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    config[name] = { type: option.type === 'boolean' ? 'boolean' : 'string', ...(option.short ? { short: option.short } : {}), ...(option.multiple ? { multiple: true } : {}) };
    if (option.negatable) config[`no-${name}`] = { type: 'boolean' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const values: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const raw = option.negatable && parsed.values[`no-${name}`] === true ? false : parsed.values[name];
    if (raw === undefined) {
      values[name] = option.default;
      continue;
    }
    if (typeof raw === 'boolean' && option.type !== 'boolean') throw usageError(`Option '--${name}' takes a value`);
    if (option.multiple) {
      values[name] = raw;
      continue;
    }
    values[name] = option.type === 'number' ? toNumber(name, String(raw), option) : raw;
    if (option.type === 'string' && option.choices && !option.choices.includes(String(raw))) {
      throw usageError(`Option '--${name}' must be one of ${option.choices.join(', ')}; got '${String(raw)}'`);
    }
  }
  if (parsed.positionals.length > spec.positionals.length && !spec.positionals.at(-1)?.rest) {
    throw usageError(`Unexpected argument '${parsed.positionals[spec.positionals.length]}'`);
  }
  return { values: values as OptionValues<Record<string, OptionSpec>>, positionals: parsed.positionals };
}

function toNumber(name: string, text: string, option: OptionSpec): number {
  if (option.allowInfinity && /^(inf|infinity)$/i.test(text)) return Infinity;
  const value = Number(text);
  const min = option.min ?? 0;
  if (text.trim() === '' || !Number.isInteger(value) || value < min || (option.max !== undefined && value > option.max)) {
    const range = option.max === undefined ? `a whole number >= ${min}` : `a whole number from ${min} to ${option.max}`;
    throw usageError(`Option '--${name}' must be ${range}${option.allowInfinity ? ' or inf' : ''}; got '${text}'`);
  }
  return value;
}

/** Parses a port given as a positional argument. */
export function parsePort(text: string): number {
  return toNumber('port', text, { type: 'number', description: '', min: 0, max: 65_535 });
}

function renderHelp(spec: CommandSpec<Record<string, OptionSpec>>): string {
  const positionals = spec.positionals.map((p) => ` [${p.name}]`).join('');
  const lines = [`socklab ${spec.name}: ${spec.summary}`, '', `Usage: socklab ${spec.name}${positionals} [options]`, '', spec.description, ''];
  const rows: [string, string][] = spec.positionals.map((p) => [`${p.name}`, p.description]);
  for (const [name, option] of Object.entries(spec.options)) {
    const flag = `${option.short ? `-${option.short}, ` : '    '}--${option.negatable ? `[no-]` : ''}${name}`;
    const placeholder = option.type === 'boolean' ? '' : ` <${option.placeholder ?? (option.type === 'number' ? 'n' : 'text')}>`;
    const extras = [
      option.choices ? `one of: ${option.choices.join(', ')}` : '',
      option.default !== undefined && option.default !== false ? `default: ${formatDefault(option.default)}` : '',
    ].filter(Boolean);
    rows.push([flag + placeholder, option.description + (extras.length ? ` (${extras.join('; ')})` : '')]);
  }
  rows.push(['-h, --help', 'Show this help']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  lines.push('Arguments and options:');
  for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)}${right}`);
  lines.push('', 'Examples:', ...spec.examples.map((example) => `  ${example}`));
  return lines.join('\n') + '\n';
}

function formatDefault(value: string | number | boolean): string {
  if (value === Infinity) return 'inf';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Writes a line to a stream. */
export function println(stream: Writable, line: string): void {
  stream.write(line + '\n');
}

/** The `[host] [port]` positionals of the client commands, netcat style. */
export const HOST_AND_PORT: readonly PositionalSpec[] = [
  { name: 'host', description: 'Host name or IP address (default: localhost)' },
  { name: 'port', description: 'Port, instead of --port' },
];

/** Host and port from `[host] [port]` positionals and `--port`; a port given both ways must agree. */
export function targetFrom(positionals: string[], portFlag: number, defaultHost: string): { host: string; port: number } {
  const [host = defaultHost, portText] = positionals;
  if (portText === undefined) return { host, port: portFlag };
  return { host, port: parsePort(portText) };
}

/** Runs `work` until it settles or the signal fires; resolves either way. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** `--allow` / `--deny` values (comma-separated addresses and CIDR ranges) as library options. */
export function accessLists(allow: string | undefined, deny: string | undefined): { allow?: string[]; deny?: string[] } {
  const split = (text: string): string[] =>
    text
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
  const listed = (flag: string, text: string): string[] => {
    const entries = split(text);
    // An empty --allow would mean "everyone" to the access check: the opposite of what was asked (an unset
    // shell variable, say), and --exec relies on --allow to be exposed at all.
    if (entries.length === 0) throw usageError(`Option '--${flag}' needs at least one address or CIDR range, got '${text}'`);
    return entries;
  };
  return { ...(allow === undefined ? {} : { allow: listed('allow', allow) }), ...(deny === undefined ? {} : { deny: listed('deny', deny) }) };
}
