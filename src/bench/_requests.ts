import { encodeLengthPrefixed } from '../codec/length-prefix.js';
import { encodeRespCommand } from '../codec/resp.js';
import type { ReplyFraming } from './_reply-framing.js';
import { seededRandom } from '../random.js';

/** What a request carries besides its payload text, for the templates. */
export interface RequestContext {
  /** Request number over the whole run (this worker's share of it). */
  seq: number;
  /** Connection number, from 0. */
  conn: number;
}

/** Builds request bytes from `--payload`s: they rotate, one after the other, and may hold templates. */
export interface RequestMaker {
  make(context: RequestContext): { bytes: Buffer; noBody: boolean };
}

const TEMPLATE = /\{(seq|conn|rand(?::(\d+))?)\}/g;

/**
 * Turns `\r`, `\n`, `\t`, `\0` and `\\` in a payload typed on a command line into those bytes (a shell cannot
 * easily pass a CR).
 */
export function unescapePayload(text: string): string {
  return text.replace(/\\([rnt0\\])/g, (_, c: string) => ({ r: '\r', n: '\n', t: '\t', '0': '\0', '\\': '\\' })[c]!);
}

/**
 * How a payload becomes bytes for each framing:
 * - line, read, fixed: the text and a line end (`lineEnd`, LF unless the payload already ends in one);
 * - length: a 4-byte length prefix;
 * - resp: words split at spaces, sent as a RESP array like any redis client (a payload starting with `*` is sent as is);
 * - http: `GET /path` (any method and a path) becomes a whole HTTP/1.1 request with Host; anything else is sent as is.
 */
export function createRequestMaker(options: { payloads: readonly string[]; framing: ReplyFraming; lineEnd: string; host: string; seed: number }): RequestMaker {
  const random = seededRandom(options.seed ^ 0x5eed);
  const encoders = options.payloads.map((raw) => {
    const payload = unescapePayload(raw);
    const noBody = options.framing === 'http' && /^HEAD\s/i.test(payload);
    const encode = (text: string): Buffer => encodeRequest(text, options);
    if (!/\{(seq|conn|rand(:\d+)?)\}/.test(payload)) {
      const fixed = encode(payload); // built once: the common case costs nothing per request
      return (): { bytes: Buffer; noBody: boolean } => ({ bytes: fixed, noBody });
    }
    return (context: RequestContext): { bytes: Buffer; noBody: boolean } => ({
      bytes: encode(
        payload.replace(TEMPLATE, (_, name: string, range?: string) =>
          name === 'seq' ? String(context.seq) : name === 'conn' ? String(context.conn) : String(Math.floor(random() * Number(range ?? 1_000_000))),
        ),
      ),
      noBody,
    });
  });
  let turn = 0;
  return { make: (context) => encoders[turn++ % encoders.length]!(context) };
}

function encodeRequest(text: string, options: { framing: ReplyFraming; lineEnd: string; host: string }): Buffer {
  switch (options.framing) {
    case 'length':
      return encodeLengthPrefixed(text);
    case 'resp':
      return text.startsWith('*') ? Buffer.from(text, 'latin1') : encodeRespCommand(text.split(/\s+/).filter((word) => word !== ''));
    case 'http':
      if (/^[A-Z]+ \S+$/.test(text)) return Buffer.from(`${text} HTTP/1.1\r\nHost: ${options.host}\r\nUser-Agent: socklab-bench\r\n\r\n`);
      return Buffer.from(text, 'latin1');
    default:
      return Buffer.from(text.endsWith('\n') ? text : text + options.lineEnd, 'latin1');
  }
}

/** One `--expect`: a prefix, a `/regex/flags` the reply must match, or `!/regex/` it must not. */
export interface ReplyCheck {
  source: string;
  test(text: string): boolean;
}

/**
 * Parses `--expect` values. Each reply must pass every check; one that fails is an unexpected reply.
 * @example parseExpect('!/^-ERR/').test('-ERR wrong') // false
 */
export function parseExpect(source: string): ReplyCheck {
  const regex = /^(!?)\/(.*)\/([a-z]*)$/s.exec(source);
  if (!regex) return { source, test: (text) => text.startsWith(source) };
  let pattern: RegExp;
  try {
    pattern = new RegExp(regex[2]!, regex[3]!.replace(/[gy]/g, ''));
  } catch (err) {
    throw new RangeError(`--expect ${source} is not a valid regular expression: ${(err as Error).message}`);
  }
  const negate = regex[1] === '!';
  return { source, test: (text) => pattern.test(text) !== negate };
}

/** The checks that apply with no `--expect`: error replies of the protocol are never successes. */
export function defaultChecks(framing: ReplyFraming): ReplyCheck[] {
  if (framing === 'resp') return [parseExpect('!/^[-!]/')];
  if (framing === 'http') return [parseExpect('!/^HTTP\\/1\\.[01] [45]/')];
  return [];
}
