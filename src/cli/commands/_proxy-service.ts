import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { formatEndpoint, unbracket } from '../../address.js';
import { SocklabError } from '../../errors.js';
import { isUdp, ProxySet, type ManagedProxy } from '../../proxy/proxy-set.js';
import type { TcpProxy, TcpProxyEvent } from '../../proxy/tcp-proxy.js';
import { startToxiproxyApi, type ToxiproxyApi } from '../../proxy/toxiproxy-api.js';
import { usageError } from '../command.js';
import type { EventOutput } from '../json-events.js';

/** Where `--api` listens when given without a value: toxiproxy's own address. */
export const DEFAULT_API_ADDRESS = '127.0.0.1:8474';

const ADDRESS = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/;

/**
 * `--api` may come without a value (toxiproxy's 127.0.0.1:8474). node's parser wants one, so one is put in
 * when the next word is not an address: `--api localhost 6379` is the API on its default with a target.
 */
export function withApiDefault(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    out.push(argv[i]!);
    if (argv[i] === '--api' && !ADDRESS.test(argv[i + 1] ?? '')) out.push(DEFAULT_API_ADDRESS);
  }
  return out;
}

/** `--api [host:]port`: loopback unless a host is written out. */
export function parseApiAddress(text: string): { host: string; port: number } {
  const match = ADDRESS.exec(text.trim());
  const port = Number(match?.[2]);
  const host = match?.[1] === undefined ? '127.0.0.1' : unbracket(match[1]);
  if (!match || port > 65_535 || (host !== 'localhost' && isIP(host) === 0)) {
    throw usageError(`Option '--api' must be [host:]port, e.g. 8474, 127.0.0.1:8474 or 0.0.0.0:8474; got '${text}'`);
  }
  return { host, port };
}

/** Reads a toxiproxy `-config` file: a JSON array of `{ name, listen, upstream, enabled? }`. */
export async function readProxyConfig(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new SocklabError('SL_ERR_PROXY_INVALID', `Cannot read --config ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SocklabError('SL_ERR_PROXY_INVALID', `Cannot read --config ${file}: not JSON (${(cause as Error).message})`, { cause });
  }
}

export interface ProxyService {
  proxies: ProxySet;
  api: ToxiproxyApi | undefined;
  close(): Promise<void>;
}

/**
 * Runs named proxies the toxiproxy way: the default proxy (if a target was given), those of `--config`, and
 * whatever the HTTP API (with `--api`) creates later. Every proxy's events are reported with its name.
 */
export async function startProxyService(
  options: { api: string | undefined; config: string | undefined; seed: number | undefined; defaultProxy: TcpProxy | undefined; quiet: boolean },
  out: EventOutput,
  report: (event: TcpProxyEvent, proxy: TcpProxy) => void,
): Promise<ProxyService> {
  const watched = new WeakSet<ManagedProxy>();
  const watch = (proxy: ManagedProxy): void => {
    if (watched.has(proxy)) return;
    watched.add(proxy);
    if (!options.quiet && !isUdp(proxy)) proxy.on('event', (event) => report(event, proxy));
    out.event('listening', { address: proxy.address(), protocol: isUdp(proxy) ? 'udp' : 'tcp', target: proxy.upstreamText, seed: proxy.seed, proxy: proxy.name }, `proxy ${proxy.name} ${proxy.enabled ? `listening on ${formatEndpoint(proxy.address())}` : 'created (disabled)'}, proxying to ${proxy.upstreamText}`);
  };
  const proxies = new ProxySet({ ...(options.seed === undefined ? {} : { seed: options.seed }) }, watch);
  if (options.defaultProxy) {
    proxies.adopt(options.defaultProxy);
    watch(options.defaultProxy);
  }
  if (options.config !== undefined) {
    const { error } = await proxies.populate(await readProxyConfig(options.config));
    if (error !== undefined) {
      await proxies.close();
      throw error;
    }
  }
  let api: ToxiproxyApi | undefined;
  if (options.api !== undefined) {
    try {
      api = await startToxiproxyApi(proxies, parseApiAddress(options.api));
    } catch (err) {
      await proxies.close();
      throw err;
    }
    const address = api.address();
    out.event('listening', { address, protocol: 'http', mode: 'toxiproxy-api' }, `toxiproxy API on http://${formatEndpoint(address)} (${proxies.all().length} proxies)`);
    if (address.address !== '127.0.0.1' && address.address !== '::1') out.note(`note: the API on ${formatEndpoint(address)} lets anyone who reaches it create proxies on this machine`);
  }
  return { proxies, api, close: async () => (api ? api.close() : proxies.close()) };
}
