import { formatEndpoint, type Endpoint } from '../address.js';
import { encodeMessage } from '../codec/framing.js';
import { SocklabError, type SocklabCode } from '../errors.js';
import { DEFAULTS, checkCount } from '../options.js';
import { MemoryState, type SharedState, type SharedStateStatus } from '../state/shared-state.js';
import type { ConnectionHooks } from '../tcp/_hooks.js';
import { setConnectionHooks, type TcpConnection } from '../tcp/connection.js';
import { listenTcp, type ListenOptions, type ServerStats, type TcpServer } from '../tcp/server.js';
import { escapeControls } from './chat/escape.js';
import { RoomRelay } from './chat/relay.js';
import { farewellLine } from './message-server.js';
import type { ChatEvent } from './chat/format.js';

/**
 * - `chat`: line based, like `ncat --chat`. Every line goes to every other client as `<name>: <text>`.
 * - `broker`: bytes relayed as they are to every other client, like `ncat --broker`.
 */
export type ChatMode = 'chat' | 'broker';

export type { ChatEvent } from './chat/format.js';

export interface ChatServerOptions extends ListenOptions {
  /** @default 'chat' */
  mode?: ChatMode;
  /** Carries the room to other instances (`--workers`, Redis); the server does not close it. @default a new MemoryState */
  state?: SharedState;
  /** Room name: instances on one shared state with the same room and mode are one room. @default 'lobby' */
  room?: string;
  /** A line equal to this leaves the chat (chat mode). @default 'quit' */
  quitCommand?: string;
  /** Longest name `/nick` accepts, in bytes after escaping. @default DEFAULTS.maxNameBytes */
  maxNameBytes?: number;
  onEvent?: (event: ChatEvent) => void;
  /** Report `message` events. @default true */
  logMessages?: boolean;
  /** Called with each accepted connection before anything is sent to it (`--hex`, `--log` watch its socket). */
  onConnection?: (connection: TcpConnection) => void;
  /** Called with every message a client sends, before it is handled (the dashboard keeps the last one). */
  onMessage?: (connection: TcpConnection, message: Buffer) => void;
}

/** Counters of a chat server. */
export interface ChatServerStats extends ServerStats {
  /** Messages read from this server's clients. */
  messages: number;
  /** Lines or chunks queued to this server's clients (one per recipient). */
  deliveries: number;
  /** Messages from other instances relayed to this server's clients. */
  remote: number;
  /** Messages other instances did not get because the shared state was down. */
  unpublished: number;
  /** Copies of a message from another instance already delivered, dropped. */
  duplicates: number;
  /** Connections that ended in an error, by code (SL_ERR_OUTPUT_OVERFLOW: a client that did not read). */
  errors: Partial<Record<SocklabCode, number>>;
}

/** A running chat or broker server. */
export interface ChatServer {
  readonly tcp: TcpServer;
  readonly mode: ChatMode;
  readonly stats: ChatServerStats;
  readonly state: SharedState;
  /** This instance's id in messages to other instances. */
  readonly instanceId: string;
  address(): Endpoint;
  /** Who is in the room on this server now: each client's name (escaped) and address. */
  members(): Array<{ name: string; peer: Endpoint }>;
  /** Resolves once the server has stopped. */
  readonly done: Promise<void>;
  /** Graceful stop: every client is told SL_ERR_SHUTDOWN and closed. */
  close(): Promise<void>;
}

const LINK_TEXT: Partial<Record<SharedStateStatus, string>> = {
  down: '* link to other servers lost: messages reach only this server until it is restored',
  up: '* link to other servers restored',
};

/**
 * Starts a chat (`ncat --chat`) or broker (`ncat --broker`) server. Local clients are served at once; every
 * message also goes to the other instances on the same shared state (other `--workers`, other machines through
 * Redis), and theirs come back. A client that does not read is cut off by the output limits
 * (`outputSoftLimit*`, `maxBufferedBytes`): nobody waits for it.
 *
 * Chat mode: a client's name is its address until it sends `/nick <name>`; `quit` or `/quit` leaves; joins,
 * leaves and renames are announced as `* …` lines. Names and texts have their control characters escaped
 * ({@link escapeControls}) so nobody can draw on another's terminal.
 *
 * @example
 * const server = await startChatServer({ port: 0, mode: 'chat' });
 * console.log(server.address().port);
 */
