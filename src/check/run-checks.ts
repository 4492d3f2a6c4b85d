import { formatEndpoint } from '../address.js';
import { checkCount, checkPort } from '../options.js';
import { ChatContext, CHAT_CHECKS } from './_chat-checks.js';
import { streamChecks } from './_stream-checks.js';
import { StreamContext } from './_stream-context.js';
import { UDP_CHECKS } from './_udp-checks.js';
import { CHECK_PROTOCOLS, type CheckDef, type CheckOptions, type CheckProtocol, type CheckReport, type CheckResult, type Outcome, type ResolvedCheckOptions } from './types.js';

export * from './types.js';

/** The checks a protocol runs, by name, in order (for `--only` and the docs). */
export function checkNames(protocol: CheckProtocol, oneClient = false): string[] {
  return plan(protocol, { oneClient } as ResolvedCheckOptions).checks.map((check) => check.name);
}

interface Plan {
  checks: CheckDef<never>[];
  context: unknown;
  /** After each check: end what it left open. */
  cleanup: () => Promise<void>;
  close: () => void;
}

function plan(protocol: CheckProtocol, options: ResolvedCheckOptions): Plan {
  if (protocol === 'udp-counter') return { checks: [...UDP_CHECKS], context: options, cleanup: async () => {}, close: () => {} };
  if (protocol === 'chat') {
    const context = new ChatContext(options);
    return { checks: [...CHAT_CHECKS], context, cleanup: async () => context.close(), close: () => context.close() };
  }
  // A greeting server closes after its greeting: both of its checks look at that one connection.
  if (protocol === 'greeting') options = { ...options, oneClient: true };
  const context = new StreamContext(options, protocol !== 'echo', protocol === 'sequential');
  return { checks: streamChecks(protocol, options.oneClient), context, cleanup: () => context.releaseAll(), close: () => context.close() };
}

function resolve(options: CheckOptions): ResolvedCheckOptions {
  if (!CHECK_PROTOCOLS.includes(options.protocol)) throw new RangeError(`protocol must be one of ${CHECK_PROTOCOLS.join(', ')}; got '${String(options.protocol)}'`);
  return {
    host: options.host ?? '127.0.0.1',
    port: checkPort('port', options.port),
    timeoutMs: checkCount('timeoutMs', options.timeoutMs ?? 3000, 1),
    quietMs: checkCount('quietMs', options.quietMs ?? 150, 1),
    clients: checkCount('clients', options.clients ?? 20, 2),
    longLineBytes: checkCount('longLineBytes', options.longLineBytes ?? 1024 * 1024, 1),
    slowReaderBytes: checkCount('slowReaderBytes', options.slowReaderBytes ?? 1024 * 1024, 1),
    oneClient: options.oneClient ?? false,
  };
}

/**
 * Grades a server, written in any language, against one of the workshop's protocols: one named check per
 * property (it greets, it answers, it survives split and joined reads, many clients, quit, half-close, a slow
 * reader, an over-long line; for UDP: once per get, unique increasing values, many ports, junk ignored). Each
 * check is bounded in time and reports what it sent, what came back, and on failure a hint naming the workshop
 * chapter that explains it. Checks run one after another, so a sequential server sees one client at a time.
 *
 * @example
 * const report = await runChecks({ protocol: 'concurrent', port: 12345 });
 * if (!report.passed) for (const c of report.checks) if (!c.passed) console.log(c.name, c.hint);
 */
export async function runChecks(options: CheckOptions): Promise<CheckReport> {
  const resolved = resolve(options);
  const { checks, context, cleanup, close } = plan(options.protocol, resolved);
  const unknown = (options.only ?? []).filter((name) => !checks.some((check) => check.name === name));
  if (unknown.length > 0) throw new RangeError(`no check named ${unknown.join(', ')} for ${options.protocol}: the checks are ${checks.map((c) => c.name).join(', ')}`);
  const selected = options.only && options.only.length > 0 ? checks.filter((check) => options.only!.includes(check.name)) : checks;
  // No check may hang the run: each gets a budget beyond its own waits (20 clients served in turn take longest).
  const budgetMs = resolved.timeoutMs * 6 + resolved.quietMs * (resolved.clients + 10);
  const results: CheckResult[] = [];
  try {
    for (const check of selected) {
      options.signal?.throwIfAborted();
      const started = performance.now();
      let outcome: Outcome;
      let timer: NodeJS.Timeout | undefined;
      try {
        const overtime = new Promise<Outcome>((done) => {
          timer = setTimeout(() => done({ passed: false, sent: 'see the title', received: `no verdict within ${budgetMs} ms` }), budgetMs);
        });
        outcome = await Promise.race([check.run(context as never), overtime]);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ECONNREFUSED' ? 'refused: nothing listens on that port (ECONNREFUSED)' : code ?? (err as Error).message;
        outcome = { passed: false, sent: 'a connection', received: why };
      } finally {
        clearTimeout(timer);
      }
      await cleanup().catch(() => {});
      results.push({
        name: check.name,
        title: check.title,
        passed: outcome.passed,
        sent: outcome.sent,
        received: outcome.received,
        hint: outcome.passed ? '' : (outcome.why ?? check.hint),
        ms: Math.round(performance.now() - started),
      });
    }
  } finally {
    close();
  }
  return {
    protocol: options.protocol,
    target: formatEndpoint({ address: resolved.host, port: resolved.port }),
    passed: results.every((result) => result.passed),
    checks: results,
  };
}

/** The report as a student reads it: one line per check, and what was sent, seen and suggested for each failure. */
export function formatCheckReport(report: CheckReport): string {
  const width = Math.max(...report.checks.map((check) => check.name.length), 4) + 2;
  const lines = [`socklab check ${report.protocol} ${report.target}`];
  for (const check of report.checks) {
    lines.push(`  ${check.passed ? 'pass' : 'FAIL'}  ${check.name.padEnd(width)}${check.title} (${check.ms} ms)`);
    if (check.passed) continue;
    const indent = ' '.repeat(8 + width);
    lines.push(`${indent}sent:     ${check.sent}`, `${indent}received: ${check.received}`, `${indent}hint:     ${check.hint}`);
  }
  const passed = report.checks.filter((check) => check.passed).length;
  lines.push(`${passed} of ${report.checks.length} checks passed`);
  return lines.join('\n') + '\n';
}
