// Which bench flags apply to which mode, and how they become library options. A flag that does not apply is
// refused with the reason, never silently ignored.
import { defaultChecks, parseExpect, type ReplyCheck } from '../../bench/_requests.js';
import type { ReplyFraming } from '../../bench/_reply-framing.js';
import { parseStages, type SchedulePlan } from '../../bench/schedule.js';
import { usageError } from '../command.js';

/** The flags this file resolves, as the parser hands them over (undefined: not given). */
export interface BenchFlagValues {
  payload?: string[] | undefined;
  greeting?: boolean | undefined;
  'reply-framing': string;
  'reply-bytes'?: number | undefined;
  'line-end'?: string | undefined;
  expect?: string[] | undefined;
  rate?: number | undefined;
  stages?: string | undefined;
  arrival?: string | undefined;
  seed?: number | undefined;
  inflight?: number | undefined;
  'on-behind'?: string | undefined;
  outstanding?: number | undefined;
  reconnect?: boolean | undefined;
  'max-error-rate'?: string | undefined;
  workers?: number | undefined;
  streams?: number | undefined;
  direction?: string | undefined;
  'chunk-bytes'?: number | undefined;
  'hdr-log'?: string | undefined;
  report?: string | undefined;
  dashboard?: string | undefined;
  connections: number;
  tls?: boolean | undefined;
  'warmup-ms': number;
  'duration-ms'?: number | undefined;
}

/** The measured period when neither --duration-ms nor --stages says. */
export const DEFAULT_DURATION_MS = 5000;

const OPEN_LOOP_ONLY = ['arrival', 'seed', 'on-behind'] as const;
const TCP_ONLY = ['inflight', 'on-behind', 'arrival', 'seed', 'stages', 'expect', 'reconnect', 'max-error-rate', 'line-end', 'reply-bytes'] as const;

function refuse(values: BenchFlagValues, names: readonly (keyof BenchFlagValues)[], why: string): void {
  for (const name of names) {
    const value = values[name];
    if (value !== undefined && value !== false) throw usageError(`Option '--${name}' ${why}`);
  }
}

/** Refuses the flags that do not apply to `mode`, each with the reason. */
export function refuseForMode(mode: string, values: BenchFlagValues): void {
  if (mode !== 'tcp') refuse(values, TCP_ONLY, `applies to bench tcp only (request/response over connections), not to bench ${mode}`);
  if (mode !== 'udp') refuse(values, ['outstanding'], 'is for bench udp; bench tcp limits requests in flight per connection with --inflight');
  if (mode === 'hold' || mode === 'connect') {
    refuse(values, ['rate'], `does not apply to bench ${mode}: it ${mode === 'hold' ? 'holds idle connections' : 'connects as fast as each loop can'}`);
    if (!['line', 'read'].includes(values['reply-framing'])) throw usageError(`Option '--reply-framing ${values['reply-framing']}' is for bench tcp; bench ${mode} knows line and read`);
  }
  if (mode === 'udp') {
    refuse(values, ['greeting'], 'does not apply to bench udp: datagrams have no connection to greet on');
    if (values['reply-framing'] !== 'line') throw usageError("Option '--reply-framing' does not apply to bench udp: each datagram is one reply");
    const payload = values.payload?.[0];
    if (payload !== undefined && payload !== 'get' && !payload.includes('{seq}')) {
      throw usageError("bench udp matches replies to requests by id: put {seq} in --payload where the server echoes it back as the reply's first word (or send get)");
    }
  }
  if (mode !== 'throughput') refuse(values, ['streams', 'direction', 'chunk-bytes'], `applies to bench throughput (bulk transfer), not to bench ${mode}`);
  if (mode === 'throughput') {
    refuse(values, ['rate', 'payload', 'greeting', 'hdr-log', 'report', 'dashboard'], 'does not apply to bench throughput: it moves bulk bytes, with no requests or latencies');
    if (values['reply-framing'] !== 'line') throw usageError("Option '--reply-framing' does not apply to bench throughput: it moves bulk bytes");
    refuse(values, ['workers'], 'does not apply to bench throughput: its -P streams already run in parallel (the kernel does the copying)');
    if (values.connections !== 100) throw usageError("bench throughput opens -P (--streams) connections, not --connections");
  }
  if ((values.workers ?? 1) > 1 && values.tls) throw usageError("Options '--workers' and '--tls' do not combine yet: run TLS loads with one worker");
  if (mode !== 'tcp' && (values.payload?.length ?? 0) > 1) throw usageError(`Several --payload values rotate in bench tcp only; bench ${mode} sends one`);
  if (mode !== 'throughput' && mode !== 'compare' && (values.workers ?? 1) > values.connections) {
    throw usageError(`Option '--workers ${values.workers}' needs at least one connection (udp: socket) per worker; --connections is ${values.connections}`);
  }
  if (mode === 'tcp') {
    if (values.rate !== undefined && values.stages !== undefined) throw usageError("Options '--rate' and '--stages' both set the plan: give one (a single stage is RATE@MS)");
    if (values.rate === undefined && values.stages === undefined) refuse(values, OPEN_LOOP_ONLY, 'applies to an open-loop run: add --rate (requests per second over all connections) or --stages');
    if ((values['reply-framing'] === 'fixed') !== (values['reply-bytes'] !== undefined)) throw usageError("Options '--reply-framing fixed' and '--reply-bytes N' go together: a fixed reply needs its size");
    if (values['reply-framing'] === 'read' && (values.inflight ?? 1) > 1) throw usageError("Option '--inflight' above 1 needs a framing that can split replies apart; '--reply-framing read' cannot (one read may hold two)");
  }
}

