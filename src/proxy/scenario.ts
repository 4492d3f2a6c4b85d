import { SocklabError } from '../errors.js';
import type { TcpProxy } from './tcp-proxy.js';
import { resolveToxic, type ToxicInput } from './toxics.js';

/** When a step happens, and (`on NAME`) to which proxy; without `proxy`, the default one. */
interface StepBase {
  atMs: number;
  text: string;
  proxy?: string;
}

/** One line of a scenario: what to do to the proxy, and when (ms after the scenario starts). */
export type ScenarioStep =
  | (StepBase & { action: 'add'; toxic: ToxicInput })
  | (StepBase & { action: 'update'; name: string; change: { attributes?: Record<string, number>; toxicity?: number } })
  | (StepBase & { action: 'remove'; name: string })
  | (StepBase & { action: 'heal' | 'enable' | 'disable' });

/** What a scenario changes: a TCP or UDP proxy. */
export type ScenarioProxy = Pick<TcpProxy, 'addToxic' | 'updateToxic' | 'removeToxic' | 'resetToxics' | 'enable' | 'disable'>;

/** The attribute a bare time (`200ms`) sets, per toxic type. */
const TIME_ATTRIBUTE: Record<string, string> = { latency: 'latency', slow_close: 'delay', timeout: 'timeout', reset_peer: 'timeout', reset_after: 'timeout' };

function invalid(line: number, message: string): SocklabError {
  return new SocklabError('SL_ERR_TOXIC_INVALID', `Scenario line ${line}: ${message}`);
}

/** `5s`, `1.5s`, `200ms`, `200` (ms). */
function parseTime(text: string, line: number): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!match) throw invalid(line, `${JSON.stringify(text)} is not a time (e.g. 5s, 200ms)`);
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
}

function parseNumber(text: string, line: number, what: string): number {
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) throw invalid(line, `${what} must be a number, got ${JSON.stringify(text)}`);
  return value;
}

/** The words after `add TYPE` or `update NAME`: a stream, `toxicity P`, `name=N`, `key=value`, or a bare time. */
function parseWords(words: string[], line: number, type: string | undefined) {
  const attributes: Record<string, number> = {};
  let stream: string | undefined;
  let toxicity: number | undefined;
  let name: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const pair = /^([a-z_]+)=(.*)$/.exec(word);
    if (word === 'upstream' || word === 'downstream') stream = word;
    else if (word === 'toxicity') toxicity = parseNumber(words[++i] ?? '', line, 'toxicity');
    else if (pair && pair[1] === 'toxicity') toxicity = parseNumber(pair[2]!, line, 'toxicity');
    else if (pair && pair[1] === 'name') name = pair[2];
    else if (pair) attributes[pair[1]!] = /[a-z]$/.test(pair[2]!) ? parseTime(pair[2]!, line) : parseNumber(pair[2]!, line, pair[1]!);
    else if (type !== undefined && TIME_ATTRIBUTE[type] && /^\d/.test(word)) attributes[TIME_ATTRIBUTE[type]!] = parseTime(word, line);
    else throw invalid(line, `cannot read ${JSON.stringify(word)}`);
  }
  return { attributes, stream, toxicity, name };
}

/**
 * Reads a scenario: a timeline of toxic changes, one step per line or separated by `;`, `#` starting a comment.
 * Every step is checked here, so a typo fails before the proxy starts.
 *
 * @example
 * parseScenario('at 5s add latency 200ms downstream; at 10s add reset_peer toxicity 0.5; at 15s heal');
 */
