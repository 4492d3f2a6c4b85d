import assert from 'node:assert/strict';
import { validateEvent } from '../../src/cli/json-events.js';
import type { BenchResult } from '../../src/bench/report.js';
import { eventually } from './changes.js';
import type { Child } from './processes.js';

/** A parsed `--json` line. */
export type JsonEvent = { v: number; ts: string; event: string } & Record<string, unknown>;

/** Parses every line of a `--json` stdout, asserting each one against the schema. */
export function parseEvents(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const event = JSON.parse(line) as JsonEvent;
      assert.deepEqual(validateEvent(event), [], `schema violation in ${line}`);
      return event;
    });
}

/** Waits until a `--json` child has printed an event matching `match`, and returns it. */
export async function waitForEvent(child: Child, match: (event: JsonEvent) => boolean, timeoutMs = 5000): Promise<JsonEvent> {
  let found: JsonEvent | undefined;
  // Whole lines only: the last one may have arrived in part. Output arrives in bursts; every 25 ms is plenty.
  await eventually(
    () => (found = parseEvents(child.stdout.slice(0, child.stdout.lastIndexOf('\n') + 1)).find(match)) !== undefined,
    () => `a matching event.\nstdout: ${child.stdout}\nstderr: ${child.stderr}`,
    timeoutMs,
    25,
  );
  return found!;
}

/** Waits until a `--json` child has printed `count` events matching `match`, and returns them. */
export async function waitForEvents(child: Child, match: (event: JsonEvent) => boolean, count: number, timeoutMs = 5000): Promise<JsonEvent[]> {
  let found: JsonEvent[] = [];
  await waitForEvent(
    child,
    () => {
      found = parseEvents(child.stdout.slice(0, child.stdout.lastIndexOf('\n') + 1)).filter(match);
      return found.length >= count;
    },
    timeoutMs,
  );
  return found;
}

/** Stops a `--json` server we started with SIGTERM and checks it shut down cleanly: exit 0, a `stopped` event, no stack trace. */
export async function stopJson(child: Child, deadlineMs = 5000): Promise<JsonEvent[]> {
  assert.ok(child.running, `server died during the test.\nstdout: ${child.stdout}\nstderr: ${child.stderr}`);
  child.proc.kill('SIGTERM');
  const { code } = await child.finish(deadlineMs);
  assert.equal(code, 0, `server exit ${code}.\nstderr: ${child.stderr}`);
  assert.doesNotMatch(child.stderr, /internal error|\n\s+at /, 'no stack trace');
  const events = parseEvents(child.stdout);
  assert.ok(events.some((e) => e.event === 'stopped'), 'a stopped event');
  return events;
}

/** The result of `bench --json`: the totals of its last line, the `summary` (interval lines come before it). */
export function benchSummary(stdout: string): BenchResult {
  const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as { event: string; totals: BenchResult };
  assert.equal(last.event, 'summary');
  return last.totals;
}
