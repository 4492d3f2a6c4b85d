import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validateEvent } from '../../src/cli/json-events.js';
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
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = parseEvents(child.stdout.slice(0, child.stdout.lastIndexOf('\n') + 1)).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms.\nstdout: ${child.stdout}\nstderr: ${child.stderr}`);
    // Output arrives in bursts; looking again every 25 ms is plenty for these short sessions.
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
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

/** What /proc says of a process: gone (reaped), a zombie (exited, never reaped), or still there. */
export function processState(pid: number): 'gone' | 'zombie' | 'alive' {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 'gone';
  }
  // The state is the field after the parenthesised command name (which may itself contain spaces or parens).
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state === 'Z' ? 'zombie' : 'alive';
}

/** Waits (polling /proc, bounded) until a process is gone, and asserts it did not stay a zombie or alive. */
export async function assertProcessGone(pid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let state = processState(pid);
  while (state !== 'gone' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    state = processState(pid);
  }
  assert.equal(state, 'gone', `process ${pid} is still ${state}`);
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
