/**
 * Helpers for the guide's "watch it" boxes: ss rows with the ports renamed as the guide writes them, polled
 * with a deadline (the kernel's ACKs can lag our events), a tcpdump capture on lo, and the recorded boxes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { available, ROOT, start, type Child } from './processes.js';

export const guide = readFileSync(`${ROOT}workshop/README.md`, 'utf8');

/** The "watch it" box whose title starts with `title`: its quoted lines, up to the first unquoted one. */
export function box(title: string): string {
  const from = guide.indexOf(`> **Watch it: ${title}`);
  assert.ok(from !== -1, `workshop/README.md has a "Watch it: ${title}" box`);
  const lines = guide.slice(from).split('\n');
  return `${lines.slice(0, lines.findIndex((line) => !line.startsWith('>'))).join('\n')}\n`;
}

/** The lines of each console block in a box, without the `> ` quote and the `$ command` lines. */
export function boxBlocks(text: string): string[][] {
  return [...text.matchAll(/> ```(?:console|text)\n([^]*?)> ```\n/g)].map((match) =>
    match[1]!
      .split('\n')
      .map((line) => line.replace(/^> ?/, ''))
      .filter((line) => line !== '' && !line.startsWith('$ ')),
  );
}

/** Renames ports as the guide does: `names` maps a real port to its printed one, any other port becomes 5000x. */
export function renamePorts(text: string, names: ReadonlyMap<number, string>): string {
  const others = new Map<string, string>();
  return text.replace(/(127\.0\.0\.1[:.])(\d+)\b/g, (_whole, prefix: string, port: string) => {
    const named = names.get(Number(port));
    if (named) return prefix + named;
    if (!others.has(port)) others.set(port, String(50001 + others.size));
    return prefix + others.get(port)!;
  });
}

/** `ss <flags>` for sockets on `port` (either end), one array of columns per socket. */
export function ss(flags: string, port: number): string[][] {
  let out: string;
  try {
    out = execFileSync('ss', [`-H${flags}`, `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') assert.fail('ss is not installed: apt-get install -y iproute2');
    throw err;
  }
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.trim().split(/\s+/));
}

/** Polls `ss` until `ready(rows)` holds, for at most `timeoutMs`; returns the last rows either way. */
export async function pollSs(flags: string, port: number, ready: (rows: string[][]) => boolean, timeoutMs = 5000): Promise<string[][]> {
  const deadline = Date.now() + timeoutMs;
  let rows = ss(flags, port);
  while (!ready(rows) && Date.now() < deadline) {
    await sleep(20);
    rows = ss(flags, port);
  }
  return rows;
}

/** "STATE local peer" of each row, ports renamed, sorted, for comparing with a box. */
export function states(rows: string[][], names: ReadonlyMap<number, string>): string[] {
  return rows.map(([state, , , local, peer]) => renamePorts(`${state} ${local} ${peer}`, names)).sort();
}

/** The same, read from a box's recorded `ss` lines (a header line starts with "State"). */
export function recordedStates(lines: string[]): string[] {
  return lines
    .filter((line) => /^[A-Z][A-Z0-9-]*\s+\d+\s+\d+\s/.test(line)) // socket rows, not the header or other output
    .map((line) => {
      const [state, , , local, peer] = line.trim().split(/\s+/);
      return `${state} ${local} ${peer}`;
    })
    .sort();
}

export async function requireTcpdump(): Promise<void> {
  assert.ok(await available('tcpdump'), 'tcpdump is not installed: apt-get install -y tcpdump');
}

/** Starts tcpdump on lo with `filter` (line-buffered, no times) and waits until it captures. */
export async function capture(t: TestContext, filter: string): Promise<Child> {
  await requireTcpdump();
  const dump = start(t, 'tcpdump', ['-i', 'lo', '-n', '-l', '-t', filter]);
  await dump.waitFor(/listening on lo/, 5000, 'stderr');
  return dump;
}

/** Waits until the capture holds `count` lines that match `pattern` (tcpdump prints as packets come). */
export async function captured(dump: Child, pattern: RegExp, count: number, timeoutMs = 5000): Promise<string[]> {
  const matching = (): string[] => dump.stdout.split('\n').filter((line) => pattern.test(line));
  const deadline = Date.now() + timeoutMs;
  while (matching().length < count && Date.now() < deadline) await sleep(20);
  return matching();
}

export const flags = (text: string): string[] => [...text.matchAll(/Flags \[([^\]]+)\]/g)].map((match) => match[1]!);
