/**
 * Defaults for every limit and timeout. Anything a peer can make grow has a finite default here;
 * unlimited must be asked for with `Infinity`, never implied by 0.
 * @example
 * await using server = await listenTcp({ port: 0, maxMessageBytes: DEFAULTS.maxMessageBytes / 4 });
 * console.log(server.maxConnections <= DEFAULTS.maxConnections); // true
 */
export const DEFAULTS = Object.freeze({
  /**
   * Largest incoming message (a line without its terminator, a length-prefixed payload, or one read).
   * @default 65536
   */
  maxMessageBytes: 64 * 1024,
  /**
   * Largest amount of output queued for one peer that is not reading; past it the peer is cut off.
   * @default 1048576
   */
  maxBufferedBytes: 1024 * 1024,
  /**
   * Messages held for a slow `for await` consumer before the socket is paused (TCP) or datagrams are dropped (UDP).
   * @default 1024
   */
  maxQueuedMessages: 1024,
  /**
   * Simultaneous clients a server serves; further clients are told "server full" and closed.
   * @default 1024
   */
  maxConnections: 1024,
  /**
   * Kernel accept queue length. The seed used 5 and 8, which drops connects under any burst.
   * @default 511
   */
  backlog: 511,
  /**
   * How long a connect may take before it fails with SL_ERR_CONNECT_TIMEOUT.
   * @default 10000
   */
  connectTimeoutMs: 10_000,
  /**
   * How long a graceful close waits for the peer to finish before the socket is destroyed.
   * @default 2000
   */
  closeTimeoutMs: 2_000,
  /**
   * Silence (no bytes in) after which a server closes a connection. Client connections default to Infinity.
   * @default 600000
   */
  idleTimeoutMs: 600_000,
  /**
   * Once a message has started to arrive, how long the rest may take before a server closes the connection
   * (a slowloris sends a byte now and then, so the idle timeout never fires). Client connections: Infinity.
   * @default 30000
   */
  messageTimeoutMs: 30_000,
  /**
   * Output queued for a peer above which the peer is only tolerated for `outputSoftLimitMs`: a slow reader
   * that catches up is fine, one that stays behind is cut off before reaching `maxBufferedBytes`.
   * @default 262144
   */
  outputSoftLimitBytes: 256 * 1024,
  /**
   * How long output may stay above `outputSoftLimitBytes`.
   * @default 10000
   */
  outputSoftLimitMs: 10_000,
  /**
   * Delay before the UDP counter server answers a `get` (the seed's 0.5 s).
   * @default 500
   */
  replyDelayMs: 500,
  /**
   * SO_RCVBUF a UDP server asks for. Requests arrive faster than an event loop drains them in bursts (GC, a batch
   * of replies going out); the kernel silently drops what does not fit (RcvbufErrors in /proc/net/snmp). The
   * kernel caps it at net.core.rmem_max.
   * @default 4194304
   */
  udpReceiveBufferBytes: 4 * 1024 * 1024,
  /**
   * Delayed UDP replies held at once; further `get`s are dropped and counted.
   * @default 65536
   */
  maxPendingReplies: 65_536,
  /**
   * Largest datagram the UDP counter server reads as a request; bigger ones are dropped and counted.
   * @default 64
   */
  maxRequestBytes: 64,
  /**
   * A UDP reply is never more than this many times the bytes of the request it answers, so a spoofed
   * source cannot use the server to amplify traffic toward a victim.
   * @default 4
   */
  maxAmplification: 4,
  /**
   * Requests a UDP server answers per second from one source address (a token bucket with one second of
   * burst). Further requests are dropped and counted.
   * @default 25000
   */
  maxRequestsPerSecondPerSource: 25_000,
  /**
   * Source addresses a UDP server tracks for rate limiting at once; beyond that, new sources share one bucket.
   * @default 4096
   */
  maxTrackedSources: 4096,
  /**
   * Request ids the UDP counter server remembers, so a retried `get <id>` gets the value it was first given.
   * @default 65536
   */
  maxRememberedRequests: 65_536,
  /**
   * How often the dashboard samples its server and pushes an update to open pages (at most this far behind).
   * @default 500
   */
  dashboardIntervalMs: 500,
  /**
   * Pages (server-sent event streams) a dashboard feeds at once; more are answered 503.
   * @default 16
   */
  maxDashboardClients: 16,
  /**
   * Connections listed in the dashboard's table; the rest are counted, not listed, so a page stays small.
   * @default 200
   */
  dashboardMaxRows: 200,
  /**
   * Bytes of a peer's last message shown on the dashboard (the rest is cut; the message itself is untouched).
   * @default 120
   */
  dashboardLastMessageBytes: 120,
  /**
   * Counter values a `--state` file reserves at a time: one write and fsync per block, and at most one block of
   * values skipped by a restart (kill -9 included).
   * @default 1000
   */
  stateBlockSize: 1000,
  /**
   * Longest wait between two reconnect attempts to the shared-state backend (Redis); attempts back off up to it.
   * @default 2000
   */
  backendMaxRetryDelayMs: 2000,
  /**
   * How long a start-up connect to the shared-state backend (Redis) may take before the server gives up.
   * @default 5000
   */
  backendConnectTimeoutMs: 5000,
  /**
   * Longest chat name a client may take with `/nick` (in bytes, after escaping).
   * @default 32
   */
  maxNameBytes: 32,
  /**
   * With `--exec`, once the connection has closed, how long the program has after SIGTERM before SIGKILL.
   * @default 2000
   */
  execKillGraceMs: 2_000,
  /**
   * Connections (so programs running at once) a server with `--exec` serves unless told otherwise: each one is a
   * process, far heavier than a socket.
   * @default 64
   */
  execMaxConnections: 64,
  /**
   * Bytes a session log (`--log FILE`) holds waiting for the disk; past it entries are dropped and counted,
   * so a slow disk never slows the connections down or grows memory without bound.
   * @default 4194304
   */
  maxLogBufferBytes: 4 * 1024 * 1024,
  /**
   * How long a TLS handshake may take (server: from accept; client: from the TCP connect). Node's own default is
   * 120 s, long enough for clients that never finish to pile up.
   * @default 10000
   */
  handshakeTimeoutMs: 10_000,
  /**
   * TLS handshakes a server runs at once; connections past it are closed at accept. Each holds a file descriptor
   * and OpenSSL state before it is a client, so they are bounded apart from `maxConnections`.
   * @default 128
   */
  maxHandshakes: 128,
});