export function parseScenario(text: string): ScenarioStep[] {
  const steps: ScenarioStep[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    for (const part of raw.replace(/#.*/, '').split(';')) {
      const words = part.trim().split(/\s+/).filter(Boolean);
      if (words.length === 0) continue;
      if (words[0] !== 'at' || words.length < 3) throw invalid(line, `a step is "at <time> <action> …", got ${JSON.stringify(part.trim())}`);
      const atMs = parseTime(words[1]!, line);
      // `on NAME`: the step is for that proxy (of --api or --config), not the default one.
      const named = words[2] === 'on';
      if (named && words.length < 5) throw invalid(line, 'on which proxy? e.g. at 5s on redis add latency 200ms');
      const proxy = named ? words[3] : undefined;
      const [action, ...rest] = words.slice(named ? 4 : 2);
      const stepText = words.slice(2).join(' ');
      const push = (step: ScenarioStep): void => void steps.push(proxy === undefined ? step : { ...step, proxy });
      if (action === 'heal' || action === 'enable' || action === 'disable') {
        if (rest.length > 0) throw invalid(line, `${action} takes nothing after it`);
        push({ atMs, text: stepText, action });
      } else if (action === 'add') {
        const type = rest[0];
        if (type === undefined) throw invalid(line, 'add which toxic? e.g. add latency 200ms');
        const { attributes, stream, toxicity, name } = parseWords(rest.slice(1), line, type);
        const toxic: ToxicInput = { type, attributes, ...(stream ? { stream } : {}), ...(toxicity === undefined ? {} : { toxicity }), ...(name ? { name } : {}) };
        try {
          resolveToxic(toxic);
        } catch (err) {
          throw invalid(line, (err as Error).message);
        }
        push({ atMs, text: stepText, action: 'add', toxic });
      } else if (action === 'update' || action === 'remove') {
        const name = rest[0];
        if (name === undefined) throw invalid(line, `${action} which toxic? Give its name, e.g. latency_downstream`);
        if (action === 'remove') {
          push({ atMs, text: stepText, action, name });
          continue;
        }
        const { attributes, toxicity } = parseWords(rest.slice(1), line, undefined);
        push({ atMs, text: stepText, action, name, change: { attributes, ...(toxicity === undefined ? {} : { toxicity }) } });
      } else {
        throw invalid(line, `unknown action ${JSON.stringify(action)}: add, update, remove, heal, enable or disable`);
      }
    }
  });
  return steps.sort((a, b) => a.atMs - b.atMs);
}

/**
 * Plays a scenario on a proxy (or on the proxies `proxy(name)` finds, for steps that say `on NAME`): each step
 * at its time from now. Resolves when the last step is done; `signal` stops it early. A step that fails
 * (removing a toxic that is not there, a proxy that does not exist) is reported and the rest go on.
 *
 * @example
 * const proxy = await startTcpProxy({ targetPort: port });
 * await runScenario(proxy, parseScenario('at 10ms add latency 200ms downstream; at 50ms heal'), {
 *   onStep: (step, error) => console.log(step.text, error?.message ?? 'done'),
 * });
 * await proxy.close();
 */
export async function runScenario(
  target: ScenarioProxy | ((name: string | undefined) => ScenarioProxy),
  steps: readonly ScenarioStep[],
  options: { signal?: AbortSignal; onStep?: (step: ScenarioStep, error?: Error) => void } = {},
): Promise<void> {
  const started = performance.now();
  for (const step of steps) {
    const waitMs = step.atMs - (performance.now() - started);
    if (waitMs > 0) {
      const aborted = await new Promise<boolean>((resolve) => {
        if (options.signal?.aborted) return resolve(true);
        const timer = setTimeout(() => resolve(false), waitMs);
        options.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve(true)), { once: true });
      });
      if (aborted) return;
    }
    try {
      const proxy = typeof target === 'function' ? target(step.proxy) : target;
      if (step.action === 'add') proxy.addToxic(step.toxic);
      else if (step.action === 'update') proxy.updateToxic(step.name, step.change);
      else if (step.action === 'remove') proxy.removeToxic(step.name);
      else if (step.action === 'heal') proxy.resetToxics();
      else if (step.action === 'enable') await proxy.enable();
      else await proxy.disable();
      options.onStep?.(step);
    } catch (err) {
      options.onStep?.(step, err as Error);
    }
  }
}