/** `--max-error-rate`: a fraction (0.01) or a percentage (1%). */
export function parseErrorRate(text: string | undefined): number {
  if (text === undefined) return 0;
  const percent = text.endsWith('%');
  const value = Number(percent ? text.slice(0, -1) : text);
  const rate = percent ? value / 100 : value;
  if (text.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) throw usageError(`Option '--max-error-rate' must be a fraction from 0 to 1 or a percentage (0.01, 1%); got '${text}'`);
  return rate;
}

/** The open-loop plan over warm-up + duration, or undefined for a closed loop. Warm-up runs at the first stage's rate. */
export function planFrom(values: BenchFlagValues): SchedulePlan | undefined {
  if (values.rate === undefined && values.stages === undefined) return undefined;
  let stages;
  try {
    const durationMs = values['duration-ms'] ?? DEFAULT_DURATION_MS;
    stages = values.stages !== undefined ? parseStages(values.stages) : [{ fromPerSec: values.rate!, toPerSec: values.rate!, durationMs }];
  } catch (err) {
    throw usageError(`Option '--stages': ${(err as Error).message}`);
  }
  if (values.stages !== undefined && values['duration-ms'] !== undefined) throw usageError("Options '--stages' and '--duration-ms' both set the length: the stages' durations add up to the measured period");
  const warmup = values['warmup-ms'] > 0 ? [{ fromPerSec: stages[0]!.fromPerSec || 1, toPerSec: stages[0]!.fromPerSec || 1, durationMs: values['warmup-ms'] }] : [];
  return { stages: [...warmup, ...stages], arrival: (values.arrival ?? 'uniform') as SchedulePlan['arrival'], seed: values.seed ?? 1 };
}

/** What every reply is checked against. */
export function checksFrom(values: BenchFlagValues, framing: ReplyFraming): ReplyCheck[] {
  if (values.expect === undefined) return defaultChecks(framing);
  return values.expect.map((source) => {
    try {
      return parseExpect(source);
    } catch (err) {
      throw usageError((err as Error).message);
    }
  });
}

/** Servers that greet: socklab's line servers do by default; redis and HTTP servers never do. */
export function greetingFor(values: BenchFlagValues, framing: ReplyFraming): boolean {
  return values.greeting ?? (framing === 'line' || framing === 'read');
}
