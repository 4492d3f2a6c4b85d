import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { AsyncQueue } from '../_async-queue.js';
import { formatEndpoint, toEndpoint, unbracket, type Endpoint } from '../address.js';
import { resolveHost } from '../dns.js';
import { SocklabError, bindError, connectError, systemCode } from '../errors.js';
import { DEFAULTS, checkCount, checkPort } from '../options.js';

/** Largest UDP payload over IPv4: 65535 − 8 (UDP header) − 20 (IPv4 header). */
export const MAX_UDP_PAYLOAD_BYTES = 65_507;

/** One datagram received, with who sent it. */
export interface Datagram {
  data: Buffer;
  from: Endpoint;
}

export interface UdpEndpointOptions {
  /** Datagrams held for a slow consumer; more are dropped and counted in `stats.dropped`. @default DEFAULTS.maxQueuedMessages */
  maxQueuedMessages?: number;
  /** SO_RCVBUF in bytes (the kernel may cap it, see /proc/sys/net/core/rmem_max). @default the OS default */
  receiveBufferBytes?: number;
  /** SO_SNDBUF in bytes. @default the OS default */
  sendBufferBytes?: number;
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

interface EndpointEvents {
  message: [datagram: Datagram];
  close: [];
  newListener: [event: string | symbol, listener: unknown];
}

/**
 * A UDP socket speaking in datagrams. Bound (a server: `send(data, to)`) or connected (a client: `send(data)`,
 * and only the peer's datagrams are received). Datagrams that arrive before any consumer are held, up to
 * `maxQueuedMessages`.
 *
 * @example
 * await using client = await connectUdp({ port: 12345 });
 * await client.send('get');
 * for await (const { data, from } of client.messages()) { console.log(data.toString(), from); break; }
 */
export class UdpEndpoint extends EventEmitter<EndpointEvents> {
  readonly socket: Socket;
  readonly stats: UdpStats = { received: 0, sent: 0, dropped: 0, sendErrors: 0 };
  readonly maxQueuedMessages: number;
  /** The connected peer, or undefined for a bound endpoint. */
  readonly remote: Endpoint | undefined;
  #early: Datagram[] = [];
  #closed = false;
  #closedPromise: Promise<void>;

  /** Use {@link bindUdp} or {@link connectUdp}. */
  constructor(socket: Socket, maxQueuedMessages: number, remote?: Endpoint) {
    super();
    this.socket = socket;
    this.maxQueuedMessages = maxQueuedMessages;
    this.remote = remote;
    this.#closedPromise = new Promise((resolve) => socket.once('close', resolve));
    socket.on('message', (data, rinfo) => this.#onMessage(data, rinfo));
    // A dgram 'error' with no listener would crash the process; send errors are reported through send().
    socket.on('error', () => this.stats.sendErrors++);
    socket.once('close', () => {
      this.#closed = true;
      this.emit('close');
    });
    this.on('newListener', (event) => {
      if (event === 'message' && this.#early.length > 0) queueMicrotask(() => this.#flushEarly());
    });
  }

  /** The bound local endpoint. */
  address(): Endpoint {
    return toEndpoint(this.socket.address());
  }

  /**
   * Sends one datagram; resolves when the kernel took it. A bound endpoint must name `to`.
   * @throws {SocklabError} SL_ERR_DATAGRAM_TOO_LARGE, SL_ERR_CONNECTION_CLOSED, SL_ERR_CONNECT_REFUSED (ICMP port unreachable)
   */
  send(data: string | Uint8Array, to?: { address: string; port: number }): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
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
   * Incoming datagrams. UDP cannot be paused, so when `maxQueuedMessages` are waiting, new ones are dropped
   * and counted in `stats.dropped`. Ends when the endpoint closes; `break` leaves the endpoint open.
   */
  messages(): AsyncIterableIterator<Datagram> {
    const onMessage = (datagram: Datagram): void => {
      if (queue.size >= this.maxQueuedMessages) this.stats.dropped++;
      else queue.push(datagram);
    };
    const onClose = (): void => queue.end();
    const queue = new AsyncQueue<Datagram>({
      onDone: () => {
        this.off('message', onMessage);
        this.off('close', onClose);
      },
    });
    this.on('message', onMessage);
    this.on('close', onClose);
    if (this.#closed) queue.end();
    return queue;
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
    if (this.listenerCount('message') > 0) {
      this.emit('message', datagram);
    } else if (this.#early.length < this.maxQueuedMessages) {
      this.#early.push(datagram);
    } else {
      this.stats.dropped++;
    }
  }

  #flushEarly(): void {
    const early = this.#early;
    this.#early = [];
    for (const datagram of early) this.emit('message', datagram);
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
 * @example const server = await bindUdp({ port: 0 }); server.on('message', ({ data, from }) => server.send(data, from));
 */
export async function bindUdp(options: BindUdpOptions = {}): Promise<UdpEndpoint> {
  const host = unbracket(options.host ?? '127.0.0.1');
  const port = checkPort('port', options.port ?? 0);
  const limit = queueLimit(options);
  const resolved = await resolveHost(host);
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
  const endpoint = new UdpEndpoint(socket, limit);
  options.signal?.addEventListener('abort', () => void endpoint.close(), { once: true });
  return endpoint;
}

/**
 * Creates a UDP endpoint connected to one peer (a client): `send(data)` needs no address, and only that
 * peer's datagrams are delivered. Connecting sends nothing; it only fixes the peer.
 * @throws {SocklabError} SL_ERR_RESOLVE, SL_ERR_CONNECT
 * @example const client = await connectUdp({ host: '127.0.0.1', port: 12345 }); await client.send('get');
 */
export async function connectUdp(options: ConnectUdpOptions): Promise<UdpEndpoint> {
  const port = checkPort('port', options.port);
  const limit = queueLimit(options);
  const resolved = await resolveHost(options.host ?? 'localhost');
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
  const endpoint = new UdpEndpoint(socket, limit, remote);
  options.signal?.addEventListener('abort', () => void endpoint.close(), { once: true });
  return endpoint;
}
