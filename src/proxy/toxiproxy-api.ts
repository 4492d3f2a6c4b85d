import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatEndpoint, toEndpoint, unbracket, type Endpoint } from '../address.js';
import { SocklabError } from '../errors.js';
import { listenOn } from '../listen.js';
import { checkPort } from '../options.js';
import { isMissingField, isUdp, type ManagedProxy, type ProxySet } from './proxy-set.js';

/** The toxiproxy release whose HTTP API this one follows (`GET /version` reports it, with socklab's mark). */
export const TOXIPROXY_API_VERSION = '2.12.0';

/** Where {@link startToxiproxyApi} listens, and its limit. */
export interface ToxiproxyApiOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 8474 (toxiproxy's) */
  port?: number;
  /** Largest request body accepted. @default 1048576 */
  maxBodyBytes?: number;
}

/** An answer: a status, and a body already in toxiproxy's shape (`undefined`: none). */
interface Reply {
  status: number;
  body?: unknown;
}

/** Toxiproxy's error body, `{"error": "...", "status": N}`, for each socklab code. */
const ERRORS: Partial<Record<SocklabError['code'], { status: number; message: string; detail?: boolean }>> = {
  SL_ERR_PROXY_NOT_FOUND: { status: 404, message: 'proxy not found' },
  SL_ERR_PROXY_EXISTS: { status: 409, message: 'proxy already exists' },
  SL_ERR_TOXIC_NOT_FOUND: { status: 404, message: 'toxic not found' },
  SL_ERR_TOXIC_EXISTS: { status: 409, message: 'toxic already exists' },
  SL_ERR_PROXY_INVALID: { status: 400, message: 'bad request body', detail: true },
  SL_ERR_TOXIC_INVALID: { status: 400, message: 'bad request body', detail: true },
  SL_ERR_TLS_CONFIG: { status: 400, message: 'bad request body', detail: true },
};

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function apiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isMissingField(err)) return new ApiError(400, `missing required field: ${err.message}`);
  if (err instanceof SocklabError) {
    if (err.code === 'SL_ERR_TOXIC_INVALID' && err.message.startsWith('Unknown toxic type')) return new ApiError(400, 'invalid toxic type');
    if (err.code === 'SL_ERR_TOXIC_INVALID' && err.message.startsWith('Stream must be')) return new ApiError(400, 'stream was invalid, can be either upstream or downstream');
    const known = ERRORS[err.code];
    if (known) return new ApiError(known.status, known.detail ? `${known.message}: ${err.message}` : known.message);
  }
  // A bind that failed, a name that did not resolve: toxiproxy answers 500 with the error's text.
  return new ApiError(500, err instanceof Error ? err.message : String(err));
}

async function readJson(request: IncomingMessage, maxBodyBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new ApiError(413, `bad request body: larger than maxBodyBytes (${maxBodyBytes})`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  // Go's decoder reads an empty body as EOF, an error; so does this.
  if (text.trim() === '') throw new ApiError(400, 'bad request body: EOF');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, `bad request body: ${(err as Error).message}`);
  }
}

