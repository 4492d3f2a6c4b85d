import { isIP } from 'node:net';
import { isLoopback, unbracket } from '../address.js';
import { SocklabError } from '../errors.js';
import { startDashboard, type Dashboard } from './server.js';
import type { DashboardSource } from './source.js';

export { DASHBOARD_FLAG } from './flag.js';

/**
 * Reads `--dashboard [host:]port`: a bare port stays on loopback; any other host must be written out
 * (`0.0.0.0:9000`, `[::]:9000`), so serving the page to the network is always asked for explicitly.
 *
 * @example parseDashboardAddress('9000') // { host: '127.0.0.1', port: 9000 }
 */
export function parseDashboardAddress(text: string): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  const host = match?.[1] === undefined ? '127.0.0.1' : unbracket(match[1]);
  if (!match || port > 65_535 || (host !== 'localhost' && isIP(host) === 0)) {
    throw new SocklabError('SL_ERR_USAGE', `Option '--dashboard' must be [host:]port, e.g. 9000, 127.0.0.1:9000 or 0.0.0.0:9000; got '${text}'`);
  }
  return { host, port };
}

/**
 * Starts the dashboard a command asked for and prints where it is; a note goes to `warn` when it is reachable
 * from other machines. If it cannot start (port taken), `stopWatched` stops what it was to watch before the
 * error is passed on, so the command fails as a whole.
 */
export async function serveDashboard(
  flag: string,
  source: DashboardSource,
  print: (line: string) => void,
  warn: (line: string) => void,
  stopWatched: () => Promise<void> = async () => {},
): Promise<Dashboard> {
  const { host, port } = parseDashboardAddress(flag);
  let dashboard: Dashboard;
  try {
    dashboard = await startDashboard({ source, host, port });
  } catch (err) {
    source.detach();
    await stopWatched();
    throw err;
  }
  print(`dashboard on ${dashboard.url} (metrics: ${dashboard.url}metrics)`);
  if (!isLoopback(host)) warn(`note: the dashboard listens on ${host}, so other machines can see it (peer addresses and messages included); it is read-only`);
  return dashboard;
}
