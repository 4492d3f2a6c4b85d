import { SocklabError } from '../errors.js';

/** Toxiproxy's words for the two directions: `upstream` is client → server, `downstream` is server → client. */
export type ToxicStream = 'upstream' | 'downstream';

/** Every toxic type, with its attributes and their units (toxiproxy's, so its clients work unchanged). */
export interface ToxicAttributes {
  /** `latency` ms added to each chunk, plus or minus up to `jitter` ms; chunks never overtake each other. */
  latency: { latency: number; jitter: number };
  /** At most `rate` KB/s (1 KB = 1000 bytes); a rate of 0 stalls the stream until it is raised or removed. */
  bandwidth: { rate: number };
  /** Holds the FIN `delay` ms before passing it on. */
  slow_close: { delay: number };
  /** Passes nothing; closes the connection after `timeout` ms (0: never), or as soon as the sender closes. */
  timeout: { timeout: number };
  /**
   * Resets both sides (RST) `timeout` ms after the first data arrives (0: on the first data). socklab
   * extension: with `after_bytes`, exactly that many bytes pass first and the clock starts then.
   */
  reset_peer: { timeout: number; after_bytes: number };
  /** socklab extension: resets both sides `timeout` ms after the toxic met the connection (it opened, or the toxic was added), data or not. */
  reset_after: { timeout: number };
  /** Cuts each chunk into pieces of `average_size` ± `size_variation` bytes, `delay` µs apart. */
  slicer: { average_size: number; size_variation: number; delay: number };
  /** Passes exactly `bytes` bytes, then closes the connection cleanly (FIN both ways). */
  limit_data: { bytes: number };
  /** Does nothing (toxiproxy has it; useful to test a client). */
  noop: Record<string, never>;
  /**
   * socklab extension: acts on whole messages of a framed stream (`framing` `line`, ending at LF, or `length`,
   * a 4-byte big-endian length before each payload). `action` `drop`, `delay` (`delay` ms, later messages
   * wait behind it), `duplicate` or `corrupt` (one byte of the payload flipped), on the `nth` message that
   * matches `pattern` (a regular expression over the message as text; '' matches any), or on every matching
   * one with `nth` 0.
   */
  message: { framing: 'line' | 'length'; action: 'drop' | 'delay' | 'duplicate' | 'corrupt'; nth: number; pattern: string; delay: number };
  /** socklab extension, UDP proxies only: each datagram is dropped with this probability (0 to 1). */
  drop: { probability: number };
  /** socklab extension, UDP proxies only: each datagram is delivered twice with this probability. */
  duplicate: { probability: number };
  /** socklab extension, UDP proxies only: a datagram is held behind the next one (at most `max_ms`) with this probability. */
  reorder: { probability: number; max_ms: number };
}

/** Toxic types a UDP proxy takes (`latency` and `noop` are for both). */
export const UDP_TOXIC_TYPES: readonly ToxicType[] = Object.freeze(['latency', 'drop', 'duplicate', 'reorder', 'noop']);
/** Toxic types a TCP proxy takes. */
export const TCP_TOXIC_TYPES: readonly ToxicType[] = Object.freeze(['latency', 'bandwidth', 'slow_close', 'timeout', 'reset_peer', 'reset_after', 'slicer', 'limit_data', 'noop', 'message']);

/** A toxic's type: `latency`, `bandwidth`, `timeout`, … (the keys of {@link ToxicAttributes}). */
export type ToxicType = keyof ToxicAttributes;

/** One toxic on a proxy, as toxiproxy's API shows it. */
export interface Toxic<T extends ToxicType = ToxicType> {
  name: string;
  type: T;
  stream: ToxicStream;
  /** The fraction of connections it applies to, decided once per connection: 1 is all, 0 none. */
  toxicity: number;
  attributes: ToxicAttributes[T];
}

/** What a caller may give to add a toxic: everything but `type` has a default, as in toxiproxy. */
export interface ToxicInput {
  type: string;
  /** @default `${type}_${stream}` */
  name?: string;
  /** @default 'downstream' */
  stream?: string;
  /** @default 1 */
  toxicity?: number;
  attributes?: Record<string, unknown>;
}

/** The attributes of each type, with the values toxiproxy assumes when one is not given. */
const DEFAULT_ATTRIBUTES: { [T in ToxicType]: ToxicAttributes[T] } = {
  latency: { latency: 0, jitter: 0 },
  bandwidth: { rate: 0 },
  slow_close: { delay: 0 },
  timeout: { timeout: 0 },
  reset_peer: { timeout: 0, after_bytes: 0 },
  reset_after: { timeout: 0 },
  // toxiproxy's own defaults here (0 for all three) recurse forever and crash it: socklab asks for a size instead.
  slicer: { average_size: 0, size_variation: 0, delay: 0 },
  limit_data: { bytes: 0 },
  noop: {},
  message: { framing: 'line', action: 'drop', nth: 1, pattern: '', delay: 0 },
  // Without a probability the toxic does its thing to every datagram, as a TCP toxic does to every chunk.
  drop: { probability: 1 },
  duplicate: { probability: 1 },
  reorder: { probability: 1, max_ms: 50 },
};

