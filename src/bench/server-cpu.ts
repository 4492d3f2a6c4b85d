import { readFileSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';

/** Linux counts process CPU time in clock ticks of 1/100 s (USER_HZ, the same on every architecture). */
const TICK_US = 10_000;

/**
 * The PID of the process listening on `port` (TCP, or UDP bound), found as `ss -p` does: the socket's inode in
 * /proc/net/{tcp,tcp6,udp,udp6}, then the process holding a descriptor to `socket:[inode]` in /proc/PID/fd.
 * Only processes this user may inspect are found; undefined elsewhere (or off Linux). Asynchronous: reading every
 * process's descriptors takes a few hundred ms on a busy machine, and must not stall the event loop meanwhile.
 *
 * @example await findListenerPid(6379, 'tcp') // 41234
 */
export async function findListenerPid(port: number, protocol: 'tcp' | 'udp'): Promise<number | undefined> {
  const inodes = new Set<string>();
  for (const table of protocol === 'tcp' ? ['tcp', 'tcp6'] : ['udp', 'udp6']) {
    const text = await readFile(`/proc/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      // TCP: state 0A is LISTEN; UDP: 07 is a bound (unconnected) socket.
      if (local === undefined || parseInt(local.split(':')[1] ?? '', 16) !== port || fields[3] !== (protocol === 'tcp' ? '0A' : '07')) continue;
      if (fields[9] !== undefined && fields[9] !== '0') inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid);
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
    if (links.some((link) => inodes.has(/^socket:\[(\d+)\]$/.exec(link)?.[1] ?? ''))) return Number(pid);
  }
  return undefined;
}

/** A process's user + system CPU so far, in µs (every thread); undefined once it is gone. */
export function processCpuUs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (in parentheses, which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** The command name of a process (/proc/PID/comm). */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** What the server used over a run. */
export interface ServerCpu {
  pid: number;
  command: string;
  /** User + system, µs, at 10 ms resolution. */
  cpuUs: number;
  /** Of one core, over the wall time measured. */
  cpuPercent: number;
}

/**
 * Measures a server process's CPU between `start()` and `stop()`.
 * @example const meter = serverCpuMeter(pid); … const { cpuUs } = meter.stop()!;
 */
export function serverCpuMeter(pid: number): { stop(): ServerCpu | undefined } {
  const startUs = processCpuUs(pid);
  const startedAt = performance.now();
  return {
    stop() {
      const endUs = processCpuUs(pid);
      if (startUs === undefined || endUs === undefined) return undefined;
      const wallUs = (performance.now() - startedAt) * 1000;
      return { pid, command: processName(pid), cpuUs: endUs - startUs, cpuPercent: wallUs > 0 ? Math.round(((endUs - startUs) / wallUs) * 1000) / 10 : 0 };
    },
  };
}
