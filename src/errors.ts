/**
 * Every error socklab raises is a {@link SocklabError} with a stable `code`.
 * Match on `code`, never on the message: messages may be reworded, codes will not.
 *
 * | code | raised when |
 * | --- | --- |
 * | `SL_ERR_RESOLVE` | a host name does not resolve (the DNS error is the `cause`) |
 * | `SL_ERR_CONNECT_REFUSED` | nothing listens on the address (ECONNREFUSED) |
 * | `SL_ERR_CONNECT_TIMEOUT` | no answer to the connect within `connectTimeoutMs` |
 * | `SL_ERR_CONNECT` | any other connect failure (unreachable network, …) |
 * | `SL_ERR_BIND` | a server or UDP endpoint cannot bind (EADDRINUSE, EACCES, …) |
 * | `SL_ERR_CONNECTION_RESET` | the peer reset the connection (ECONNRESET, EPIPE) |
 * | `SL_ERR_CONNECTION_CLOSED` | a send on a connection or endpoint that is closed |
 * | `SL_ERR_FRAME_TOO_LARGE` | an incoming message exceeds `maxMessageBytes` |
 * | `SL_ERR_DATAGRAM_TOO_LARGE` | an outgoing datagram exceeds the UDP limit |
 * | `SL_ERR_OUTPUT_OVERFLOW` | a peer does not read and its output passed `maxBufferedBytes` |
 * | `SL_ERR_IDLE_TIMEOUT` | a connection was silent for `idleTimeoutMs` |
 * | `SL_ERR_SLOW_SENDER` | a message started but did not finish within `messageTimeoutMs` (slowloris) |
 * | `SL_ERR_REPLY_TIMEOUT` | an expected reply did not come within its timeout |
 * | `SL_ERR_SERVER_FULL` | a server at `maxConnections` turned a client away |
 * | `SL_ERR_SHUTDOWN` | the server is shutting down (told to clients it closes) |
 * | `SL_ERR_ABORTED` | the operation's `AbortSignal` fired |
 * | `SL_ERR_USAGE` | a CLI flag or argument is wrong (exit code 2) |
 * | `SL_ERR_REPORT` | `bench --report` cannot write its HTML file |
 * | `SL_ERR_BACKEND_UNAVAILABLE` | the shared-state backend (Redis, the cluster primary) cannot be reached |
 * | `SL_ERR_STATE_CORRUPT` | a `--state` file is not one socklab wrote, or its checksum does not match |
 * | `SL_ERR_STATE_IO` | a `--state` file cannot be read, written or synced to disk |
 * | `SL_ERR_WORKER` | a `--workers` worker process failed to start or died |
 * | `SL_ERR_EXEC` | the program given to `--exec`/`--sh-exec` could not be started |
 * | `SL_ERR_TLS_CONFIG` | a certificate, key or CA file cannot be read or used |
 * | `SL_ERR_TLS_UNTRUSTED` | the peer's certificate is self-signed or from an unknown CA |
 * | `SL_ERR_TLS_NAME_MISMATCH` | the peer's certificate is not for the name connected to |
 * | `SL_ERR_TLS_CERT_EXPIRED` | the peer's certificate has expired |
 * | `SL_ERR_TLS_CERT_NOT_YET_VALID` | the peer's certificate is not valid yet |
 * | `SL_ERR_TLS_FINGERPRINT_MISMATCH` | the peer's certificate is not the pinned one |
 * | `SL_ERR_TLS_PROTOCOL_VERSION` | the two sides share no TLS version |
 * | `SL_ERR_TLS_HANDSHAKE_TIMEOUT` | the handshake did not finish within `handshakeTimeoutMs` |
 * | `SL_ERR_TLS_NOT_TLS` | we speak TLS and the peer answered in plaintext |
 * | `SL_ERR_TLS_EXPECTED` | we speak plaintext and the peer sent TLS records |
 * | `SL_ERR_TLS_HANDSHAKE` | any other handshake failure (the peer's alert, a reset mid-handshake) |
 * | `SL_ERR_TOXIC_INVALID` | a proxy toxic (fault) has an unknown type, stream or a bad attribute |
 * | `SL_ERR_TOXIC_EXISTS` | a toxic of that name is already on the proxy |
 * | `SL_ERR_TOXIC_NOT_FOUND` | no toxic of that name is on the proxy |
 * | `SL_ERR_PROXY_INVALID` | a proxy definition (API body, `--config` file) lacks a field or has a bad one |
 * | `SL_ERR_PROXY_EXISTS` | a proxy of that name already exists |
 * | `SL_ERR_PROXY_NOT_FOUND` | no proxy of that name exists |
 * | `SL_ERR_PROTOCOL` | a peer's bytes are not the protocol decoded (RESP, HTTP/1.1) |
 * | `SL_ERR_NO_GREETING` | `bench` waited for a greeting the server never sent (use `--no-greeting`) |
 * | `SL_ERR_BENCH_FAILED` | a `bench` run saw more failures than `--max-error-rate` allows |
 * | `SL_ERR_LOG_FILE` | an `nc -o`/`-x` log file or an `--allowfile`/`--denyfile` cannot be opened |
 * | `SL_ERR_PROXY` | a SOCKS or HTTP proxy refused the connection or answered something else than its protocol |
 */
