import { formatEndpoint, type Endpoint } from '../address.js';
import { encodeMessage } from '../codec/framing.js';
import { SocklabError, type SocklabCode } from '../errors.js';
import { kAppState, type ConnectionHooks } from '../tcp/_hooks.js';
import { closeConnection, setConnectionHooks, type TcpConnection } from '../tcp/connection.js';
import { listenTcp, type ListenOptions, type ServerStats, type TcpServer } from '../tcp/server.js';
import { tlsClientOnPlaintextError } from '../tls/errors.js';
import { looksLikeTlsHandshake } from '../tls/sniff.js';

/**
 * - `greet`: the seed's server2.py. Greet the client, close, (by default) stop.
 * - `sequential`: the seed's server3.py. One client at a time; the next waits, accepted but unread, until the
 *   current one quits.
 * - `concurrent`: the seed's async_server.py. Every client at once.
 */
export type ServeMode = 'greet' | 'sequential' | 'concurrent';

export const SERVE_MODES: readonly ServeMode[] = ['concurrent', 'sequential', 'greet'];

/** The seed's texts, per mode: server2.py/server3.py thank the client, async_server.py says "connected". */
export const SEED_TEXTS: Readonly<Record<ServeMode, { greeting: string; reply: string }>> = Object.freeze({
  greet: { greeting: 'Thank you for connecting', reply: 'got your message' },
  sequential: { greeting: 'Thank you for connecting', reply: 'got your message' },
  concurrent: { greeting: 'connected to server', reply: 'got message' },
});

/** What a message server reports, for logs and tests. */
export type ServerEvent =
  | { type: 'connected'; peer: Endpoint }
  | { type: 'waiting'; peer: Endpoint; ahead: number }
  | { type: 'message'; peer: Endpoint; text: string }
  | { type: 'closed'; peer: Endpoint; reason: string; error?: SocklabError; totals?: ConnectionTotals }
  | { type: 'rejected'; peer: Endpoint }
  | { type: 'denied'; peer: Endpoint };

