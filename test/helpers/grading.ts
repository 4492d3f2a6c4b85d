/**
 * Helpers for the `socklab check` tests: start a server (a workshop step, a socklab command, a Python peer),
 * read its port, grade it, and compare the failed checks with the expected ones.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { runChecks, type CheckOptions, type CheckReport } from '../../src/check/run-checks.js';
import { available, CLI, start, type Child } from './processes.js';

/** Any line a server prints when it is ready: the steps' `listening on …:PORT`, the peers' `listening PORT`. */
const READY = /listening (?:on )?(?:udp )?(?:[\d.]+:)?(\d+)\s/;

export async function requirePython(): Promise<void> {
  assert.ok(await available('python3'), 'python3 is not installed: the graded peers need it (apt-get install -y python3)');
}

/** Starts a server and returns it with the port it printed. */
export async function startServer(t: TestContext, command: string, args: string[]): Promise<{ child: Child; port: number }> {
  const child = start(t, command, args);
  const [, port] = await child.waitFor(READY, 10_000);
  return { child, port: Number(port) };
}

export const step = (t: TestContext, name: string, args: string[] = ['0']) => startServer(t, process.execPath, [`dist/workshop/steps/${name}.js`, ...args]);
export const socklab = (t: TestContext, args: string[]) => startServer(t, process.execPath, [CLI, ...args]);
export const peer = (t: TestContext, script: string, args: string[]) => startServer(t, 'python3', ['-u', `test/peers/${script}`, ...args]);

/** Grades the server and asserts exactly `failing` failed (by name), showing the whole report otherwise. */
export async function assertVerdict(options: CheckOptions, failing: readonly string[]): Promise<CheckReport> {
  const report = await runChecks(options);
  const failed = report.checks.filter((check) => !check.passed).map((check) => check.name);
  const shown = report.checks.map((c) => `${c.passed ? 'pass' : 'FAIL'} ${c.name}: sent ${c.sent}; received ${c.received}`).join('\n');
  assert.deepEqual(failed, [...failing], `failed checks of ${options.protocol} on port ${options.port}:\n${shown}`);
  assert.equal(report.passed, failing.length === 0);
  for (const check of report.checks) {
    if (check.passed) assert.equal(check.hint, '');
    else assert.match(check.hint, /chapter \d+ of workshop\/README\.md/, `${check.name} names a chapter`);
  }
  return report;
}
