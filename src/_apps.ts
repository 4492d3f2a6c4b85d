/**
 * The CLI's programs as library functions, each loaded on its first call: `import 'socklab'` then costs no more
 * than the connection API (BENCHMARKS.md, "Import cost"). The modules behind them document every option.
 */
import { SocklabError, abortedError } from './errors.js';
import type { MessageServer, MessageServerOptions } from './apps/message-server.js';
import type { MessageClientEvent, MessageClientOptions, MessageClientResult } from './apps/message-client.js';
import type { CounterServer, CounterServerOptions } from './apps/counter-server.js';
import type { CounterClientOptions, CounterClientResult } from './apps/counter-client.js';
import type { TcpProxy, TcpProxyOptions } from './proxy/tcp-proxy.js';
import type { UdpProxy, UdpProxyOptions } from './proxy/udp-proxy.js';
import type { ExecServer, ExecServerOptions } from './exec/exec-server.js';
import type { ChatServer, ChatServerOptions } from './apps/chat-server.js';
import type { CheckOptions, CheckReport } from './check/types.js';
import type { ManagedProxy, ProxySet } from './proxy/proxy-set.js';
import type { ToxiproxyApi, ToxiproxyApiOptions } from './proxy/toxiproxy-api.js';

/**
 * Starts the seed's message protocol (`socklab serve`): a greeting on connect, a reply to every message, `quit`
 * ends the session after its reply, a half-close (EOF) is a `quit` after every message before it is answered.
 * A misbehaving client is told `error <code>: <why>` before it is closed.
 *
 * @example
 * const server = await startMessageServer({ port: 0, greeting: null, reply: 'ack {message}', logMessages: false });
 * console.log(server.address().port);
 * await server.close();
 */
export async function startMessageServer(options: MessageServerOptions = {}): Promise<MessageServer> {
  return (await import('./apps/message-server.js')).startMessageServer(options);
}

/**
 * The seed's client.py, made robust (`socklab client`): sends `hello`, then each input line, and reports every
 * reply as it arrives; a reply missing after `replyTimeoutMs` fails with SL_ERR_REPLY_TIMEOUT.
 *
 * @example
 * const server = await startMessageServer({ port: 0, greeting: null, logMessages: false });
 * const result = await runMessageClient({ host: '127.0.0.1', port: server.address().port, hello: null }, ['hi', 'quit']);
 * console.log(result);
 * await server.close();
 */
export async function runMessageClient(
  options: MessageClientOptions,
  input: AsyncIterable<string> | Iterable<string>,
  onEvent?: (event: MessageClientEvent) => void,
): Promise<MessageClientResult> {
  return abortCoded('The message client', options.signal, async () => (await import('./apps/message-client.js')).runMessageClient(options, input, onEvent));
}

/**
 * The seed's UDP counter server (`socklab udp-serve`): answers `get` with the next counter value after
 * `delayMs`, bounded and rate-limited per source.
 *
 * @example
 * const server = await startCounterServer({ port: 0, delayMs: 0, logMessages: false });
 * console.log(server.address().port);
 * await server.close();
 */
export async function startCounterServer(options: CounterServerOptions = {}): Promise<CounterServer> {
  return (await import('./apps/counter-server.js')).startCounterServer(options);
}

/**
 * The seed's udp_client.py (`socklab udp-client`): `count` times send `get` and wait for the reply, reporting a
 * reply that does not come within `timeoutMs` as lost; with `retries` it asks again, with request ids.
 *
 * @example
 * const server = await startCounterServer({ port: 0, delayMs: 0, logMessages: false });
 * const { replies, lost } = await runCounterClient({ host: '127.0.0.1', port: server.address().port, count: 3, intervalMs: 0 });
 * console.log(replies, lost);
 * await server.close();
 */
export async function runCounterClient(options: CounterClientOptions): Promise<CounterClientResult> {
  return abortCoded('The counter client', options.signal, async () => (await import('./apps/counter-client.js')).runCounterClient(options));
}

/**
 * A TCP proxy for fault injection (`socklab proxy`): latency, jitter, bandwidth, slicing, resets, a slow close
 * or a black hole, between clients and a target.
 *
 * @example
 * const proxy = await startTcpProxy({ targetPort: 12345, latencyMs: 50 });
 * console.log(proxy.address().port); // clients connect here
 * await proxy.close();
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  return (await import('./proxy/tcp-proxy.js')).startTcpProxy(options);
}

/**
 * A UDP proxy for fault injection (`socklab proxy --udp`): drops, duplicates, reorders and delays datagrams
 * from a seeded generator, so a lossy run replays exactly.
 *
 * @example
 * const proxy = await startUdpProxy({ targetPort: 12345, drop: 0.1, seed: 7 });
 * console.log(proxy.address().port);
 * await proxy.close();
 */