/** What went through one connection, reported when it closes. */
export interface ConnectionTotals {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

export interface MessageServerOptions extends ListenOptions {
  /** Called with each accepted connection before anything is read or sent (to trace its bytes, say). */
  onConnection?: (conn: TcpConnection) => void;
  /** @default 'concurrent' */
  mode?: ServeMode;
  /** Sent on connect; null sends none. @default the seed's text for the mode */
  greeting?: string | null;
  /** Sent for every message; `{message}` is replaced by the message. @default the seed's text for the mode */
  reply?: string;
  /** A message equal to this (after its line ending is removed) ends the session. @default 'quit' */
  quitCommand?: string;
  /** Stop after the first client's session. @default true in greet mode, false otherwise */
  once?: boolean;
  /** Receives every event; `message` events only when `logMessages`. */
  onEvent?: (event: ServerEvent) => void;
  /** @default true */
  logMessages?: boolean;
  /** Sees every message before it is answered (the dashboard keeps the last one per connection); keep it cheap. */
  onMessage?: (connection: TcpConnection, message: Buffer) => void;
  /**
   * Send the greeting at accept instead of one event-loop turn later. Greets sooner (a few percent more
   * connections per second in the benchmark, BENCHMARKS.md), but a client that sends at once and then answers
   * the greeting, like the seed's client.py, can then have its first two messages merged into one read
   * (measured: 9-11 of 30 sessions). @default false
   */
  greetAtAccept?: boolean;
}

/** Counters of a message server. */
export interface MessageServerStats extends ServerStats {
  messages: number;
  /** Connections that ended in an error, by code (SL_ERR_IDLE_TIMEOUT, SL_ERR_CONNECTION_RESET, …). */
  errors: Partial<Record<SocklabCode, number>>;
}

/** A running message server. */
export interface MessageServer {
  readonly tcp: TcpServer;
  readonly mode: ServeMode;
  readonly stats: MessageServerStats;
  address(): Endpoint;
  /** Resolves when the server has stopped (after `close()`, or by itself in `once` mode). */
  readonly done: Promise<void>;
  /** Graceful stop: no new clients; each connected client is told and closed after its pending replies. */
  close(): Promise<void>;
}

/** A peer-facing line for a connection we close on purpose. */
export function farewellLine(reason: SocklabError): string {
  return `error ${reason.code}: ${reason.message}`;
}

/**
 * Starts the seed's message protocol: greeting on connect, a reply to every message, `quit` (exactly) ends the
 * session after its reply. Messages the client pipelines after `quit` (even in the same read) get no reply and
 * are discarded unread; the connection still closes gracefully. A client that half-closes (EOF) is treated like
 * `quit`: every message before the EOF is answered, then the connection is closed.
 *
 * @example
 * const server = await startMessageServer({ port: 0, mode: 'concurrent', onEvent: console.log });
 * console.log(server.address().port);
 */
export async function startMessageServer(options: MessageServerOptions = {}): Promise<MessageServer> {
  const mode = options.mode ?? 'concurrent';
  const greeting = options.greeting === undefined ? SEED_TEXTS[mode].greeting : options.greeting;
  const replyTemplate = options.reply ?? SEED_TEXTS[mode].reply;
  const quitCommand = options.quitCommand ?? 'quit';
  const once = options.once ?? mode === 'greet';
  const logMessages = options.logMessages ?? true;
  // Without a listener no event object is built (on every connect and close, that is garbage for nothing).
  const onEvent = options.onEvent;
  const emit = onEvent ?? (() => {});
  const observe = options.onMessage;
  const templated = replyTemplate.includes('{message}');
  // A function, not a string, as the replacement: in a string "$`", "$&" and "$'" are patterns, and a peer's
  // message "$`" came back as part of the template (found by the fuzz test).
  const replyFor = (text: string): string => (templated ? replyTemplate.replaceAll('{message}', () => text) : replyTemplate);
  const framing = options.framing ?? 'auto';
  const lineEnding = options.lineEnding ?? 'lf';
  // The hot path: a fixed reply is encoded once, and `quit` is compared as bytes, so a message that is neither
  // logged nor templated is never decoded to a string.
  const fixedReply = templated ? undefined : encodeMessage(framing, replyTemplate, lineEnding);
  const quitBytes = Buffer.from(quitCommand);

  const greetingFrame = greeting === null ? undefined : encodeMessage(framing, greeting, lineEnding);
  /** Sends the greeting if it is still owed (see GREETING_OWED). */
  const greet = (conn: TcpConnection): void => {
    if (conn[kAppState] !== GREETING_OWED || conn.state !== 'open') return;
    conn.sendEncoded(greetingFrame!);
    conn[kAppState] = GREETED;
  };
  const farewell = options.farewell ?? farewellLine;
  const tcp = await listenTcp({
    framing: 'auto',
    ...options,
    // The greeting, if still owed, goes out before the reason for closing (found by the fuzz test).
    farewell: (reason, conn) => {
      greet(conn);
      return farewell(reason, conn);
    },
  });
  const stats: MessageServerStats = Object.assign(tcp.stats, { messages: 0, errors: {} });
  const done = new Promise<void>((resolve) => tcp.once('close', resolve));
  const waiting: TcpConnection[] = [];
  let current: TcpConnection | undefined;
  let served = 0;

  const sessionEnded = (): void => {
    served++;
    if (once && served === 1) {
      void tcp.close();
      return;
    }
    if (mode === 'concurrent') return;
    current = undefined;
    const next = waiting.shift();
    if (next) start(next);
  };

  // No per-client object and no listeners: hooks shared by every client (called with `this` = the connection)
  // and the session's state in the connection's own app-state slot. A server holding 10,000 idle clients pays
  // a few fields each, not a listener table, closures and a WeakMap entry.
  const hooks: ConnectionHooks = {
    message(message) {
      // A TLS client on this plaintext port: its ClientHello is not a message; name it instead of answering it.
      if (this.stats.messagesIn === 1 && !tcp.certificate && looksLikeTlsHandshake(message)) {
        void this.closeWithReason(tlsClientOnPlaintextError(this.peer));
        return;
      }
      stats.messages++;
      if (observe) observe(this, message);
      if (logMessages) emit({ type: 'message', peer: this.remote, text: message.toString('utf8') });
      if (this.state !== 'open') return;
      greet(this);
      if (fixedReply) this.sendEncoded(fixedReply);
      else this.send(replyFor(message.toString('utf8')));
      if (message.equals(quitBytes)) {
        this[kAppState] = 'quit';
        closeConnection(this);
      }
    },
    end() {
      // A client that sends nothing and half-closes at once still gets its greeting (found by the fuzz test).
      greet(this);
      if (typeof this[kAppState] !== 'string') this[kAppState] = 'client closed';
      closeConnection(this);
    },
    close(error) {
      if (error) stats.errors[error.code] = (stats.errors[error.code] ?? 0) + 1;
      if (onEvent) {
        const ending = this[kAppState];
        const totals = { messagesIn: this.stats.messagesIn, messagesOut: this.stats.messagesOut, bytesIn: this.socket.bytesRead, bytesOut: this.socket.bytesWritten };
        const reason = error?.code ?? (typeof ending === 'string' ? ending : 'closed');
        onEvent(error ? { type: 'closed', peer: this.remote, reason, error, totals } : { type: 'closed', peer: this.remote, reason, totals });
      }
      sessionEnded();
    },
  };

  const start = (conn: TcpConnection): void => {
    current = conn;
    conn[kAppState] = greetingFrame === undefined ? GREETED : GREETING_OWED;
    if (onEvent) onEvent({ type: 'connected', peer: conn.remote });
    if (conn.state === 'closed') {
      hooks.close.call(conn, undefined);
      return;
    }
    if (mode === 'greet') {
      // Only the close hook matters here; the message and end hooks run only for what arrives before the close.
      setConnectionHooks(conn, hooks);
      if (conn.state !== 'open') return;
      greet(conn);
      conn[kAppState] = 'greeted';
      closeConnection(conn);
      return;
    }
    setConnectionHooks(conn, hooks);
    if (conn.state !== 'open') return;
    // The greeting waits one event-loop turn so that bytes the client sent right after connecting are read
    // first (see greetAfterFirstRead); a message read sooner gets the greeting sent ahead of its reply.
    if (options.greetAtAccept) greet(conn);
    else greetAfterFirstRead(conn, greet);
  };

  tcp.on('connection', (conn) => {
    options.onConnection?.(conn);
    if (mode === 'concurrent' || current === undefined) {
      start(conn);
      return;
    }
    // Accepted by the kernel and by us, but not read: the client waits, as it would on server3.py's backlog.
    waiting.push(conn);
    emit({ type: 'waiting', peer: conn.remote, ahead: waiting.length });
    void conn.closed.then(() => {
      const index = waiting.indexOf(conn);
      if (index !== -1) waiting.splice(index, 1);
    });
  });
  tcp.on('rejected', (conn) => emit({ type: 'rejected', peer: conn.remote }));
  tcp.on('denied', (peer) => emit({ type: 'denied', peer }));

  const close = async (): Promise<void> => {
    const shutdown = new SocklabError('SL_ERR_SHUTDOWN', 'Server is shutting down');
    for (const conn of tcp.connections) void conn.closeWithReason(shutdown);
    await tcp.close();
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });

