import type { Endpoint } from '../address.js';
import { formatSocketPath } from '../unix/socket-path.js';
import { JSON_EVENTS_VERSION } from '../trace/event-version.js';
import type { Io } from './command.js';
import { LogWriter } from './log-writer.js';

export { JSON_EVENTS_VERSION };

/** A field's type in the schema. `endpoint` is `{ address: string, port: number, family: 'IPv4' | 'IPv6' | 'unix' }`. */
export type FieldType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'endpoint' | 'integer|null' | 'string|null';

interface EventSchema {
  /** Which commands emit it, for the documentation. */
  from: string;
  required: Record<string, FieldType>;
  optional?: Record<string, FieldType>;
}

/**
 * Every event `--json` prints, with its fields (besides `v`, `ts` and `event`, which every line has). This table
 * is the schema: docs/json-events.md describes it in words, and {@link validateEvent} checks lines against it.
 */
export const EVENT_SCHEMA: Readonly<Record<string, EventSchema>> = Object.freeze({
  listening: {
    from: 'serve, udp-serve, proxy',
    required: { address: 'endpoint', protocol: 'string' },
    optional: { mode: 'string', target: 'string', seed: 'integer', command: 'string', workers: 'integer', shared: 'string', proxy: 'string' },
  },
  connected: { from: 'serve, client, probe, proxy', required: { peer: 'endpoint' }, optional: { id: 'integer', elapsedMs: 'number', host: 'string' } },
  waiting: { from: 'serve (sequential)', required: { peer: 'endpoint', ahead: 'integer' } },
  message: { from: 'serve', required: { peer: 'endpoint', text: 'string' }, optional: { name: 'string' } },
  joined: { from: 'serve --mode chat|broker', required: { peer: 'endpoint', name: 'string' } },
  left: { from: 'serve --mode chat|broker', required: { peer: 'endpoint', name: 'string', reason: 'string' } },
  nick: { from: 'serve --mode chat', required: { peer: 'endpoint', from: 'string', to: 'string' } },
  link: { from: 'serve --mode chat|broker (--workers, --redis)', required: { status: 'string', location: 'string' }, optional: { reason: 'string' } },
  tls: {
    from: 'probe --tls',
    required: { protocol: 'string', cipher: 'string', verified: 'string', subject: 'string', issuer: 'string', names: 'string', validFrom: 'string', validTo: 'string', fingerprint: 'string' },
  },
  'certificate-refused': {
    from: 'probe --tls',
    required: { subject: 'string', issuer: 'string', names: 'string', validFrom: 'string', validTo: 'string', fingerprint: 'string' },
  },
  certificate: { from: 'serve --tls, proxy --tls', required: { fingerprint: 'string', names: 'string', selfSigned: 'boolean', validTo: 'string' } },
  'tls-failed': { from: 'serve --tls, proxy --tls', required: { peer: 'endpoint', code: 'string', message: 'string' } },
  'log-dropped': { from: 'every command (when stdout does not keep up)', required: { lines: 'integer' } },
  backend: { from: 'udp-serve (--workers, --redis, --state)', required: { status: 'string', location: 'string' }, optional: { reason: 'string' } },
  closed: {
    from: 'serve, client, proxy',
    required: { reason: 'string' },
    optional: { peer: 'endpoint', id: 'integer', messagesIn: 'integer', messagesOut: 'integer', bytesIn: 'integer', bytesOut: 'integer', bytesUp: 'integer', bytesDown: 'integer', missingReplies: 'integer' },
  },
  rejected: { from: 'serve', required: { peer: 'endpoint' } },
  denied: { from: 'serve', required: { peer: 'endpoint' } },
  exec: { from: 'serve --exec, client --exec', required: { pid: 'integer', command: 'string' }, optional: { peer: 'endpoint' } },
  stderr: { from: 'serve --exec, client --exec', required: { line: 'string' }, optional: { peer: 'endpoint', pid: 'integer' } },
  exit: { from: 'serve --exec, client --exec', required: { code: 'integer|null', signal: 'string|null', killed: 'boolean' }, optional: { peer: 'endpoint', pid: 'integer', error: 'string' } },
  received: { from: 'client, udp-client', required: { text: 'string' }, optional: { index: 'integer', from: 'endpoint', rttMs: 'number' } },
  resolved: { from: 'probe', required: { host: 'string', address: 'string', family: 'string' } },
  get: { from: 'udp-serve', required: { from: 'endpoint', text: 'string', retry: 'boolean' }, optional: { id: 'string' } },
  reply: { from: 'udp-serve', required: { to: 'endpoint', value: 'integer' }, optional: { id: 'string' } },
  drop: { from: 'udp-serve', required: { from: 'endpoint', reason: 'string', bytes: 'integer' } },
  sent: { from: 'udp-client', required: { index: 'integer', attempt: 'integer' } },
  late: { from: 'udp-client', required: { text: 'string' } },
  lost: { from: 'udp-client', required: { index: 'integer', timeoutMs: 'number', attempts: 'integer' } },
  fault: { from: 'proxy', required: { id: 'integer', kind: 'string', why: 'string' }, optional: { toxic: 'string', stream: 'string', proxy: 'string' } },
  'upstream-failed': { from: 'proxy', required: { id: 'integer', message: 'string' } },
  scenario: { from: 'proxy --scenario', required: { atMs: 'number', step: 'string' }, optional: { error: 'string' } },
  interval: {
    from: 'bench',
    required: { mode: 'string', startMs: 'number', endMs: 'number', completed: 'integer', perSec: 'number', measuring: 'boolean' },
    // bench tcp: the interval's counts and its latency from the intended time, service time and send lag;
    // bench throughput: bytes and MB/s each way
    optional: { scheduled: 'integer', sent: 'integer', failed: 'integer', latencyUs: 'object', serviceTimeUs: 'object', sendLagUs: 'object', sentBytes: 'integer', receivedBytes: 'integer', sentMBps: 'number', receivedMBps: 'number' },
  },
  data: {
    from: '--log FILE --log-format jsonl (not stdout)',
    required: { direction: 'string', peer: 'endpoint', offset: 'integer', bytes: 'integer', base64: 'string' },
  },
  // issue 22
  check: {
    from: 'check',
    required: { name: 'string', title: 'string', passed: 'boolean', sent: 'string', received: 'string', hint: 'string', ms: 'integer' },
  },
  // issue 17
  failed: { from: 'probe', required: { code: 'string', message: 'string' }, optional: { host: 'string', port: 'integer', elapsedMs: 'number' } },
  summary: { from: 'bench, udp-client, client, check', required: { totals: 'object' } },
  stopped: { from: 'serve, udp-serve, proxy', required: { totals: 'object' } },
});

