// What Linux's /proc says about processes the tests started (and the processes those started).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { eventually } from './changes.js';

/** The fields of /proc/<pid>/stat the tests use. */
export interface ProcStat {
  /** R, S, D, Z (zombie: exited, not reaped), X (dead), … */
  state: string;
  /** The parent's PID. */
  ppid: number;
  /** The process group. */
  pgrp: number;
}

/** Reads /proc/<pid>/stat; undefined once the process is gone (reaped). */
export function readStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (2nd field) is in parentheses and may itself hold spaces or parentheses: the fields
  // counted from the last ")" are state, parent PID, process group.
  const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: state!, ppid: Number(ppid), pgrp: Number(pgrp) };
}

/** What /proc says of a process: gone (reaped), a zombie (exited, never reaped), or still there. */
export function processState(pid: number): 'gone' | 'zombie' | 'alive' {
  const stat = readStat(pid);
  if (stat === undefined) return 'gone';
  return stat.state === 'Z' || stat.state === 'X' ? 'zombie' : 'alive';
}

/** PIDs of the processes whose stat matches `test` (a process that goes while we look is left out). */
function pidsWhere(test: (stat: ProcStat) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat !== undefined && test(stat)) pids.push(Number(entry));
  }
  return pids;
}

/** PIDs whose parent is `pid`. */
export function childPids(pid: number): number[] {
  return pidsWhere((stat) => stat.ppid === pid);
}

/** PIDs in process group `pgid` (its leader included, while it lives). */
export function groupMembers(pgid: number): number[] {
  return pidsWhere((stat) => stat.pgrp === pgid);
}

/** Waits (polling /proc, bounded) until a process is gone, and asserts it did not stay a zombie or alive. */
export async function assertProcessGone(pid: number, timeoutMs = 5000): Promise<void> {
  let state = processState(pid);
  try {
    await eventually(() => (state = processState(pid)) === 'gone', `process ${pid} to be gone`, timeoutMs, 50);
  } catch {
    // The assertion below says what it still is.
  }
  assert.equal(state, 'gone', `process ${pid} is still ${state}`);
}

/** Waits (bounded) until none of `pids` runs any more: each gone, or a zombie (exited; its new parent may not reap it). */
export async function assertProcessesExited(pids: readonly number[], what: string, timeoutMs = 5000): Promise<void> {
  await eventually(
    () => pids.every((pid) => processState(pid) !== 'alive'),
    () => `${what} to exit; still running: ${pids.filter((pid) => processState(pid) === 'alive').join(', ')}`,
    timeoutMs,
  );
}

/** Reads a process's open file descriptors and resident memory from /proc. */
export function processUsage(pid: number): { fds: number; rssKiB: number } {
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { fds, rssKiB: Number(rss) };
}
