import { formatEndpoint } from '../../address.js';
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
