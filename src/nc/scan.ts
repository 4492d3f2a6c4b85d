import { formatEndpoint } from '../address.js';
import type { SocklabError } from '../errors.js';
import { dial, type DialOptions } from './dial.js';

/**
 * Ports as `nc -z` takes them: a list of ports and ranges, `20-30,80,443`.
 * @throws {RangeError} for a port outside 1–65535 or a backwards range
 * @example parsePortList('20-22,80') // [20, 21, 22, 80]
 */
export function parsePortList(text: string): number[] {
  const ports: number[] = [];
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    const first = Number(match?.[1]);
    const last = match?.[2] === undefined ? first : Number(match[2]);
    if (!match || first < 1 || last > 65_535 || last < first) {
      throw new RangeError(`Invalid port list '${text}': give ports from 1 to 65535 and ranges like 20-30, separated by commas`);
    }
    for (let port = first; port <= last; port++) ports.push(port);
  }
  return ports;
}

export interface ScanResult {
  port: number;
  open: boolean;
  target: string;
  error?: SocklabError;
}

/**
 * `nc -z`: a TCP connect to each port, closed as soon as it is decided (accepted, refused, or `-w` passed), so a
 * scan takes as long as its slowest answer, not a second per port. At most `concurrency` connects at once.
 *
 * @example for await (const r of scanPorts({ host: '127.0.0.1' }, [22, 80])) console.log(r.port, r.open);
 */
export async function* scanPorts(dialOptions: Omit<DialOptions, 'port'>, ports: readonly number[], concurrency = 16): AsyncGenerator<ScanResult> {
  const tryPort = async (port: number): Promise<ScanResult> => {
    try {
      const { socket, target } = await dial({ ...dialOptions, port });
      socket.destroy();
      return { port, open: true, target };
    } catch (err) {
      return { port, open: false, target: formatEndpoint({ address: dialOptions.host, port }), error: err as SocklabError };
    }
  };
  // Results come back in port order; up to `concurrency` connects run ahead of the one reported next.
  const running: Promise<ScanResult>[] = [];
  let next = 0;
  while (next < ports.length && running.length < concurrency) running.push(tryPort(ports[next++]!));
  while (running.length > 0) {
    const result = await running.shift()!;
    if (next < ports.length) running.push(tryPort(ports[next++]!));
    yield result;
  }
}