/** The words a string attribute may take ('' : any string). */
const CHOICES: Record<string, readonly string[]> = { framing: ['line', 'length'], action: ['drop', 'delay', 'duplicate', 'corrupt'] };

/** Toxic types socklab knows, in toxiproxy's spelling. */
export const TOXIC_TYPES: readonly ToxicType[] = Object.freeze(Object.keys(DEFAULT_ATTRIBUTES) as ToxicType[]);

function invalid(message: string): SocklabError {
  return new SocklabError('SL_ERR_TOXIC_INVALID', message);
}

export function isToxicType(type: unknown): type is ToxicType {
  return typeof type === 'string' && Object.hasOwn(DEFAULT_ATTRIBUTES, type);
}

function checkPattern(pattern: string): void {
  try {
    new RegExp(pattern);
  } catch (err) {
    throw invalid(`Attribute pattern is not a regular expression: ${(err as Error).message}`);
  }
}

function checkToxicity(value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw invalid(`Toxicity must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  return value;
}

/** Merges `given` over `base`, checking every attribute of the type is a finite number >= 0 and the whole makes sense. */
function mergeAttributes<T extends ToxicType>(type: T, base: ToxicAttributes[T], given: unknown): ToxicAttributes[T] {
  if (given !== undefined && given !== null && (typeof given !== 'object' || Array.isArray(given))) throw invalid(`Attributes of a ${type} toxic must be an object`);
  const merged: Record<string, number | string> = { ...(base as Record<string, number | string>) };
  for (const key of Object.keys(merged)) {
    const value = (given as Record<string, unknown> | null | undefined)?.[key];
    if (value === undefined) continue;
    if (typeof merged[key] === 'string') {
      const choices = CHOICES[key];
      if (typeof value !== 'string' || (choices && !choices.includes(value))) throw invalid(`Attribute ${key} of a ${type} toxic must be ${choices ? choices.join(' or ') : 'a string'}, got ${JSON.stringify(value)}`);
      if (key === 'pattern') checkPattern(value);
      merged[key] = value;
      continue;
    }
    // A negative bandwidth panics toxiproxy's server; every number here is a size, a rate, a count or a time.
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(`Attribute ${key} of a ${type} toxic must be a number >= 0, got ${JSON.stringify(value)}`);
    if (key === 'probability' && value > 1) throw invalid(`Attribute probability of a ${type} toxic must be from 0 to 1, got ${value}`);
    merged[key] = value;
  }
  if (type === 'slicer') {
    const { average_size: size, size_variation: variation } = merged as unknown as ToxicAttributes['slicer'];
    if (size < 1) throw invalid('Attribute average_size of a slicer toxic must be at least 1 byte (toxiproxy crashes on 0)');
    if (variation >= size) throw invalid(`Attribute size_variation of a slicer toxic must be less than average_size (${size}), got ${variation}`);
  }
  return merged as unknown as ToxicAttributes[T];
}

/**
 * Checks a toxic as toxiproxy's `POST /proxies/{proxy}/toxics` takes it and fills in its defaults: stream
 * `downstream`, toxicity 1, name `<type>_<stream>`, and each attribute's zero value.
 *
 * @example resolveToxic({ type: 'latency', attributes: { latency: 100 } })
 * // { name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 100, jitter: 0 } }
 */
export function resolveToxic(input: ToxicInput, types: readonly ToxicType[] = TOXIC_TYPES): Toxic {
  if (typeof input !== 'object' || input === null) throw invalid('A toxic must be a JSON object');
  const stream = input.stream ?? 'downstream';
  if (stream !== 'upstream' && stream !== 'downstream') throw invalid(`Stream must be upstream or downstream, got ${JSON.stringify(stream)}`);
  if (!isToxicType(input.type) || !types.includes(input.type)) throw invalid(`Unknown toxic type ${JSON.stringify(input.type)}: one of ${types.join(', ')}`);
  if (input.name !== undefined && typeof input.name !== 'string') throw invalid('A toxic name must be a string');
  const type = input.type;
  // In toxiproxy's field order.
  return {
    attributes: mergeAttributes(type, DEFAULT_ATTRIBUTES[type], input.attributes),
    name: input.name || `${type}_${stream}`,
    type,
    stream,
    toxicity: input.toxicity === undefined ? 1 : checkToxicity(input.toxicity),
  };
}

/**
 * A toxic after a partial update (toxiproxy's `PATCH .../toxics/{toxic}`): the attributes and toxicity given
 * replace those set, everything else stays; name, type and stream cannot change.
 *
 * @example updatedToxic(toxic, { attributes: { latency: 500 } }) // jitter, toxicity kept
 */
export function updatedToxic(toxic: Toxic, change: { attributes?: unknown; toxicity?: unknown }): Toxic {
  if (typeof change !== 'object' || change === null) throw invalid('A toxic update must be a JSON object');
  return {
    ...toxic,
    toxicity: change.toxicity === undefined ? toxic.toxicity : checkToxicity(change.toxicity),
    attributes: mergeAttributes(toxic.type, toxic.attributes, change.attributes),
  };
}