/** Prometheus text for the proxies, in toxiproxy's metric names (its `-proxy-metrics`). */
function metricsText(set: ProxySet): string {
  const lines = [
    '# HELP toxiproxy_proxy_received_bytes_total The total bytes received on a given proxy link',
    '# TYPE toxiproxy_proxy_received_bytes_total counter',
  ];
  const label = (value: string): string => JSON.stringify(value);
  const sent: string[] = ['# HELP toxiproxy_proxy_sent_bytes_total The total bytes sent on a given proxy link', '# TYPE toxiproxy_proxy_sent_bytes_total counter'];
  const faults: string[] = ['# HELP socklab_proxy_faults_total Times a toxic acted on a connection (socklab extension)', '# TYPE socklab_proxy_faults_total counter'];
  for (const proxy of set.all()) {
    if (isUdp(proxy)) {
      for (const [fate, n] of Object.entries({ drop: proxy.stats.dropped, duplicate: proxy.stats.duplicated, reorder: proxy.stats.reordered })) faults.push(`socklab_proxy_faults_total{proxy=${label(proxy.name)},toxic=${label(fate)}} ${n}`);
      continue;
    }
    const labels = (direction: string): string => `direction=${label(direction)},listener=${label(formatEndpoint(proxy.address()))},proxy=${label(proxy.name)},upstream=${label(proxy.upstreamText)}`;
    lines.push(`toxiproxy_proxy_received_bytes_total{${labels('upstream')}} ${proxy.stats.bytesUp}`, `toxiproxy_proxy_received_bytes_total{${labels('downstream')}} ${proxy.stats.bytesDown}`);
    sent.push(`toxiproxy_proxy_sent_bytes_total{${labels('upstream')}} ${proxy.stats.sentUp}`, `toxiproxy_proxy_sent_bytes_total{${labels('downstream')}} ${proxy.stats.sentDown}`);
    for (const [type, n] of Object.entries(proxy.stats.faults)) faults.push(`socklab_proxy_faults_total{proxy=${label(proxy.name)},toxic=${label(type)}} ${n}`);
  }
  return [...lines, ...sent, ...faults, ''].join('\n');
}

/**
 * A running toxiproxy-compatible HTTP API, from {@link startToxiproxyApi}.
 *
 * @example
 * const api = await startToxiproxyApi(await createProxySet(), { port: 0 });
 * const version = await fetch(`http://127.0.0.1:${api.address().port}/version`);
 * console.log(await version.json()); // { version: '2.12.0-socklab' }
 * await api.close(); // and every proxy in it
 */
export class ToxiproxyApi {
  constructor(
    readonly server: Server,
    readonly proxies: ProxySet,
  ) {}

  address(): Endpoint {
    return toEndpoint(this.server.address() as { address: string; port: number; family: string });
  }

