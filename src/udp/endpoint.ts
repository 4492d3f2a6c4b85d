import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { Inbox, type WaitOptions } from '../_inbox.js';
import { formatEndpoint, toEndpoint, unbracket, type Endpoint } from '../address.js';
import { resolveHost } from '../dns.js';
import { SocklabError, abortedError, bindError, connectError, systemCode } from '../errors.js';
import { DEFAULTS, checkCount, checkHost, checkPort, checkSignal } from '../options.js';
import { requestReply, type RequestOptions } from './_request.js';

export type { RequestOptions } from './_request.js';

/**
 * Largest UDP payload over IPv4: 65535 − 8 (UDP header) − 20 (IPv4 header).
 * @example await client.send(Buffer.alloc(MAX_UDP_PAYLOAD_BYTES + 1)).catch((err) => console.log(err.code)); // SL_ERR_DATAGRAM_TOO_LARGE
 */
export const MAX_UDP_PAYLOAD_BYTES = 65_507;

/** One datagram received, with who sent it. */
export interface Datagram {
  data: Buffer;
  from: Endpoint;
}

/** Where a bound endpoint sends a datagram (a {@link Datagram}'s `from` will do). */
export interface UdpTarget {
  address: string;
  port: number;
}

/** `'bound'`: a server, `send(data, to)`; `'connected'`: a client of one peer, `send(data)`. */
export type UdpKind = 'bound' | 'connected';

/** Options of `UdpEndpoint.receive()`. */
export interface UdpReceiveOptions extends WaitOptions {}

/** Options both {@link bindUdp} and {@link connectUdp} take. */
export interface UdpEndpointOptions {
  /** Datagrams held for a slow consumer; more are dropped and counted in `stats.dropped`. @default DEFAULTS.maxQueuedMessages */
  maxQueuedMessages?: number;
  /** SO_RCVBUF in bytes (the kernel may cap it, see /proc/sys/net/core/rmem_max). @default the OS default */
  receiveBufferBytes?: number;
  /** SO_SNDBUF in bytes. @default the OS default */
  sendBufferBytes?: number;
  /** Aborting closes the endpoint; already aborted, the call rejects with SL_ERR_ABORTED and opens nothing. */
  signal?: AbortSignal;
}

export interface BindUdpOptions extends UdpEndpointOptions {
  /** Address to bind. @default '127.0.0.1' */
  host?: string;
  /** 0 lets the OS choose. @default 0 */
  port?: number;
}

export interface ConnectUdpOptions extends UdpEndpointOptions {
  /** Peer host name or IP. @default 'localhost' */
  host?: string;
  port: number;
}

/** Counters of an endpoint. `dropped` counts datagrams we received but had no room to queue. */
export interface UdpStats {
  received: number;
  sent: number;
  dropped: number;
  sendErrors: number;
}

/** The events of a {@link UdpEndpoint}; any other name is a type error. */
export interface UdpEndpointEvents {
  message: [datagram: Datagram];
  close: [];
  newListener: [event: string | symbol, listener: unknown];
}

/**
 * A UDP socket speaking in datagrams. Bound (a server: `send(data, to)`) or connected (a client: `send(data)`,
 * and only the peer's datagrams are received). Datagrams wait in one inbox, up to `maxQueuedMessages`, for
 * `receive()`, `request()` and `messages()` (or, with none of those used, for the first `'message'` listener).
 *
 * @example
 * await using server = await bindUdp({ port: 0 });
 * server.on('message', ({ data, from }) => void server.send(`got ${data}`, from));
 * await using client = await connectUdp({ host: '127.0.0.1', port: server.address().port });
 * await client.send('get');
 * const { data, from } = await client.receive({ timeoutMs: 1000 });
 * console.log(`${data}`, from.port === server.address().port); // "got get" true
 */
export class UdpEndpoint<Kind extends UdpKind = UdpKind> extends EventEmitter<UdpEndpointEvents> {
  readonly socket: Socket;
  readonly stats: UdpStats = { received: 0, sent: 0, dropped: 0, sendErrors: 0 };
  readonly maxQueuedMessages: number;
  /** `'bound'` or `'connected'`: which `send()` applies. */
  readonly kind: Kind;
  /** The connected peer, or undefined for a bound endpoint. */
  readonly remote: Endpoint | undefined;
  #inbox: Inbox<Datagram>;
  /** receive(), request() or messages() was used: datagrams go to the inbox even while 'message' listeners exist. */
  #reading = false;
  /** receive() or request() was used: an ICMP refusal is reported to them and to send(), not only counted. */
  #asking = false;
  #closed = false;
  #closedPromise: Promise<void>;

