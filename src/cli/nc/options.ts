import { readFileSync } from 'node:fs';
import { createAccessCheck, type AccessCheck } from '../../access.js';
import { SocklabError, systemCode } from '../../errors.js';
import { programCommand, type ProgramCommand } from '../../exec/program.js';
import { parseDuration } from '../../pipe/duration.js';
import { usageError, parsePort, type OptionValues } from '../command.js';
import type { NC_FLAGS } from './flags.js';

export type NcValues = OptionValues<typeof NC_FLAGS>;

/** A time flag in ncat's units, as milliseconds; undefined when not given. */
export function timeFlag(values: NcValues, flag: 'wait' | 'idle-timeout' | 'delay' | 'quit'): number | undefined {
  const text = values[flag];
  if (text === undefined) return undefined;
  try {
    const ms = parseDuration(text, `--${flag}`);
    // ncat: "-i 0" and "-w 0" are invalid; a zero delay or quit is fine.
    if (ms === 0 && (flag === 'wait' || flag === 'idle-timeout')) throw new RangeError(`Option '--${flag}' must be more than 0; got '${text}'`);
    return ms;
  } catch (err) {
    throw usageError((err as Error).message);
  }
}

/** Where to connect or listen, from the positionals and -p, as ncat reads them. */
export interface NcTarget {
  host: string | undefined;
  /** A port, or the port list of -z. */
  portText: string | undefined;
  port: number;
  path: string | undefined;
}

/**
 * Connect: `host [port]` (port 31337 when omitted, as ncat). Listen: `[host] [port]`, where a lone number is the
 * port, and -p sets the port too. -U: the one positional is the socket path.
 */
export function targetFrom(values: NcValues, positionals: string[], defaultPort: number): NcTarget {
  if (values.unixsock) {
    if (positionals.length !== 1) throw usageError('-U takes one argument: the socket path');
    return { host: undefined, portText: undefined, port: 0, path: positionals[0] };
  }
  let host: string | undefined = positionals[0];
  let portText: string | undefined = positionals[1];
  if (values.listen && portText === undefined && host !== undefined && /^\d+$/.test(host)) {
    portText = host;
    host = undefined;
  }
  if (!values.listen && host === undefined) throw usageError('Give the host to connect to (or -l to listen)');
  const flagPort = values['source-port'];
  if (values.listen && flagPort !== undefined && portText === undefined) portText = String(flagPort);
  const port = values.zero ? 0 : portText === undefined ? defaultPort : parsePort(portText);
  return { host: host === undefined ? undefined : host.replace(/^\[|\]$/g, ''), portText, port, path: undefined };
}

function readList(flag: string, path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SocklabError('SL_ERR_LOG_FILE', `Cannot read the --${flag} file ${path}: ${systemCode(err) ?? String(err)}`, { cause: err });
  }
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

/** --allow/--deny and their files as one access check (CIDR ranges as well as addresses). */
export function accessFrom(values: NcValues): AccessCheck | undefined {
  const split = (text: string | undefined): string[] => (text === undefined ? [] : text.split(',').map((e) => e.trim()).filter((e) => e !== ''));
  const allow = [...split(values.allow), ...(values.allowfile === undefined ? [] : readList('allowfile', values.allowfile))];
  const deny = [...split(values.deny), ...(values.denyfile === undefined ? [] : readList('denyfile', values.denyfile))];
  const given = values.allow !== undefined || values.allowfile !== undefined;
  if (given && allow.length === 0) throw usageError('--allow/--allowfile name nobody: give at least one address or CIDR range');
  try {
    return createAccessCheck({ ...(given ? { allow } : {}), deny });
  } catch (err) {
    throw usageError((err as Error).message);
  }
}

/** -e / -c as the program to run. */
export function execFrom(values: NcValues): ProgramCommand | undefined {
  try {
    return programCommand({ exec: values.exec, shExec: values['sh-exec'] });
  } catch (err) {
    throw usageError((err as Error).message);
  }
}

/** Option combinations ncat refuses, refused the same way before anything opens. */
export function checkCombinations(values: NcValues): void {
  const conflicts: [boolean | undefined, string][] = [
    [values['send-only'] && values['recv-only'], '--send-only and --recv-only conflict'],
    [values.ipv4 && values.ipv6, '-4 and -6 conflict'],
    [values.unixsock && values.udp, '-U with -u (UNIX datagram sockets) is not supported: Node has no UNIX datagram sockets (node:dgram is UDP only)'],
    [values.zero && values.listen, '-z is for connect mode: it cannot be used with -l'],
    [values.broker && values.chat, '--broker and --chat conflict'],
    [(values.broker || values.chat) && !values.listen, '--broker and --chat need -l'],
    [values.proxy !== undefined && values.listen, '--proxy is for connect mode; with -l use --proxy-type http to run an HTTP proxy server'],
    [values['proxy-type'] !== undefined && values['proxy-type'] !== 'http' && values.listen, 'Listen mode runs only an HTTP proxy server (--proxy-type http)'],
    [(values['ssl-cert'] !== undefined || values['ssl-key'] !== undefined || values['ssl-verify'] || values['ssl-trustfile'] !== undefined) && !values.ssl, 'The --ssl-* options need --ssl'],
  ];
  for (const [conflict, message] of conflicts) if (conflict) throw usageError(message);
}