export type SocklabCode =
  | 'SL_ERR_RESOLVE'
  | 'SL_ERR_CONNECT_REFUSED'
  | 'SL_ERR_CONNECT_TIMEOUT'
  | 'SL_ERR_CONNECT'
  | 'SL_ERR_BIND'
  | 'SL_ERR_CONNECTION_RESET'
  | 'SL_ERR_CONNECTION_CLOSED'
  | 'SL_ERR_FRAME_TOO_LARGE'
  | 'SL_ERR_DATAGRAM_TOO_LARGE'
  | 'SL_ERR_OUTPUT_OVERFLOW'
  | 'SL_ERR_IDLE_TIMEOUT'
  | 'SL_ERR_SLOW_SENDER'
  | 'SL_ERR_REPLY_TIMEOUT'
  | 'SL_ERR_SERVER_FULL'
  | 'SL_ERR_SHUTDOWN'
  | 'SL_ERR_ABORTED'
  | 'SL_ERR_USAGE'
  | 'SL_ERR_REPORT'
  | 'SL_ERR_BACKEND_UNAVAILABLE'
  | 'SL_ERR_STATE_CORRUPT'
  | 'SL_ERR_STATE_IO'
  | 'SL_ERR_WORKER'
  | 'SL_ERR_EXEC'
  | 'SL_ERR_TLS_CONFIG'
  | 'SL_ERR_TLS_UNTRUSTED'
  | 'SL_ERR_TLS_NAME_MISMATCH'
  | 'SL_ERR_TLS_CERT_EXPIRED'
  | 'SL_ERR_TLS_CERT_NOT_YET_VALID'
  | 'SL_ERR_TLS_FINGERPRINT_MISMATCH'
  | 'SL_ERR_TLS_PROTOCOL_VERSION'
  | 'SL_ERR_TLS_HANDSHAKE_TIMEOUT'
  | 'SL_ERR_TLS_NOT_TLS'
  | 'SL_ERR_TLS_EXPECTED'
  | 'SL_ERR_TLS_HANDSHAKE'
  // issue 21
  | 'SL_ERR_TOXIC_INVALID'
  | 'SL_ERR_TOXIC_EXISTS'
  | 'SL_ERR_TOXIC_NOT_FOUND'
  | 'SL_ERR_PROXY_INVALID'
  | 'SL_ERR_PROXY_EXISTS'
  | 'SL_ERR_PROXY_NOT_FOUND'
  // issue 20
  | 'SL_ERR_PROTOCOL'
  | 'SL_ERR_NO_GREETING'
  | 'SL_ERR_BENCH_FAILED'
  // issue 17
  | 'SL_ERR_LOG_FILE'
  | 'SL_ERR_PROXY';

/**
 * Base class of every socklab error.
 *
 * @example
 * try {
 *   await connectTcp({ host: '127.0.0.1', port: 1 });
 * } catch (err) {
 *   if (!(err instanceof SocklabError) || err.code !== 'SL_ERR_CONNECT_REFUSED') throw err;
 *   console.log(err.message); // "Cannot connect to 127.0.0.1:1: connection refused (is a server listening?)"
 * }
 */
