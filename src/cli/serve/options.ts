import { formatEndpoint, type Endpoint } from '../../address.js';
import { SERVE_MODES } from '../../apps/message-server.js';
import { FRAMINGS } from '../../codec/framing.js';
import { DASHBOARD_FLAG } from '../../dashboard/flag.js';
import { DEFAULTS } from '../../options.js';
import type { Io, OptionSpec, OptionValues } from '../command.js';
import { EXEC_FLAGS } from '../flags/exec-flags.js';
import { JSON_FLAG, TRACE_FLAGS, UNIX_FLAG } from '../flags/output.js';
import { streamAddress, type EventOutput } from '../json-events.js';
import { SCALE_OPTIONS } from '../scale-options.js';
import { TLS_SERVER_FLAGS } from '../tls-flags.js';
import type { TlsServerOptions } from '../../tls/options.js';
import type { SessionTracer } from '../../trace/session-trace.js';

/** The flags of `socklab serve`. */
export const SERVE_OPTIONS = {
  host: { type: 'string', default: '127.0.0.1', placeholder: 'addr', description: 'Address to listen on; 0.0.0.0 or :: serves the network' },
  port: { type: 'number', short: 'p', default: 12345, max: 65_535, description: 'Port; 0 picks a free one (printed)' },
  mode: { type: 'string', short: 'm', default: 'concurrent', choices: [...SERVE_MODES, 'chat', 'broker', 'echo', 'discard', 'chargen'], description: 'How clients are served' },
  room: { type: 'string', default: 'lobby', description: 'Chat/broker room: instances on one --redis with the same room and mode are one room' },
  ...SCALE_OPTIONS,
  greeting: { type: 'string', description: "Greeting sent on connect (default: the seed's text for the mode)" },
  'no-greeting': { type: 'boolean', description: 'Send no greeting (like async_server.py, whose greeting never goes out)' },
  reply: { type: 'string', description: 'Reply to each message; {message} is replaced by the message (default: the seed\'s text)' },
  quit: { type: 'string', default: 'quit', description: 'The message that ends a session' },
  once: { type: 'boolean', negatable: true, description: 'Exit after the first client (default in greet mode)' },
  framing: { type: 'string', default: 'auto', choices: FRAMINGS, description: 'How incoming bytes become messages' },
  eol: { type: 'string', default: 'lf', choices: ['lf', 'crlf', 'none'], description: 'Line ending after each line sent' },
  'greet-at-accept': { type: 'boolean', description: "Greet at once instead of after reading what the client sent first (faster; can merge the seed client's first two messages)" },
  quiet: { type: 'boolean', short: 'q', description: 'Do not log messages (connects and closes are still logged)' },
  'max-connections': { type: 'number', min: 1, allowInfinity: true, description: `Clients at once; more are told "server full" (default: ${DEFAULTS.maxConnections}; ${DEFAULTS.execMaxConnections} with --exec)` },
  'max-message-bytes': { type: 'number', default: DEFAULTS.maxMessageBytes, min: 1, description: 'Longest message; a longer one closes the connection with an error line' },
  'idle-timeout-ms': { type: 'number', default: DEFAULTS.idleTimeoutMs, min: 1, allowInfinity: true, description: 'Close clients silent for this long' },
  'message-timeout-ms': { type: 'number', default: DEFAULTS.messageTimeoutMs, min: 1, allowInfinity: true, description: 'Close a client whose started message does not end within this (slowloris)' },
  'max-buffered-bytes': { type: 'number', default: DEFAULTS.maxBufferedBytes, min: 1, description: 'Output queued for a client that does not read; past it the client is cut off' },
  'output-soft-limit-bytes': { type: 'number', default: DEFAULTS.outputSoftLimitBytes, min: 1, description: 'Output queued above this is tolerated for --output-soft-limit-ms only' },
  'output-soft-limit-ms': { type: 'number', default: DEFAULTS.outputSoftLimitMs, min: 1, allowInfinity: true, description: 'How long a client may stay above the soft output limit' },
  'close-timeout-ms': { type: 'number', default: DEFAULTS.closeTimeoutMs, min: 0, description: 'On close and shutdown, how long to wait for a client to finish before dropping it' },
  allow: { type: 'string', placeholder: 'list', description: 'Only these addresses/CIDR ranges may connect, comma-separated (e.g. 127.0.0.0/8,::1)' },
  deny: { type: 'string', placeholder: 'list', description: 'These addresses/CIDR ranges may not connect, comma-separated' },
  dashboard: DASHBOARD_FLAG,
  ...UNIX_FLAG,
  ...EXEC_FLAGS,
  ...TRACE_FLAGS,
  ...JSON_FLAG,
  ...TLS_SERVER_FLAGS,
} as const satisfies Record<string, OptionSpec>;

export type ServeValues = OptionValues<typeof SERVE_OPTIONS>;

/** What the serve runners (messages, chat) get from the command. */
export interface ServeSettings {
  values: ServeValues;
  /** `--unix`, resolved (an abstract `@name` as its NUL-prefixed form). */
  path: string | undefined;
  out: EventOutput;
  tracer: SessionTracer;
  io: Io;
  /** `--tls` and its certificate flags, read (files loaded); undefined for plaintext. */
  tls: TlsServerOptions | undefined;
}

/** The connection limits every serve mode shares, from the flags. */
export function connectionLimits(values: ServeValues) {
  return {
    maxMessageBytes: values['max-message-bytes'],
    idleTimeoutMs: values['idle-timeout-ms'],
    messageTimeoutMs: values['message-timeout-ms'],
    maxBufferedBytes: values['max-buffered-bytes'],
    outputSoftLimitBytes: values['output-soft-limit-bytes'],
    outputSoftLimitMs: values['output-soft-limit-ms'],
    closeTimeoutMs: values['close-timeout-ms'],
  };
}

/** The `listening` event of every serve mode; `shared` names the backend a room is shared through. */
export function reportListening(settings: ServeSettings, address: Endpoint, mode: string, workers: number, shared?: string): void {
  const text = `listening on ${formatEndpoint(address)} (${mode} mode${workers > 1 ? `, ${workers} workers` : ''}${shared ? `, shared through ${shared}` : ''}${settings.tls ? ', TLS' : ''})`;
  settings.out.event('listening', { ...streamAddress(address), mode, ...(workers > 1 ? { workers } : {}), ...(shared ? { shared } : {}) }, text);
}