  /** Stops the API and every proxy in it. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await this.proxies.close();
  }
}

type Route = (match: string[], body: () => Promise<unknown>) => Promise<Reply>;

/**
 * Serves toxiproxy's HTTP API over `proxies`, so toxiproxy's clients (toxiproxy-node-client, the Go, Ruby and
 * Python clients, testcontainers) drive socklab unchanged. Listens on loopback unless a host is given.
 *
 * @example
 * const api = await startToxiproxyApi(await createProxySet(), { port: 0 });
 * // What `curl -X POST localhost:<port>/proxies -d '{...}'` does: a proxy in front of `port` (a line server).
 * const created = await fetch(`http://127.0.0.1:${api.address().port}/proxies`, {
 *   method: 'POST',
 *   body: JSON.stringify({ name: 'echo', listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}` }),
 * });
 * console.log(created.status, await created.json()); // 201 { name: 'echo', listen: '127.0.0.1:…', … }
 * await api.close();
 */
export async function startToxiproxyApi(proxies: ProxySet, options: ToxiproxyApiOptions = {}): Promise<ToxiproxyApi> {
  const host = unbracket(options.host ?? '127.0.0.1');
  const port = checkPort('port', options.port ?? 8474);
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const show = (proxy: ManagedProxy): unknown => proxies.json(proxy);
  const routes: Array<[method: string, pattern: RegExp, route: Route]> = [
    ['GET', /^\/proxies$/, async () => ({ status: 200, body: Object.fromEntries(proxies.all().map((proxy) => [proxy.name, show(proxy)])) })],
    ['POST', /^\/proxies$/, async (_, body) => ({ status: 201, body: show(await proxies.create(await body())) })],
    ['POST', /^\/populate$/, async (_, body) => populate(proxies, await body())],
    ['POST', /^\/reset$/, async () => (await proxies.reset(), { status: 204 })],
    ['GET', /^\/version$/, async () => ({ status: 200, body: { version: `${TOXIPROXY_API_VERSION}-socklab` } })],
    ['GET', /^\/proxies\/([^/]+)$/, async ([name]) => ({ status: 200, body: show(proxies.get(name!)) })],
    ['POST|PATCH', /^\/proxies\/([^/]+)$/, async ([name], body) => ({ status: 200, body: show(await proxies.update(name!, await body())) })],
    ['DELETE', /^\/proxies\/([^/]+)$/, async ([name]) => (await proxies.remove(name!), { status: 204 })],
    ['GET', /^\/proxies\/([^/]+)\/toxics$/, async ([name]) => ({ status: 200, body: proxies.get(name!).toxics() })],
    // Toxiproxy answers a new toxic with 200, not 201; its clients expect that.
    ['POST', /^\/proxies\/([^/]+)\/toxics$/, async ([name], body) => ({ status: 200, body: proxies.get(name!).addToxic((await body()) as never) })],
    ['GET', /^\/proxies\/([^/]+)\/toxics\/([^/]+)$/, async ([name, toxic]) => ({ status: 200, body: proxies.get(name!).toxic(toxic!) })],
    ['POST|PATCH', /^\/proxies\/([^/]+)\/toxics\/([^/]+)$/, async ([name, toxic], body) => ({ status: 200, body: proxies.get(name!).updateToxic(toxic!, (await body()) as never) })],
    ['DELETE', /^\/proxies\/([^/]+)\/toxics\/([^/]+)$/, async ([name, toxic]) => (proxies.get(name!).removeToxic(toxic!), { status: 204 })],
  ];
  const server = createServer((request, response) => {
    void handle(request, response).catch(() => response.destroy());
  });
  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A web page could POST here (a CSRF): toxiproxy refuses every browser, and so does this.
    if ((request.headers['user-agent'] ?? '').startsWith('Mozilla/')) return sendText(response, 403, 'User agent not allowed\n');
    const path = decodeURI(new URL(request.url ?? '/', 'http://api').pathname);
    if (path === '/metrics' && request.method === 'GET') return sendText(response, 200, metricsText(proxies), 'text/plain; version=0.0.4; charset=utf-8');
    const matching = routes.filter(([, pattern]) => pattern.test(path));
    if (matching.length === 0) return sendText(response, 404, '404 page not found\n');
    const found = matching.find(([method]) => method.split('|').includes(request.method ?? ''));
    if (!found) return sendText(response, 405, '');
    const [, pattern, route] = found;
    try {
      const reply = await route(pattern.exec(path)!.slice(1), () => readJson(request, maxBodyBytes));
      if (reply.body === undefined) {
        response.writeHead(reply.status).end();
      } else {
        const type = path === '/version' ? 'application/json;charset=utf-8' : 'application/json';
        response.writeHead(reply.status, { 'content-type': type }).end(JSON.stringify(reply.body));
      }
    } catch (err) {
      const error = apiError(err);
      // Go's http.Error: a text/plain body holding the JSON, with a newline.
      sendText(response, error.status, `${JSON.stringify({ error: error.message, status: error.status })}\n`);
    }
  }
  await listenOn(server, { host, port }, formatEndpoint({ address: host, port }));
  return new ToxiproxyApi(server, proxies);
}

async function populate(proxies: ProxySet, input: unknown): Promise<Reply> {
  let outcome: Awaited<ReturnType<ProxySet['populate']>>;
  try {
    outcome = await proxies.populate(input);
  } catch (error) {
    outcome = { proxies: [], error };
  }
  const { proxies: done, error } = outcome;
  // An empty list answers `{"proxies": []}`, where toxiproxy answers `null`.
  const body = { proxies: done.map((proxy) => proxies.json(proxy)) };
  if (error === undefined) return { status: 201, body };
  const failure = apiError(error);
  return { status: failure.status, body: { error: failure.message, status: failure.status, ...body } };
}

function sendText(response: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff' }).end(text);
}
