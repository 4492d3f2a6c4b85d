import { formatEndpoint } from '../../address.js';
import type { SocklabCode } from '../../errors.js';
import { DEFAULTS } from '../../options.js';
import type { TcpConnection } from '../../tcp/connection.js';
import type { ServerStats, TcpServer } from '../../tcp/server.js';
import { countRows, labelled, type ConnectionRow, type DashboardSource, type Section } from '../source.js';

/**
 * The last message of each connection, kept only while a dashboard watches: `record` stores a reference (no
 * copy, no decoding); the text is cut and decoded when the dashboard samples.
 *
 * @example
 * const last = new LastMessages();
 * const server = await startMessageServer({ port: 0, onMessage: last.record });
 */
export class LastMessages {
  // A Map, not a WeakMap: setting an existing key is the cheapest store per message; `forget` (on close) keeps
  // it from holding closed connections.
  readonly #messages = new Map<TcpConnection, Buffer>();
  /** Bound, so it can be handed over as a callback. */
  readonly record = (connection: TcpConnection, message: Buffer): void => {
    this.#messages.set(connection, message);
  };

  forget(connection: TcpConnection): void {
    this.#messages.delete(connection);
  }

  /** The connection's last message as text, cut to `maxBytes` (a cut may split a UTF-8 sequence: shown as U+FFFD). */
  text(connection: TcpConnection, maxBytes = DEFAULTS.dashboardLastMessageBytes): string | undefined {
    const message = this.#messages.get(connection);
    if (message === undefined) return undefined;
    const text = message.toString('utf8', 0, Math.min(message.length, maxBytes));
    return message.length > maxBytes ? `${text}…` : text;
  }
}

export interface TcpServerSourceOptions {
  tcp: TcpServer;
  /** Shown as the page's title, e.g. "serve (concurrent)". */
  title: string;
  /** Messages received so far (the server's own counter). */
  messagesReceived: () => number;
  /** Connections that ended in an error, by code. */
  errors?: Partial<Record<SocklabCode, number>>;
  lastMessages?: LastMessages;
}

/**
 * Watches a TCP server: its connections are walked at each sample (bytes from the sockets, messages from each
 * connection's stats); the only per-connection work is one `close` listener that keeps the totals of closed
 * connections.
 *
 * @example
 * const source = tcpServerSource({ tcp: server.tcp, title: 'serve', messagesReceived: () => server.stats.messages });
 */
export function tcpServerSource(options: TcpServerSourceOptions): DashboardSource {
  const { tcp, lastMessages } = options;
  const closed = { bytesIn: 0, bytesOut: 0, messagesOut: 0 };
  function onClose(this: TcpConnection): void {
    closed.bytesIn += this.socket.bytesRead;
    closed.bytesOut += this.socket.bytesWritten;
    closed.messagesOut += this.stats.messagesOut;
    lastMessages?.forget(this);
  }
  // When each connection arrived: a WeakMap, so a closed connection's entry goes with it.
  const connectedAt = new WeakMap<TcpConnection, number>();
  const watch = (conn: TcpConnection): void => {
    connectedAt.set(conn, Date.now());
    conn.once('close', onClose);
  };
  for (const conn of tcp.connections) watch(conn);
  tcp.on('connection', watch);
  const startedAt = Date.now();

  const totals = (): Record<string, number> => {
    let bytesIn = closed.bytesIn;
    let bytesOut = closed.bytesOut;
    let messagesOut = closed.messagesOut;
    for (const conn of tcp.connections) {
      bytesIn += conn.socket.bytesRead;
      bytesOut += conn.socket.bytesWritten;
      messagesOut += conn.stats.messagesOut;
    }
    return { messagesIn: options.messagesReceived(), messagesOut, bytesIn, bytesOut, accepted: tcp.stats.accepted };
  };
  const drops = (stats: ServerStats): Record<string, number> => ({
    'rejected (server full)': stats.rejected,
    'denied (allow/deny)': stats.denied,
    'accept errors': stats.acceptErrors,
  });

  const source: DashboardSource = {
    kind: 'tcp-server',
    title: options.title,
    address: () => formatEndpoint(tcp.address()),
    rates: [
      { total: 'messagesIn', label: 'messages in/s' },
      { total: 'messagesOut', label: 'messages out/s' },
      { total: 'bytesIn', label: 'bytes in/s', axis: 1 },
      { total: 'bytesOut', label: 'bytes out/s', axis: 1 },
    ],
    sample() {
      const now = Date.now();
      const rows: ConnectionRow[] = [];
      for (const conn of tcp.connections) {
        if (rows.length >= DEFAULTS.dashboardMaxRows) break;
        const last = lastMessages?.text(conn);
        rows.push({
          peer: conn.peer,
          ageMs: now - (connectedAt.get(conn) ?? startedAt),
          bytesIn: conn.socket.bytesRead,
          bytesOut: conn.socket.bytesWritten,
          messagesIn: conn.stats.messagesIn,
          messagesOut: conn.stats.messagesOut,
          state: conn.peerEnded && conn.state === 'open' ? 'half-closed' : conn.state,
          ...(last === undefined ? {} : { last }),
        });
      }
      const sums = totals();
      const sections: Section[] = [
        { title: 'Errors by code', columns: ['code', 'connections'], rows: countRows(options.errors ?? {}), empty: 'no errors' },
        { title: 'Drops', columns: ['why', 'count'], rows: countRows(drops(tcp.stats)), empty: 'none dropped' },
      ];
      return {
        totals: sums,
        cards: [
          { label: 'open', value: tcp.stats.active },
          { label: 'peak', value: tcp.stats.peakActive },
          { label: 'accepted', value: tcp.stats.accepted },
          { label: 'messages in', value: sums.messagesIn! },
          { label: 'max connections', value: tcp.maxConnections },
        ],
        connections: rows,
        unlisted: Math.max(0, tcp.connections.size - rows.length),
        sections,
      };
    },
    metrics: [
      { name: 'socklab_connections_open', help: 'TCP connections open now', type: 'gauge', read: () => tcp.stats.active },
      { name: 'socklab_connections_total', help: 'TCP connections accepted', type: 'counter', read: () => tcp.stats.accepted },
      { name: 'socklab_connections_rejected_total', help: 'TCP connections turned away', type: 'counter', labelNames: ['reason'], read: () => labelled('reason', { full: tcp.stats.rejected, denied: tcp.stats.denied }) },
      { name: 'socklab_accept_errors_total', help: 'Failed accepts (out of file descriptors)', type: 'counter', read: () => tcp.stats.acceptErrors },
      { name: 'socklab_messages_received_total', help: 'Messages received', type: 'counter', read: () => options.messagesReceived() },
      { name: 'socklab_messages_sent_total', help: 'Messages sent', type: 'counter', read: () => totals().messagesOut! },
      { name: 'socklab_bytes_received_total', help: 'Bytes received on TCP connections', type: 'counter', read: () => totals().bytesIn! },
      { name: 'socklab_bytes_sent_total', help: 'Bytes sent on TCP connections', type: 'counter', read: () => totals().bytesOut! },
      { name: 'socklab_connection_errors_total', help: 'Connections that ended in an error, by code', type: 'counter', labelNames: ['code'], read: () => labelled('code', options.errors ?? {}) },
    ],
    extraSections: [],
    detach: () => void tcp.off('connection', watch),
  };
  return source;
}
