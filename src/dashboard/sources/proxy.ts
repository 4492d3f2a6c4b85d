import { formatEndpoint } from '../../address.js';
import { isUdp, type ProxySet } from '../../proxy/proxy-set.js';
import type { TcpProxy, TcpProxyEvent } from '../../proxy/tcp-proxy.js';
import type { UdpProxy } from '../../proxy/udp-proxy.js';
import { DEFAULTS } from '../../options.js';
import { countRows, labelled, type ConnectionRow, type DashboardSource, type Section } from '../source.js';

/** The faults a proxy was started with, as shown on the page, e.g. `{ 'latency-ms': 100 }`. */
export type FaultSettings = Record<string, string | number>;

function faultSection(settings: FaultSettings): Section {
  return { title: 'Faults configured', columns: ['fault', 'setting'], rows: Object.entries(settings), empty: 'none: a plain relay' };
}

/**
 * Watches a TCP proxy through its events: a connection is listed from `open` to `close`, its bytes read from
 * the client socket the event carries.
 *
 * @example
 * const source = tcpProxySource(proxy, { 'latency-ms': 100 });
 */
export function tcpProxySource(proxy: TcpProxy, faults: FaultSettings): DashboardSource {
  const open = new Map<number, { peer: string; since: number; socket: Extract<TcpProxyEvent, { type: 'open' }>['socket'] }>();
  // Every toxic that acted, by name and type (one count per connection it acted on).
  const applied: Record<string, number> = {};
  const onEvent = (event: TcpProxyEvent): void => {
    if (event.type === 'open') open.set(event.id, { peer: formatEndpoint(event.client), since: Date.now(), socket: event.socket });
    else if (event.type === 'close') open.delete(event.id);
    else if (event.type === 'fault') {
      const kind = `${event.toxic} (${event.kind})`;
      applied[kind] = (applied[kind] ?? 0) + 1;
    }
  };
  proxy.on('event', onEvent);
  const { stats } = proxy;
  return {
    kind: 'tcp-proxy',
    title: `proxy (tcp, seed ${proxy.seed})`,
    address: () => formatEndpoint(proxy.address()),
    rates: [
      { total: 'bytesUp', label: 'bytes up/s', axis: 1 },
      { total: 'bytesDown', label: 'bytes down/s', axis: 1 },
      { total: 'connections', label: 'connections/s' },
    ],
    sample() {
      const now = Date.now();
      const rows: ConnectionRow[] = [];
      for (const { peer, since, socket } of open.values()) {
        if (rows.length >= DEFAULTS.dashboardMaxRows) break;
        rows.push({ peer, ageMs: now - since, bytesIn: socket?.bytesRead ?? 0, bytesOut: socket?.bytesWritten ?? 0, state: socket?.destroyed ? 'closing' : 'relaying' });
      }
      return {
        totals: { bytesUp: stats.bytesUp, bytesDown: stats.bytesDown, connections: stats.connections },
        cards: [
          { label: 'open', value: stats.active },
          { label: 'connections', value: stats.connections },
          { label: 'resets', value: stats.resets },
          { label: 'upstream failures', value: stats.upstreamFailures },
        ],
        connections: rows,
        unlisted: Math.max(0, open.size - rows.length),
        sections: [
          faultSection(faults),
          { title: 'Toxics', columns: ['name', 'type', 'stream', 'toxicity', 'attributes'], rows: proxy.toxics().map((toxic) => [toxic.name, toxic.type, toxic.stream, toxic.toxicity, JSON.stringify(toxic.attributes)]), empty: 'none: a plain relay' },
          { title: 'Faults applied', columns: ['fault', 'connections'], rows: countRows({ ...applied, 'upstream unreachable': stats.upstreamFailures }), empty: 'none yet' },
        ],
      };
    },
    metrics: [
      { name: 'socklab_connections_open', help: 'Connections relayed now', type: 'gauge', read: () => stats.active },
      { name: 'socklab_connections_total', help: 'Connections accepted by the proxy', type: 'counter', read: () => stats.connections },
      { name: 'socklab_proxy_bytes_total', help: 'Bytes relayed, by direction', type: 'counter', labelNames: ['direction'], read: () => labelled('direction', { up: stats.bytesUp, down: stats.bytesDown }) },
      { name: 'socklab_proxy_resets_total', help: 'Connections reset on purpose', type: 'counter', read: () => stats.resets },
      { name: 'socklab_proxy_faults_total', help: 'Times a toxic acted on a connection, by toxic type', type: 'counter', labelNames: ['toxic'], read: () => labelled('toxic', { ...stats.faults }) },
      { name: 'socklab_proxy_upstream_failures_total', help: 'Connections whose target could not be reached', type: 'counter', read: () => stats.upstreamFailures },
    ],
    extraSections: [],
    detach: () => void proxy.off('event', onEvent),
  };
}

/**
 * Watches a UDP proxy through its counters.
 *
 * @example
 * const source = udpProxySource(proxy, { drop: '10%' });
 */
