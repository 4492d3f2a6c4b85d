import { CHECK_PROTOCOLS, checkNames, formatCheckReport, runChecks, type CheckProtocol } from '../../check/run-checks.js';
import { defineCommand, parsePort, usageError } from '../command.js';
import { JSON_FLAG } from '../flags/output.js';
import { EventOutput } from '../json-events.js';

export default defineCommand({
  name: 'check',
  summary: "Grade a server (any language) against a workshop protocol",
  description: [
    'Connects to a running server and checks, one named check at a time, that it behaves as the workshop\'s',
    'protocol asks: it greets; it answers each message; a message split into one-byte segments and two messages',
    'in one segment are both handled; 20 clients at once are served at once (concurrent) or in turn',
    '(sequential); "quit" ends only its own session; a half-close still gets its replies; a client that never',
    'reads does not stall the others; an over-long line is refused without a crash. For udp-counter: every get',
    'answered once, values unique and increasing, datagrams from many ports, junk ignored.',
    '',
    'Each failure shows what was sent, what came back, and a hint naming the workshop chapter that explains it.',
    'Every check is bounded in time. Exit code 0 only when every check passed, 1 when any failed, 2 for a usage',
    'error. A server that serves one client and exits (the workshop\'s steps 2 and 3) needs --one-client.',
    '',
    `Protocols and their checks:`,
    ...CHECK_PROTOCOLS.map((protocol) => `  ${protocol.padEnd(14)}${checkNames(protocol).join(', ')}`),
    `  ${'--one-client'.padEnd(14)}${checkNames('sequential', true).join(', ')}`,
  ].join('\n'),
  positionals: [
    { name: 'protocol', description: `What the server speaks: ${CHECK_PROTOCOLS.join(', ')}` },
    { name: 'host', description: 'Host name or address (default: 127.0.0.1)' },
    { name: 'port', description: 'The server\'s port (required)' },
  ],
  options: {
    only: { type: 'string', placeholder: 'names', description: 'Run only these checks (comma-separated names)' },
    'one-client': { type: 'boolean', description: 'The server serves a single client and exits: run the checks that fit in one session' },
    'timeout-ms': { type: 'number', default: 3000, min: 1, description: 'Longest any one wait may take (a reply, a connect, a close)' },
    'quiet-ms': { type: 'number', default: 150, min: 1, description: 'Silence after which a reply counts as complete' },
    clients: { type: 'number', default: 20, min: 2, max: 1000, description: 'Clients at once in many-clients' },
    ...JSON_FLAG,
  },
  examples: [
    'socklab check concurrent 12345',
    'socklab check sequential 127.0.0.1 12345 --only greets,split-read',
    'socklab check greeting 12345 --one-client',
    'socklab check udp-counter localhost 12345 --json',
  ],
  async run({ values, positionals }, io) {
    const [protocol, ...rest] = positionals;
    if (protocol === undefined) throw usageError(`Say which protocol to check: ${CHECK_PROTOCOLS.join(', ')}`);
    if (!(CHECK_PROTOCOLS as readonly string[]).includes(protocol)) throw usageError(`Unknown protocol '${protocol}': use one of ${CHECK_PROTOCOLS.join(', ')}`);
    if (rest.length === 0) throw usageError('Say which port the server listens on: socklab check <protocol> [host] <port>');
    const [host, portText] = rest.length === 1 ? ['127.0.0.1', rest[0]!] : [rest[0]!, rest[1]!];
    const oneClient = values['one-client'] === true;
    const only = values.only?.split(',').map((name) => name.trim()).filter(Boolean);
    const known = checkNames(protocol as CheckProtocol, oneClient);
    const unknown = (only ?? []).filter((name) => !known.includes(name));
    if (unknown.length > 0) throw usageError(`No check named ${unknown.join(', ')} for ${protocol}: the checks are ${known.join(', ')}`);
    const report = await runChecks({
      protocol: protocol as CheckProtocol,
      host,
      port: parsePort(portText),
      timeoutMs: values['timeout-ms'],
      quietMs: values['quiet-ms'],
      clients: values.clients,
      oneClient,
      ...(only ? { only } : {}),
      signal: io.signal,
    });
    const out = new EventOutput(io, values.json === true);
    for (const check of report.checks) out.event('check', { ...check });
    const passed = report.checks.filter((check) => check.passed).length;
    out.event('summary', { totals: { protocol: report.protocol, target: report.target, passed: report.passed, checks: report.checks.length, checksPassed: passed } });
    out.say(formatCheckReport(report).trimEnd());
    return report.passed ? 0 : 1;
  },
});
