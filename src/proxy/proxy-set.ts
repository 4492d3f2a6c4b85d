import { formatEndpoint } from '../address.js';
import { SocklabError } from '../errors.js';
import { startTcpProxy, type TcpProxy, type TcpProxyOptions } from './tcp-proxy.js';
import { startUdpProxy, type UdpProxy } from './udp-proxy.js';

/** A proxy of the set: TCP, or UDP (a socklab extension). */
export type ManagedProxy = TcpProxy | UdpProxy;
import type { TlsClientOptions, TlsServerOptions } from '../tls/options.js';
import type { Toxic } from './toxics.js';

/** A proxy as toxiproxy's API and its populate files describe it. */
export interface ProxyDefinition {
  name: string;
  /** `host:port` to listen on (`[::1]:0` for IPv6; port 0 picks one). @default '127.0.0.1:0' */
  listen?: string;
  /** `host:port` to relay to. */
  upstream: string;
  /** @default true */
  enabled?: boolean;
  /** socklab extension: `udp` relays datagrams, with the UDP toxics (latency, drop, duplicate, reorder). @default 'tcp' */
  protocol?: 'tcp' | 'udp';
  /** socklab extension: terminate TLS (clients speak TLS to the proxy): `true` (self-signed) or `{ cert, key }`. */
  tls?: boolean | TlsServerOptions;
  /** socklab extension: originate TLS to the upstream: `true` (verified against the system CAs) or `{ ca, servername, fingerprint, insecure }`. */
  upstream_tls?: boolean | TlsClientOptions;
}

/** A proxy as toxiproxy's API shows it. */
export interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: Toxic[];
  /** Shown only when set (socklab extensions). */
  protocol?: 'udp';
  tls?: true;
  upstream_tls?: true;
}

/** True for a UDP proxy of the set. */
export function isUdp(proxy: ManagedProxy): proxy is UdpProxy {
  return 'forwarded' in proxy.stats;
}

function invalid(message: string): SocklabError {
  return new SocklabError('SL_ERR_PROXY_INVALID', message);
}

/** Splits `host:port` (`[v6]:port`); an empty host is loopback, not every interface (toxiproxy's is every one). */
export function splitHostPort(text: string, field: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]*)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) throw invalid(`Field ${field} must be host:port, got ${JSON.stringify(text)}`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

function checkDefinition(value: unknown, where = ''): ProxyDefinition {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`A proxy must be a JSON object${where}`);
  const { name, listen, upstream, enabled, tls, upstream_tls: upstreamTls, protocol } = value as Record<string, unknown>;
  if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp') throw invalid(`Field protocol must be tcp or udp${where}`);
  if (protocol === 'udp' && (tls || upstreamTls)) throw invalid(`Fields tls and upstream_tls are for TCP proxies${where}`);
  if (typeof name !== 'string' || name === '') throw new SocklabError('SL_ERR_PROXY_INVALID', `name${where}`, { cause: 'missing' });
  if (typeof upstream !== 'string' || upstream === '') throw new SocklabError('SL_ERR_PROXY_INVALID', `upstream${where}`, { cause: 'missing' });
  if (listen !== undefined && typeof listen !== 'string') throw invalid(`Field listen must be a string${where}`);
  if (enabled !== undefined && typeof enabled !== 'boolean') throw invalid(`Field enabled must be true or false${where}`);
  for (const [field, setting] of [['tls', tls], ['upstream_tls', upstreamTls]] as const) {
    if (setting !== undefined && typeof setting !== 'boolean' && (typeof setting !== 'object' || setting === null || Array.isArray(setting))) throw invalid(`Field ${field} must be true, false or an object${where}`);
  }
  return {
    name,
    upstream,
    listen: listen ?? '127.0.0.1:0',
    enabled: enabled ?? true,
    ...(protocol === 'udp' ? { protocol: 'udp' as const } : {}),
    ...(tls ? { tls: tls as boolean | TlsServerOptions } : {}),
    ...(upstreamTls ? { upstream_tls: upstreamTls as boolean | TlsClientOptions } : {}),
  };
}