  /** Use {@link bindUdp} or {@link connectUdp}. */
  constructor(socket: Socket, maxQueuedMessages: number, remote?: Endpoint) {
    super();
    this.socket = socket;
    this.maxQueuedMessages = maxQueuedMessages;
    this.remote = remote;
    this.kind = (remote === undefined ? 'bound' : 'connected') as Kind;
    this.#inbox = new Inbox({ describe: () => `Receive on UDP ${formatEndpoint(remote ?? this.address())}` });
    this.#closedPromise = new Promise((resolve) => socket.once('close', resolve));
    socket.on('message', (data, rinfo) => this.#onMessage(data, rinfo));
    // A dgram 'error' with no listener would crash the process. On a connected socket the kernel reports an ICMP
    // port unreachable as ECONNREFUSED on the next recvmsg: it is handed to the next send() or receive().
    socket.on('error', (err) => this.#onError(err));
    socket.once('close', () => {
      this.#closed = true;
      this.#inbox.end();
      this.emit('close');
    });
    this.on('newListener', (event) => {
      if (event === 'message' && !this.#reading && this.#inbox.size > 0) queueMicrotask(() => this.#flushEarly());
    });
  }

  /** The bound local endpoint. */
  address(): Endpoint {
    return toEndpoint(this.socket.address());
  }

  /**
   * Sends one datagram; resolves when the kernel took it. A connected endpoint sends to its peer; a bound one must
   * name `to`. Rejects with SL_ERR_DATAGRAM_TOO_LARGE, SL_ERR_CONNECTION_CLOSED, or SL_ERR_CONNECT_REFUSED when
   * an earlier datagram to the connected peer was refused (ICMP port unreachable).
   * @example
   * await client.send('get'); // connected: to its peer
   * const datagram = await server.receive({ timeoutMs: 1000 });
   * await server.send('reply', datagram.from); // bound: to whoever asked
   */
  send(this: UdpEndpoint<'connected'>, data: string | Uint8Array): Promise<void>;
  send(this: UdpEndpoint<'bound'>, data: string | Uint8Array, to: UdpTarget): Promise<void>;
  send(data: string | Uint8Array, to?: UdpTarget): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (!(bytes instanceof Uint8Array)) return Promise.reject(new TypeError(`send() takes a string or bytes, got ${typeof data}`));
    if (this.remote === undefined && to === undefined) {
      return Promise.reject(new TypeError('A bound UDP endpoint must name the destination: send(data, { address, port })'));
    }
    if (this.remote !== undefined && to !== undefined) {
      return Promise.reject(new TypeError('A connected UDP endpoint sends to its peer only: send(data) takes no destination'));
    }
    const refused = this.#inbox.takeFailure();
    if (refused) return Promise.reject(refused);
    if (bytes.length > MAX_UDP_PAYLOAD_BYTES) {
      return Promise.reject(
        new SocklabError('SL_ERR_DATAGRAM_TOO_LARGE', `Cannot send a datagram of ${bytes.length} bytes: the UDP limit is ${MAX_UDP_PAYLOAD_BYTES}`),
      );
    }
    if (this.#closed) return Promise.reject(new SocklabError('SL_ERR_CONNECTION_CLOSED', 'Cannot send: the UDP endpoint is closed'));
    return new Promise((resolve, reject) => {
      const done = (err: Error | null): void => {
        if (err) {
          this.stats.sendErrors++;
          const target = formatEndpoint(to ?? this.remote ?? { address: '?', port: 0 });
          reject(systemCode(err) === 'ECONNREFUSED' ? connectError(target, err) : new SocklabError('SL_ERR_CONNECT', `Cannot send to ${target}: ${err.message}`, { cause: err }));
        } else {
          this.stats.sent++;
          resolve();
        }
      };
      if (to) this.socket.send(bytes, to.port, to.address, done);
      else this.socket.send(bytes, done);
    });
  }

  /**
   * The next datagram (those arriving between calls wait, up to `maxQueuedMessages`). Rejects with
   * SL_ERR_REPLY_TIMEOUT, SL_ERR_ABORTED, SL_ERR_CONNECT_REFUSED (connected: the peer's port is closed) or, once
   * the endpoint is closed, SL_ERR_CONNECTION_CLOSED.
   * @example
   * await client.send('hi');
   * const { data, from } = await server.receive({ timeoutMs: 1000 });
   * console.log(`${data}`, from.port === client.address().port); // "hi" true
   */
  async receive(options: UdpReceiveOptions = {}): Promise<Datagram> {
    this.#reading = this.#asking = true;
    const datagram = await this.#inbox.take(options);
    if (datagram === undefined) throw new SocklabError('SL_ERR_CONNECTION_CLOSED', 'Cannot receive: the UDP endpoint is closed');
    return datagram;
  }

  /**
   * Sends `data` and waits for the reply `match` accepts (by default any datagram from the peer it was sent to),
   * resending after each `timeoutMs` up to `retries` times. Rejects with SL_ERR_REPLY_TIMEOUT when no attempt got
   * a reply, SL_ERR_CONNECT_REFUSED when the peer's port is closed (connected endpoints), SL_ERR_ABORTED.
   * A bound endpoint names the peer in `to`.
   * @example
   * server.on('message', ({ data, from }) => void server.send(`ok ${data}`, from));
   * const reply = await client.request('get', { timeoutMs: 500, retries: 2 });
   * console.log(`${reply.data}`); // "ok get"
   */
  request(this: UdpEndpoint<'connected'>, data: string | Uint8Array, options?: RequestOptions & { to?: undefined }): Promise<Datagram>;
  request(this: UdpEndpoint<'bound'>, data: string | Uint8Array, options: RequestOptions & { to: UdpTarget }): Promise<Datagram>;
  request(data: string | Uint8Array, options: RequestOptions = {}): Promise<Datagram> {
    this.#reading = this.#asking = true;
    return requestReply(this, this.#inbox, data, options);
  }

  /**
   * Incoming datagrams, from the same inbox as `receive()`. UDP cannot be paused, so when `maxQueuedMessages`
   * are waiting, new ones are dropped and counted in `stats.dropped`. Ends when the endpoint closes; `break`
   * leaves the endpoint open; `signal` makes the waiting `next()` reject with SL_ERR_ABORTED.
   * @example
   * await client.send('ping');
   * for await (const { data, from } of server.messages()) {
   *   await server.send(data, from); // an echo server; one datagram is enough here
   *   break;
   * }
   */
  messages(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<Datagram> {
    this.#reading = true;
    const signal = checkSignal(options.signal);
    const inbox = this.#inbox;
    let done = false;
    const iterator: AsyncIterableIterator<Datagram> = {
      async next(): Promise<IteratorResult<Datagram, undefined>> {
        if (done) return { value: undefined, done: true };
        const datagram = await inbox.take(signal === undefined ? {} : { signal }, undefined, false);
        if (datagram === undefined) done = true;
        return datagram === undefined ? { value: undefined, done: true } : { value: datagram, done: false };
      },
      async return(): Promise<IteratorResult<Datagram, undefined>> {
        done = true;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Closes the socket; safe to call any number of times. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.socket.close();
    }
    return this.#closedPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onMessage(data: Buffer, rinfo: RemoteInfo): void {
    this.stats.received++;
    const datagram: Datagram = { data, from: toEndpoint(rinfo) };
    const listened = this.listenerCount('message') > 0;
    if (listened) this.emit('message', datagram);
    if (listened && !this.#reading) return;
    // Held for a reader (or, before any consumer, for the first 'message' listener); UDP cannot be paused.
    if (this.#inbox.size < this.maxQueuedMessages) this.#inbox.push(datagram);
    else this.stats.dropped++;
  }

  #onError(err: Error): void {
    this.stats.sendErrors++;
    // A messages() loop or 'message' listener sees UDP as lossy: a refusal is counted, and its reply simply lost.
    if (systemCode(err) === 'ECONNREFUSED' && this.remote !== undefined && this.#asking) {
      this.#inbox.failNext(connectError(`UDP ${formatEndpoint(this.remote)}`, err));
    }
  }

  #flushEarly(): void {
    for (;;) {
      const datagram = this.#inbox.takeNow();
      if (datagram === undefined || this.#reading) return;
      this.emit('message', datagram);
    }
  }
}

function makeSocket(address: string, options: UdpEndpointOptions): Socket {
  const socket = createSocket({
    type: isIP(address) === 6 ? 'udp6' : 'udp4',
    ...(options.receiveBufferBytes === undefined ? {} : { recvBufferSize: checkCount('receiveBufferBytes', options.receiveBufferBytes, 1) }),
    ...(options.sendBufferBytes === undefined ? {} : { sendBufferSize: checkCount('sendBufferBytes', options.sendBufferBytes, 1) }),
  });
  return socket;
}

function queueLimit(options: UdpEndpointOptions): number {
  return checkCount('maxQueuedMessages', options.maxQueuedMessages ?? DEFAULTS.maxQueuedMessages, 1, true);
}

/**
 * Binds a UDP endpoint (a server). Resolves once bound.
 * @throws {SocklabError} SL_ERR_BIND
 * @example
 * await using server = await bindUdp({ port: 0 });
 * server.on('message', ({ data, from }) => void server.send(data, from)); // an echo server
 * console.log(server.address().port);
 */
export async function bindUdp(options: BindUdpOptions = {}): Promise<UdpEndpoint<'bound'>> {
  const host = unbracket(checkHost('host', options.host ?? '127.0.0.1'));
  const port = checkPort('port', options.port ?? 0);
  const limit = queueLimit(options);
  const signal = checkSignal(options.signal);
  const what = `Bind UDP ${formatEndpoint({ address: host, port })}`;
  if (signal?.aborted) throw abortedError(what, signal);
  const resolved = await resolveHost(host);
  if (signal?.aborted) throw abortedError(what, signal);
  const socket = makeSocket(resolved.address, options);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(bindError(formatEndpoint({ address: host, port }), err));
    });
    socket.bind({ address: resolved.address, port }, () => {
      socket.removeAllListeners('error');
      resolve();
    });
  });
  const endpoint = new UdpEndpoint<'bound'>(socket, limit);
  return watchAbort(endpoint, signal, what);
}

/**
 * Creates a UDP endpoint connected to one peer (a client): `send(data)` needs no address, and only that
 * peer's datagrams are delivered. Connecting sends nothing; it only fixes the peer.
 * @throws {SocklabError} SL_ERR_RESOLVE, SL_ERR_CONNECT
 * @example
 * await using server = await bindUdp({ port: 0 });
 * await using client = await connectUdp({ host: '127.0.0.1', port: server.address().port });
 * await client.send('get');
 * console.log(`${(await server.receive({ timeoutMs: 1000 })).data}`); // "get"
 */
export async function connectUdp(options: ConnectUdpOptions): Promise<UdpEndpoint<'connected'>> {
  if (options?.port === undefined) throw new TypeError('connectUdp needs the peer\'s port');
  const port = checkPort('port', options.port);
  const host = checkHost('host', options.host ?? 'localhost');
  const limit = queueLimit(options);
  const signal = checkSignal(options.signal);
  const what = `Connect UDP to ${formatEndpoint({ address: host, port })}`;
  if (signal?.aborted) throw abortedError(what, signal);
  const resolved = await resolveHost(host);
  if (signal?.aborted) throw abortedError(what, signal);
  const socket = makeSocket(resolved.address, options);
  const remote: Endpoint = { address: resolved.address, port, family: resolved.family };
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(connectError(formatEndpoint(remote), err));
    });
    socket.connect(port, resolved.address, () => {
      socket.removeAllListeners('error');
      resolve();
    });
  });
  const endpoint = new UdpEndpoint<'connected'>(socket, limit, remote);
  return watchAbort(endpoint, signal, what);
}

/** Closes `endpoint` when `signal` fires; aborted while it was being made, closes it and rejects. */
async function watchAbort<E extends UdpEndpoint>(endpoint: E, signal: AbortSignal | undefined, what: string): Promise<E> {
  if (signal === undefined) return endpoint;
  if (signal.aborted) {
    await endpoint.close();
    throw abortedError(what, signal);
  }
  signal.addEventListener('abort', () => void endpoint.close(), { once: true });
  return endpoint;
}