export class SocklabError extends Error {
  constructor(
    readonly code: SocklabCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The system error code (`ECONNREFUSED`, `ENOTFOUND`, …) of an error, if it has one. */
export function systemCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * A message that exceeded `maxMessageBytes` before its end was seen. `decoded` holds the whole messages that
 * the same chunk completed before the oversized one: they arrived intact and deserve their replies.
 * @example
 * try {
 *   new LineDecoder({ maxLineBytes: 4 }).push(Buffer.from('ok\ntoo long\n'));
 * } catch (err) {
 *   if (!(err instanceof FrameTooLargeError)) throw err;
 *   console.log(err.code, err.decoded.map(String)); // SL_ERR_FRAME_TOO_LARGE [ 'ok' ]
 * }
 */
export class FrameTooLargeError extends SocklabError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
    readonly decoded: Buffer[] = [],
  ) {
    super('SL_ERR_FRAME_TOO_LARGE', `Cannot decode message of ${bytes} bytes or more: maxMessageBytes is ${limit}`);
  }
}

/**
 * A host name that did not resolve; `cause` is the DNS error.
 * @example
 * await resolveHost('no-such-host.invalid').catch((err) => console.log(err instanceof ResolveError && err.host)); // 'no-such-host.invalid'
 */
export class ResolveError extends SocklabError {
  constructor(
    readonly host: string,
    cause: unknown,
  ) {
    const why = systemCode(cause) === 'ENOTFOUND' ? 'no such host' : `DNS lookup failed (${systemCode(cause) ?? String(cause)})`;
    super('SL_ERR_RESOLVE', `Cannot resolve host "${host}": ${why}`, { cause });
  }
}

/** Wraps a failed connect, keeping the OS error as `cause`. */
export function connectError(target: string, cause: unknown): SocklabError {
  const code = systemCode(cause);
  if (code === 'ECONNREFUSED') {
    return new SocklabError('SL_ERR_CONNECT_REFUSED', `Cannot connect to ${target}: connection refused (is a server listening?)`, {
      cause,
    });
  }
  if (code === 'ENOENT') return new SocklabError('SL_ERR_CONNECT', `Cannot connect to ${target}: no such socket file`, { cause });
  return new SocklabError('SL_ERR_CONNECT', `Cannot connect to ${target}: ${code ?? String(cause)}`, { cause });
}

/** Wraps an error that ended an established connection. */
export function connectionError(peer: string, cause: unknown): SocklabError {
  if (cause instanceof SocklabError) return cause;
  const code = systemCode(cause);
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new SocklabError('SL_ERR_CONNECTION_RESET', `Connection to ${peer} was reset by the peer`, { cause });
  }
  return new SocklabError('SL_ERR_CONNECTION_CLOSED', `Connection to ${peer} failed: ${code ?? String(cause)}`, { cause });
}

/** Wraps a failed `listen`/`bind`. `inUse` (issue 22): what holds the port, when the caller could see it. */
export function bindError(target: string, cause: unknown, inUse?: 'listening' | 'time-wait'): SocklabError {
  const code = systemCode(cause);
  const why =
    code === 'EADDRINUSE'
      ? addressInUseReason(inUse)
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : code === 'EADDRNOTAVAIL'
          ? 'address not available on this machine'
          : (code ?? String(cause));
  return new SocklabError('SL_ERR_BIND', `Cannot listen on ${target}: ${why}`, { cause });
}

// issue 22: a live listener and a TIME-WAIT left by another process both give EADDRINUSE; the fixes differ.
function addressInUseReason(inUse: 'listening' | 'time-wait' | undefined): string {
  if (inUse === 'listening') return 'address already in use: another server is listening on it (ss -ltnp shows which; or try --port 0)';
  if (inUse === 'time-wait') {
    return 'address already in use: no server listens there, but connections of an earlier one are still in TIME-WAIT (up to 60 s, because that server did not set SO_REUSEADDR; ss -tan shows them): wait, or use another port';
  }
  return 'address already in use (is another server running? try --port 0)';
}

/** The error an aborted operation rejects with. */
export function abortedError(what: string, signal: AbortSignal): SocklabError {
  return new SocklabError('SL_ERR_ABORTED', `${what} was aborted`, { cause: signal.reason });
}
