// The flag definitions alone, so a command can declare them without loading the exec server and its programs.
import { DEFAULTS } from '../../options.js';
import type { OptionSpec } from '../command.js';

/** `--exec`, `--sh-exec` and the grace before SIGKILL, shared by serve and client. */
export const EXEC_FLAGS = {
  exec: { type: 'string', short: 'e', placeholder: 'command', description: "Hand each connection to this program: its stdin/stdout are the connection's bytes (split into argv, no shell)" },
  'sh-exec': { type: 'string', short: 'c', placeholder: 'command', description: 'Like --exec, but run by /bin/sh -c (pipes, redirections, variables)' },
  'kill-grace-ms': { type: 'number', default: DEFAULTS.execKillGraceMs, description: 'When the connection closes first: SIGTERM, then SIGKILL after this long' },
} as const satisfies Record<string, OptionSpec>;