  return { tcp, mode, stats, address: () => tcp.address(), done, close };
}

/**
 * A session's state, kept in the connection's app-state slot: the greeting still owed, or sent (or none to
 * send), or why the session is ending ('quit', 'client closed', 'greeted'; set only after the greeting went out).
 */
const GREETING_OWED = 0;
const GREETED = 1;

type Greet = (conn: TcpConnection) => void;

/**
 * Connections waiting for their greeting, batched per turn: one setImmediate per turn, not two per client. Flat
 * pairs (connection, its server's greet) in arrays kept from turn to turn and cleared slot by slot, so queueing
 * allocates nothing once they have grown (a fresh array per turn, grown push by push, was ~600 bytes of garbage
 * per connection: BENCHMARKS.md).
 */
class HopQueue {
  readonly items: (TcpConnection | Greet | undefined)[] = [];
  size = 0;

  add(conn: TcpConnection, greet: Greet): void {
    this.items[this.size++] = conn;
    this.items[this.size++] = greet;
  }

  /** Forgets the queued pairs (slots cleared, so no closed connection is kept alive by them). */
  clear(): void {
    for (let i = 0; i < this.size; i++) this.items[i] = undefined;
    this.size = 0;
  }
}

/** Accepted this turn; moved to `secondHop` in this turn's check phase. */
const firstHop = new HopQueue();
/** Moved there in the previous turn's check phase: greeted in this one, after this turn's poll phase read their bytes. */
let secondHop = new HopQueue();
let spare = new HopQueue();
let hopScheduled = false;