export async function startUdpProxy(options: UdpProxyOptions): Promise<UdpProxy> {
  return (await import('./proxy/udp-proxy.js')).startUdpProxy(options);
}

/**
 * inetd in a function (`socklab serve --exec`): every connection is handed to a new process whose stdin and
 * stdout are the connection's bytes; `maxConnections` bounds the processes.
 *
 * @example
 * const server = await startExecServer({ port: 0, command: { argv: ['cat'] } }); // an echo server
 * console.log(server.address().port);
 * await server.close();
 */
export async function startExecServer(options: ExecServerOptions): Promise<ExecServer> {
  return (await import('./exec/exec-server.js')).startExecServer(options);
}

/**
 * A chat (`ncat --chat`) or broker (`ncat --broker`) server (`socklab serve --mode chat|broker`): every message
 * goes to the other clients, and through a shared state (other `--workers`, Redis) to other instances' clients.
 *
 * @example
 * const server = await startChatServer({ port: 0, mode: 'chat', onEvent: (e) => console.log(formatChatEvent(e)) });
 * console.log(server.address().port);
 * await server.close();
 */
export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  return (await import('./apps/chat-server.js')).startChatServer(options);
}

/**
 * `socklab check` as a function: grades a server on `host:port` against one of the workshop's protocols, one
 * property at a time (split reads, many clients, a slow reader, …), and says for each failure why it matters.
 * Resolves with the report whatever the verdict; rejects only for options it cannot run (an unknown check name).
 *
 * @example
 * const server = await startMessageServer({ port: 0, logMessages: false });
 * const report = await runChecks({ protocol: 'concurrent', port: server.address().port, only: ['greets', 'many-clients'] });
 * for (const c of report.checks) console.log(c.passed ? 'pass' : 'FAIL', c.name, c.hint);
 * await server.close();
 */
export async function runChecks(options: CheckOptions): Promise<CheckReport> {
  return abortCoded('The check', options.signal, async () => (await import('./check/run-checks.js')).runChecks(options));
}

/**
 * An empty set of named proxies (the model behind `socklab proxy --api`), for {@link startToxiproxyApi} or to
 * drive directly. `defaults` apply to every proxy it starts; `onStart` is told of each one.
 *
 * @example
 * const proxies = await createProxySet({ seed: 1 });
 * const echo = await proxies.create({ name: 'echo', upstream: `127.0.0.1:${port}` });
 * console.log(echo.address().port); // clients connect here
 * await proxies.close();
 */
export async function createProxySet(
  defaults: Pick<TcpProxyOptions, 'seed' | 'maxHeldBytes' | 'onChunk'> = {},
  onStart?: (proxy: ManagedProxy) => void,
): Promise<ProxySet> {
  const { ProxySet } = await import('./proxy/proxy-set.js');
  return new ProxySet(defaults, onStart);
}

/**
 * Toxiproxy's HTTP API over `proxies` (`socklab proxy --api`), so toxiproxy's clients (toxiproxy-node-client,
 * the Go, Ruby and Python clients, testcontainers) drive socklab unchanged. Listens on loopback, port 8474, unless
 * told otherwise. `close()` stops the API and every proxy in the set.
 *
 * @example
 * const api = await startToxiproxyApi(await createProxySet(), { port: 0 });
 * const base = `http://127.0.0.1:${api.address().port}`;
 * await fetch(`${base}/proxies`, { method: 'POST', body: JSON.stringify({ name: 'echo', upstream: `127.0.0.1:${port}` }) });
 * const latency = { type: 'latency', attributes: { latency: 100 } };
 * await fetch(`${base}/proxies/echo/toxics`, { method: 'POST', body: JSON.stringify(latency) });
 * console.log(await (await fetch(`${base}/proxies`)).json());
 * await api.close();
 */
export async function startToxiproxyApi(proxies: ProxySet, options: ToxiproxyApiOptions = {}): Promise<ToxiproxyApi> {
  return (await import('./proxy/toxiproxy-api.js')).startToxiproxyApi(proxies, options);
}

/** Node's own aborts (timers/promises, throwIfAborted) reject with a DOMException: the caller gets SL_ERR_ABORTED. */
async function abortCoded<T>(what: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (signal?.aborted && !(err instanceof SocklabError) && (err as Error | undefined)?.name === 'AbortError') throw abortedError(what, signal);
    throw err;
  }
}