/** True when an error is "a required field is missing" (the API words it as toxiproxy does). */
export function isMissingField(err: unknown): err is SocklabError {
  return err instanceof SocklabError && err.code === 'SL_ERR_PROXY_INVALID' && err.cause === 'missing';
}

/**
 * Named TCP proxies, created, changed and removed at run time: the model behind `socklab proxy --api`,
 * one toxiproxy server's worth.
 *
 * In the library it is made by `createProxySet` (loaded on that call), and driven over HTTP by `startToxiproxyApi`.
 *
 * @example
 * const proxies = await createProxySet({ seed: 1 });
 * const echo = await proxies.create({ name: 'echo', listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}` });
 * echo.addToxic({ type: 'latency', attributes: { latency: 50 } });
 * console.log(proxies.json(echo)); // { name: 'echo', listen: '127.0.0.1:…', toxics: [ … ], … }
 * await proxies.close();
 */
export class ProxySet {
  readonly #proxies = new Map<string, ManagedProxy>();
  /** The listen address each proxy was asked for (a port 0 stays 0 here, for populate's comparison). */
  readonly #asked = new Map<string, string>();
  /** TLS settings by proxy name, kept across a restart on a new address. */
  readonly #tls = new Map<string, Pick<ProxyDefinition, 'tls' | 'upstream_tls'>>();

  constructor(
    readonly defaults: Pick<TcpProxyOptions, 'seed' | 'maxHeldBytes' | 'onChunk'> = {},
    /** Told of every proxy this set starts (to watch its events). */
    readonly onStart: (proxy: ManagedProxy) => void = () => {},
  ) {}