/** Both hops in one setImmediate per turn (an Immediate and its run cost ~1 µs per connection cycle: BENCHMARKS.md). */
function runHops(): void {
  hopScheduled = false;
  // Swapped with a spare first: a greeting's write can end a session and start queueing the next one, which then
  // waits in firstHop for the next turn's move, as a connection accepted in the poll phase would.
  const batch = secondHop;
  secondHop = spare;
  spare = batch;
  const { items, size } = firstHop;
  for (let i = 0; i < size; i += 2) secondHop.add(items[i] as TcpConnection, items[i + 1] as Greet);
  firstHop.clear();
  for (let i = 0; i < batch.size; i += 2) (batch.items[i + 1] as Greet)(batch.items[i] as TcpConnection);
  batch.clear();
  if (!hopScheduled && (secondHop.size > 0 || firstHop.size > 0)) {
    hopScheduled = true;
    setImmediate(runHops);
  }
}

/**
 * Greets after one turn of the event loop. Sent at accept time, the greeting lets the seed's client.py
 * (which sends "ack" at once, then its next line as soon as the greeting arrives) send that next line before
 * its "ack" was read; with no newlines, both then arrive as one read ("ackhello world"). The seed's blocking
 * server3.py mostly wins this race by calling recv() at once. Measured: 9-11 of 30 sessions merged with the
 * greeting sent at accept, 0 of 30 with this.
 */
function greetAfterFirstRead(conn: TcpConnection, greet: Greet): void {
  // The first hop runs in this turn's check phase; the second after the next poll phase, which is where bytes
  // already waiting on the socket are read.
  if (!hopScheduled) {
    hopScheduled = true;
    setImmediate(runHops);
  }
  firstHop.add(conn, greet);
}

/**
 * One log line per event, the way the seed's servers print them (message text JSON-quoted, so control bytes
 * from a peer cannot mess up the terminal).
 * @example formatServerEvent({ type: 'message', peer, text: 'hi' }) // '127.0.0.1:40000 got "hi"'
 */
export function formatServerEvent(event: ServerEvent): string {
  const peer = formatEndpoint(event.peer);
  switch (event.type) {
    case 'connected':
      return `${peer} connected`;
    case 'waiting':
      return `${peer} waiting (${event.ahead} in queue)`;
    case 'message':
      return `${peer} got ${JSON.stringify(event.text)}`;
    case 'closed':
      return `${peer} closed (${event.reason})`;
    case 'rejected':
      return `${peer} rejected (server full)`;
    case 'denied':
      return `${peer} denied (address not allowed)`;
  }
}