export function udpProxySource(proxy: UdpProxy, faults: FaultSettings): DashboardSource {
  const { stats } = proxy;
  const fates = (): Record<string, number> => ({ forwarded: stats.forwarded, dropped: stats.dropped, duplicated: stats.duplicated, reordered: stats.reordered, refused: stats.refused });
  return {
    kind: 'udp-proxy',
    title: `proxy (udp, seed ${proxy.seed})`,
    address: () => `udp ${formatEndpoint(proxy.address())}`,
    rates: [
      { total: 'forwarded', label: 'forwarded/s' },
      { total: 'dropped', label: 'dropped/s' },
      { total: 'duplicated', label: 'duplicated/s' },
      { total: 'reordered', label: 'reordered/s' },
    ],
    sample() {
      return {
        totals: fates(),
        cards: [
          { label: 'clients', value: stats.sessions },
          { label: 'forwarded', value: stats.forwarded },
          { label: 'dropped', value: stats.dropped },
        ],
        sections: [faultSection(faults), { title: 'Faults applied', columns: ['fault', 'datagrams'], rows: countRows({ dropped: stats.dropped, duplicated: stats.duplicated, reordered: stats.reordered, 'refused (too many clients)': stats.refused }), empty: 'none yet' }],
      };
    },
    metrics: [
      { name: 'socklab_proxy_datagrams_total', help: 'Datagrams by what the proxy did with them', type: 'counter', labelNames: ['fate'], read: () => labelled('fate', fates()) },
      { name: 'socklab_proxy_clients_total', help: 'UDP clients relayed', type: 'counter', read: () => stats.sessions },
    ],
    extraSections: [],
    detach: () => {},
  };
}

/**
 * Watches every proxy of a toxiproxy-style set (`proxy --api`, `--config`): the proxies, the toxics in force on
 * each, and what each kind of toxic did, summed over the proxies for the charts.
 *
 * @example
 * const source = proxySetSource(proxies);
 */
export function proxySetSource(proxies: ProxySet): DashboardSource {
  const tcp = (): TcpProxy[] => proxies.all().filter((proxy): proxy is TcpProxy => !isUdp(proxy));
  const sum = (read: (proxy: TcpProxy) => number): number => tcp().reduce((total, proxy) => total + read(proxy), 0);
  // Counters stay cumulative when a proxy is removed: what it did is kept here.
  const gone = { bytesUp: 0, bytesDown: 0, connections: 0 };
  const totals = (): Record<string, number> => ({
    bytesUp: gone.bytesUp + sum((p) => p.stats.bytesUp),
    bytesDown: gone.bytesDown + sum((p) => p.stats.bytesDown),
    connections: gone.connections + sum((p) => p.stats.connections),
  });
  let last = new Map<string, TcpProxy>();
  const remember = (): void => {
    const now = new Map(tcp().map((proxy) => [proxy.name, proxy]));
    for (const [name, proxy] of last) {
      if (now.get(name) === proxy) continue;
      gone.bytesUp += proxy.stats.bytesUp;
      gone.bytesDown += proxy.stats.bytesDown;
      gone.connections += proxy.stats.connections;
    }
    last = now;
  };
  return {
    kind: 'tcp-proxy-set',
    title: 'proxies (toxiproxy API)',
    address: () => proxies.all().map((proxy) => `${proxy.name} ${formatEndpoint(proxy.address())}`).join(', ') || 'no proxies yet',
    rates: [
      { total: 'bytesUp', label: 'bytes up/s', axis: 1 },
      { total: 'bytesDown', label: 'bytes down/s', axis: 1 },
      { total: 'connections', label: 'connections/s' },
    ],
    sample() {
      remember();
      const all = proxies.all();
      const faults: Record<string, number> = {};
      for (const proxy of all) {
        const counts = isUdp(proxy) ? { drop: proxy.stats.dropped, duplicate: proxy.stats.duplicated, reorder: proxy.stats.reordered } : proxy.stats.faults;
        for (const [type, n] of Object.entries(counts)) faults[`${proxy.name}: ${type}`] = n;
      }
      return {
        totals: totals(),
        cards: [
          { label: 'proxies', value: all.length },
          { label: 'open', value: sum((p) => p.stats.active) },
          { label: 'resets', value: sum((p) => p.stats.resets) },
        ],
        sections: [
          { title: 'Proxies', columns: ['name', 'listen', 'upstream', 'enabled', 'connections', 'open'], rows: all.map((p) => [isUdp(p) ? `${p.name} (udp)` : p.name, formatEndpoint(p.address()), p.upstreamText, p.enabled ? 'yes' : 'no (down)', isUdp(p) ? p.stats.sessions : p.stats.connections, isUdp(p) ? '' : p.stats.active]), empty: 'none yet: POST /proxies' },
          { title: 'Toxics', columns: ['proxy', 'name', 'type', 'stream', 'toxicity', 'attributes'], rows: all.flatMap((p) => p.toxics().map((t) => [p.name, t.name, t.type, t.stream, t.toxicity, JSON.stringify(t.attributes)])), empty: 'none' },
          { title: 'Faults applied', columns: ['proxy: toxic', 'connections (UDP: datagrams)'], rows: countRows(faults), empty: 'none yet' },
        ],
      };
    },
    metrics: [
      { name: 'socklab_proxies', help: 'Proxies defined', type: 'gauge', read: () => proxies.all().length },
      { name: 'socklab_connections_open', help: 'Connections relayed now', type: 'gauge', read: () => sum((p) => p.stats.active) },
      { name: 'socklab_proxy_bytes_total', help: 'Bytes relayed, by direction', type: 'counter', labelNames: ['direction'], read: () => labelled('direction', { up: totals()['bytesUp']!, down: totals()['bytesDown']! }) },
    ],
    extraSections: [],
    detach: () => {},
  };
}
