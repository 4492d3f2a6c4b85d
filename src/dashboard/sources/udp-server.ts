import { formatEndpoint } from '../../address.js';
import type { CounterServer, CounterStats } from '../../apps/counter-server.js';
import { countRows, labelled, type DashboardSource } from '../source.js';

/** Drops by reason, under the names the CLI and the metrics use. */
function dropsByReason(stats: CounterStats): Record<string, number> {
  return {
    empty: stats.empty,
    oversized: stats.oversized,
    malformed: stats.malformed,
    denied: stats.denied,
    'rate-limited': stats.rateLimited,
    amplification: stats.amplificationLimited,
    overloaded: stats.overloaded,
    'queue-full': stats.dropped,
  };
}

/**
 * Watches the UDP counter server: everything comes from its counters, read at each sample.
 *
 * @example
 * const dashboard = await startDashboard({ source: counterServerSource(server), port: 0 });
 */
export function counterServerSource(server: CounterServer): DashboardSource {
  const { stats } = server;
  const dropped = (): number => Object.values(dropsByReason(stats)).reduce((a, b) => a + b, 0);
  return {
    kind: 'udp-server',
    title: 'udp-serve (counter)',
    address: () => `udp ${formatEndpoint(server.address())}`,
    rates: [
      { total: 'received', label: 'datagrams in/s' },
      { total: 'gets', label: 'gets/s' },
      { total: 'replied', label: 'replies/s' },
      { total: 'dropped', label: 'drops/s' },
    ],
    sample() {
      return {
        totals: { received: stats.received, gets: stats.gets, replied: stats.replied, dropped: dropped() },
        cards: [
          { label: 'counter', value: server.counter },
          { label: 'pending replies', value: server.pending },
          { label: 'peak pending', value: stats.peakPending },
          { label: 'gets', value: stats.gets },
          { label: 'retries', value: stats.retries },
          { label: 'send errors', value: stats.sendErrors },
        ],
        sections: [{ title: 'Drops by reason', columns: ['reason', 'datagrams'], rows: countRows(dropsByReason(stats)), empty: 'none dropped' }],
      };
    },
    metrics: [
      { name: 'socklab_udp_requests_total', help: 'Datagrams received', type: 'counter', read: () => stats.received },
      { name: 'socklab_udp_gets_total', help: 'Gets that took a new counter value', type: 'counter', read: () => stats.gets },
      { name: 'socklab_udp_retries_total', help: 'Retried gets answered with their first value', type: 'counter', read: () => stats.retries },
      { name: 'socklab_udp_replies_total', help: 'Replies sent', type: 'counter', read: () => stats.replied },
      { name: 'socklab_udp_pending_replies', help: 'Replies waiting for their delay', type: 'gauge', read: () => server.pending },
      { name: 'socklab_udp_dropped_total', help: 'Datagrams dropped unanswered, by reason', type: 'counter', labelNames: ['reason'], read: () => labelled('reason', dropsByReason(stats)) },
      { name: 'socklab_udp_send_errors_total', help: 'Replies the OS refused to send', type: 'counter', read: () => stats.sendErrors },
    ],
    extraSections: [],
    detach: () => {},
  };
}