  /** Every proxy, by name. */
  all(): ManagedProxy[] {
    return [...this.#proxies.values()];
  }

  get(name: string): ManagedProxy {
    const proxy = this.#proxies.get(name);
    if (!proxy) throw new SocklabError('SL_ERR_PROXY_NOT_FOUND', `No proxy named "${name}"`);
    return proxy;
  }

  /** Adds a proxy that was started elsewhere (the command line's default proxy). */
  adopt(proxy: TcpProxy, asked = formatEndpoint(proxy.address())): void {
    if (this.#proxies.has(proxy.name)) throw new SocklabError('SL_ERR_PROXY_EXISTS', `A proxy named "${proxy.name}" already exists`);
    this.#proxies.set(proxy.name, proxy);
    this.#asked.set(proxy.name, asked);
  }

  /** Creates and (unless `enabled: false`) starts a proxy. */
  async create(input: unknown, toxics: readonly Toxic[] = []): Promise<ManagedProxy> {
    const definition = checkDefinition(input);
    if (this.#proxies.has(definition.name)) throw new SocklabError('SL_ERR_PROXY_EXISTS', `A proxy named "${definition.name}" already exists`);
    const proxy = await this.#start(definition, toxics);
    this.#proxies.set(definition.name, proxy);
    this.#tls.set(definition.name, { ...(definition.tls ? { tls: definition.tls } : {}), ...(definition.upstream_tls ? { upstream_tls: definition.upstream_tls } : {}) });
    this.#asked.set(definition.name, definition.listen!);
    this.onStart(proxy);
    return proxy;
  }

  async #start(definition: ProxyDefinition, toxics: readonly Toxic[]): Promise<ManagedProxy> {
    const listen = splitHostPort(definition.listen ?? '127.0.0.1:0', 'listen');
    const upstream = splitHostPort(definition.upstream, 'upstream');
    const common = {
      name: definition.name,
      host: listen.host,
      port: listen.port,
      targetHost: upstream.host,
      targetPort: upstream.port,
      toxics: [...toxics],
      enabled: definition.enabled !== false,
    };
    if (definition.protocol === 'udp') {
      const { seed } = this.defaults;
      return startUdpProxy({ ...(seed === undefined ? {} : { seed }), ...common });
    }
    return startTcpProxy({
      ...this.defaults,
      ...common,
      ...(definition.tls ? { tls: definition.tls } : {}),
      ...(definition.upstream_tls ? { upstreamTls: definition.upstream_tls } : {}),
    });
  }

  /**
   * Toxiproxy's partial update: the fields given change, the rest stay. A new listen address or upstream
   * restarts the proxy there, keeping its toxics; `enabled` starts or stops it.
   */
  async update(name: string, change: unknown): Promise<ManagedProxy> {
    const proxy = this.get(name);
    if (typeof change !== 'object' || change === null || Array.isArray(change)) throw invalid('A proxy update must be a JSON object');
    const given = change as Record<string, unknown>;
    const current = this.json(proxy);
    const merged = checkDefinition({ name, listen: current.listen, upstream: proxy.upstreamText, enabled: proxy.enabled, ...(current.protocol ? { protocol: current.protocol } : {}), ...this.#tls.get(name), ...given });
    if (merged.listen !== this.json(proxy).listen || merged.upstream !== proxy.upstreamText) {
      const replacement = await this.#replace(proxy, merged);
      if (given['listen'] !== undefined) this.#asked.set(name, merged.listen!);
      return replacement;
    }
    if (merged.enabled) await proxy.enable();
    else await proxy.disable();
    return proxy;
  }

  async #replace(proxy: ManagedProxy, definition: ProxyDefinition): Promise<ManagedProxy> {
    await proxy.close();
    const replacement = await this.#start(definition, proxy.toxics());
    this.#proxies.set(definition.name, replacement);
    this.onStart(replacement);
    return replacement;
  }

  /** Stops a proxy and forgets it. */
  async remove(name: string): Promise<void> {
    const proxy = this.get(name);
    this.#proxies.delete(name);
    this.#asked.delete(name);
    this.#tls.delete(name);
    await proxy.close();
  }

  /**
   * Toxiproxy's populate: creates each proxy, or replaces one of the same name whose listen address or upstream
   * differs (one that matches is kept as it is, toxics and all). Stops at the first failure; `created` holds
   * those done before it.
   */
  async populate(input: unknown): Promise<{ proxies: ManagedProxy[]; error?: unknown }> {
    if (!Array.isArray(input)) throw invalid('Populate takes a JSON array of proxies');
    const definitions = input.map((entry, i) => checkDefinition(entry, ` at proxy ${i + 1}`));
    const proxies: ManagedProxy[] = [];
    for (const definition of definitions) {
      try {
        const existing = this.#proxies.get(definition.name);
        if (existing && this.#asked.get(definition.name) === definition.listen && existing.upstreamText === definition.upstream) {
          proxies.push(existing);
          continue;
        }
        if (existing) await this.remove(definition.name);
        proxies.push(await this.create(definition));
      } catch (error) {
        return { proxies, error };
      }
    }
    return { proxies };
  }

  /** Toxiproxy's reset: every proxy enabled, every toxic removed. */
  async reset(): Promise<void> {
    for (const proxy of this.#proxies.values()) {
      await proxy.enable();
      proxy.resetToxics();
    }
  }

  json(proxy: ManagedProxy): ProxyJson {
    const tls = this.#tls.get(proxy.name);
    return {
      name: proxy.name,
      listen: formatEndpoint(proxy.address()),
      upstream: proxy.upstreamText,
      enabled: proxy.enabled,
      toxics: proxy.toxics(),
      ...(isUdp(proxy) ? { protocol: 'udp' as const } : {}),
      ...(tls?.tls ? { tls: true as const } : {}),
      ...(tls?.upstream_tls ? { upstream_tls: true as const } : {}),
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#proxies.values()].map((proxy) => proxy.close()));
    this.#proxies.clear();
  }
}