function hasType(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'integer|null':
      return value === null || Number.isInteger(value);
    case 'string|null':
      return value === null || typeof value === 'string';
    case 'endpoint': {
      if (typeof value !== 'object' || value === null) return false;
      const { address, port, family, ...rest } = value as Record<string, unknown>;
      return typeof address === 'string' && Number.isInteger(port) && (family === 'IPv4' || family === 'IPv6' || family === 'unix') && Object.keys(rest).length === 0;
    }
  }
}

/**
 * Checks one parsed `--json` line against {@link EVENT_SCHEMA}: version, timestamp, a known event, every
 * required field with its type, and no field the schema does not know. Returns the problems (empty: valid).
 *
 * @example validateEvent(JSON.parse(line)) // []
 */
export function validateEvent(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not a JSON object'];
  const { v, ts, event, ...fields } = value as Record<string, unknown>;
  const problems: string[] = [];
  if (v !== JSON_EVENTS_VERSION) problems.push(`v is ${JSON.stringify(v)}, expected ${JSON_EVENTS_VERSION}`);
  if (typeof ts !== 'string' || Number.isNaN(Date.parse(ts)) || new Date(ts).toISOString() !== ts) problems.push(`ts ${JSON.stringify(ts)} is not an ISO 8601 UTC time`);
  const schema = typeof event === 'string' && Object.hasOwn(EVENT_SCHEMA, event) ? EVENT_SCHEMA[event] : undefined;
  if (!schema) return [...problems, `unknown event ${JSON.stringify(event)}`];
  for (const [name, type] of Object.entries(schema.required)) {
    if (!(name in fields)) problems.push(`${event}: missing ${name}`);
    else if (!hasType(fields[name], type)) problems.push(`${event}: ${name} is not ${type}: ${JSON.stringify(fields[name])}`);
  }
  for (const [name, content] of Object.entries(fields)) {
    if (name in schema.required) continue;
    const type = schema.optional?.[name];
    if (type === undefined) problems.push(`${event}: unknown field ${name}`);
    else if (!hasType(content, type)) problems.push(`${event}: ${name} is not ${type}: ${JSON.stringify(content)}`);
  }
  return problems;
}