export type Defaults = typeof DEFAULTS;

/** Checks that `value` is a whole number in range, or Infinity when `allowInfinity`. Throws RangeError naming the option. */
export function checkCount(name: string, value: number, min: number, allowInfinity = false): number {
  if (allowInfinity && value === Infinity) return value;
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be a whole number >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${value}`);
  }
  return value;
}

/** Checks a port number (0 asks the OS for a free one). */
export function checkPort(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new RangeError(`${name} must be a port number from 0 to 65535, got ${value}`);
  }
  return value;
}

/**
 * Checks that `value` is one of `allowed` (a string union at run time): a typo such as `framing: 'lines'`
 * throws here, at the call that takes it, rather than at the first client.
 */
export function checkOneOf<T extends string | number>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    const shown = typeof value === 'string' ? `'${value}'` : String(value);
    throw new RangeError(`${name} must be one of ${allowed.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}, got ${shown}`);
  }
  return value as T;
}

/** A `signal` option must be an AbortSignal: anything else throws TypeError at the call that takes it. */
export function checkSignal(signal: unknown, name = 'signal'): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new TypeError(`${name} must be an AbortSignal, got ${signal === null ? 'null' : typeof signal}`);
}

/** A host option must be a non-empty string. */
export function checkHost(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string, got ${value === '' ? "''" : typeof value}`);
  return value;
}