export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  const mode = options.mode ?? 'chat';
  const quitCommand = options.quitCommand ?? 'quit';
  const maxNameBytes = checkCount('maxNameBytes', options.maxNameBytes ?? DEFAULTS.maxNameBytes, 1);
  const emit = options.onEvent ?? (() => {});
  const logMessages = options.logMessages ?? true;
  const state = options.state ?? new MemoryState();
  const lineEnding = options.lineEnding ?? 'lf';
  const framing = mode === 'chat' ? 'line' : 'raw';
  const tcp = await listenTcp({ ...options, framing, farewell: options.farewell ?? farewellLine });
  const stats = Object.assign(tcp.stats, { messages: 0, deliveries: 0, errors: {} }) as ChatServerStats;
  const names = new Map<TcpConnection, string>();
  const done = new Promise<void>((resolve) => tcp.once('close', resolve));

  /** Sends already-framed bytes to every local client but `except`. */
  const broadcast = (frame: Uint8Array, except?: TcpConnection): void => {
    for (const conn of names.keys()) {
      if (conn === except || conn.state !== 'open') continue;
      conn.sendEncoded(frame);
      stats.deliveries++;
    }
  };
  const relay = new RoomRelay(state, `${mode}:${options.room ?? 'lobby'}`, (data) => {
    // Escaped again: another instance's text is no more trusted than a local client's.
    broadcast(mode === 'chat' ? encodeMessage('line', escapeControls(data.toString('utf8')), lineEnding) : data);
  });
  // What crosses instances is counted once, by the relay; the server's stats read it live.
  Object.defineProperties(stats, {
    remote: { get: () => relay.stats.received, enumerable: true },
    unpublished: { get: () => relay.stats.unpublished, enumerable: true },
    duplicates: { get: () => relay.stats.duplicates, enumerable: true },
  });
  /** To everyone here and on the other instances. */
  const announce = (text: string, except?: TcpConnection): void => {
    broadcast(encodeMessage(framing, text, lineEnding), except);
    relay.publish(Buffer.from(text));
  };

  const onStatus = (status: SharedStateStatus, reason?: string): void => {
    emit({ type: 'link', status, location: state.location, ...(reason === undefined ? {} : { reason }) });
    const text = LINK_TEXT[status];
    if (text !== undefined && mode === 'chat') broadcast(encodeMessage('line', text, lineEnding));
  };
  state.on('status', onStatus);

  const observe = options.onMessage;
  function onMessage(this: TcpConnection, message: Buffer): void {
    stats.messages++;
    observe?.(this, message);
    const name = names.get(this);
    if (name === undefined || this.state !== 'open') return;
    if (mode === 'broker') {
      broadcast(message, this);
      relay.publish(message);
      return;
    }
    const text = message.toString('utf8');
    if (text === quitCommand || text === '/quit') {
      // Announced now, not when the socket has finished closing (the peer may keep its side open a while).
      leave(this, 'quit');
      void this.close();
      return;
    }
    if (text === '/nick' || text.startsWith('/nick ')) {
      rename(this, name, escapeControls(text.slice(5).trim()));
      return;
    }
    const safe = escapeControls(text);
    if (logMessages) emit({ type: 'message', peer: this.remote, name, text: safe });
    announce(`${name}: ${safe}`, this);
  }

  const rename = (conn: TcpConnection, from: string, to: string): void => {
    if (to === '' || Buffer.byteLength(to) > maxNameBytes || /\s/.test(to)) {
      conn.send(`* a name is 1 to ${maxNameBytes} bytes without spaces: /nick <name>`);
      return;
    }
    names.set(conn, to);
    emit({ type: 'nick', peer: conn.remote, from, to });
    conn.send(`* you are now ${to}`);
    announce(`* ${from} is now ${to}`, conn);
  };

  const leave = (conn: TcpConnection, reason: string): void => {
    const name = names.get(conn);
    if (name === undefined) return;
    names.delete(conn);
    emit({ type: 'left', peer: conn.remote, name, reason });
    if (mode === 'chat' && !tcp.closing) announce(`* ${name} left`);
  };

  function onClose(this: TcpConnection, error: SocklabError | undefined): void {
    if (error) stats.errors[error.code] = (stats.errors[error.code] ?? 0) + 1;
    leave(this, error?.code ?? 'closed');
  }

  // Shared hooks rather than listeners: no listener table per client (see tcp/_hooks.ts). Nobody here keeps a
  // half-open client: its FIN closes it, as it would with no 'end' listener.
  const hooks: ConnectionHooks = {
    message: onMessage,
    end() {
      void this.close();
    },
    close: onClose,
  };
  let unnamed = 0;
  tcp.on('connection', (conn) => {
    // A UNIX socket's peers have no address to go by: number them.
    options.onConnection?.(conn);
    const name = conn.remote.family === 'unix' ? `local-${++unnamed}` : formatEndpoint(conn.remote);
    names.set(conn, name);
    setConnectionHooks(conn, hooks);
    if (conn.state !== 'open') return;
    emit({ type: 'joined', peer: conn.remote, name });
    if (mode === 'chat') {
      conn.send(`* you are ${name}; /nick <name> to change it, ${quitCommand} to leave`);
      if (state.status === 'down') conn.send(LINK_TEXT.down!);
      announce(`* ${name} joined`, conn);
    }
  });
  tcp.on('rejected', (conn) => emit({ type: 'rejected', peer: conn.remote }));
  tcp.on('denied', (peer) => emit({ type: 'denied', peer }));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const shutdown = new SocklabError('SL_ERR_SHUTDOWN', 'Server is shutting down');
      for (const conn of tcp.connections) void conn.closeWithReason(shutdown);
      await tcp.close();
      relay.close();
      state.off('status', onStatus);
      if (options.state === undefined) await state.close();
    })());
  options.signal?.addEventListener('abort', () => void close(), { once: true });

  const members = (): Array<{ name: string; peer: Endpoint }> => [...names].map(([conn, name]) => ({ name, peer: conn.remote }));
  return { tcp, mode, stats, state, instanceId: relay.instanceId, address: () => tcp.address(), members, done, close };
}

// formatChatEvent lives in chat/format.ts so that `import 'socklab'` can offer it without loading the server.
export { formatChatEvent } from './chat/format.js';