/** An endpoint as JSON: a Linux abstract name as `@name` rather than with its NUL byte. */
function jsonValue(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && (value as { family?: unknown }).family === 'unix') {
    const endpoint = value as { address: string; port: number; family: string };
    return { address: formatSocketPath(endpoint.address), port: endpoint.port, family: 'unix' };
  }
  return value;
}

/**
 * A command's output: human lines, and with `--json` one JSON object per event on stdout while the human lines
 * move to stderr (so stdout stays machine-readable).
 *
 * @example
 * const out = new EventOutput(io, values.json === true);
 * out.event('connected', { peer }, `${formatEndpoint(peer)} connected`);
 */
export class EventOutput {
  readonly #stdout: LogWriter;
  readonly #stderr: LogWriter;

  constructor(
    readonly io: Io,
    readonly json: boolean,
  ) {
    // Batched per event-loop turn: a server logging every message makes one write per turn, not one per line.
    this.#stdout = new LogWriter(io.stdout, json ? { droppedLine: (lines) => JSON.stringify(stamped('log-dropped', { lines })) } : {});
    this.#stderr = new LogWriter(io.stderr);
    let outputs = openOutputs.get(io);
    if (!outputs) openOutputs.set(io, (outputs = new Set()));
    outputs.add(this);
  }

  /** Prints an event: its human line (if any) on stdout, or with `--json` the JSON line on stdout and the human line on stderr. */
  event(name: string, fields: Record<string, unknown>, human?: string): void {
    if (this.json) {
      const line = stamped(name, {});
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) line[key] = jsonValue(value);
      this.#stdout.line(JSON.stringify(line));
    }
    if (human !== undefined) (this.json ? this.#stderr : this.#stdout).line(human);
  }

  /** A human line that is not an event: stdout normally, stderr with `--json`. */
  say(line: string): void {
    (this.json ? this.#stderr : this.#stdout).line(line);
  }

  /** A diagnostic: always stderr. */
  note(line: string): void {
    this.#stderr.line(line);
  }

  /** Writes everything still queued (main() calls this for every output of a command before it returns). */
  async close(): Promise<void> {
    await Promise.all([this.#stdout.close(), this.#stderr.close()]);
  }
}

const openOutputs = new WeakMap<Io, Set<EventOutput>>();

/** The `address` and `protocol` of a stream server's `listening` event (TCP, or a UNIX domain socket). */
export function streamAddress(address: Endpoint): { address: Endpoint; protocol: 'tcp' | 'unix' } {
  return { address, protocol: address.family === 'unix' ? 'unix' : 'tcp' };
}

function stamped(event: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { v: JSON_EVENTS_VERSION, ts: new Date().toISOString(), event, ...fields };
}

/**
 * Flushes every {@link EventOutput} a command made on `io`, so nothing queued for the end of the event-loop turn
 * is lost when the process exits, and error lines printed after it come after it.
 */
export async function flushEventOutputs(io: Io): Promise<void> {
  const outputs = openOutputs.get(io);
  if (outputs) await Promise.all([...outputs].map((output) => output.close()));
}
