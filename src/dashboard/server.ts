import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { formatEndpoint, isLoopback, toEndpoint, unbracket, type Endpoint } from '../address.js';
import { listenOn } from '../listen.js';
import { createMetricsRegistry } from '../metrics/registry.js';
import { DEFAULTS, checkCount, checkPort } from '../options.js';
import { CHARTS_JS } from './assets/charts.js';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './assets/page.js';
import { uplotAssets } from './assets/uplot.js';
import { RateHistory, type RateWindow } from './history.js';
import type { DashboardSource, SourceSample } from './source.js';

export interface DashboardOptions {
  source: DashboardSource;
  /** Loopback unless asked: the page shows peers' addresses and messages. @default '127.0.0.1' */
  host?: string;
  /** @default 0 */
  port?: number;
  /** @default DEFAULTS.dashboardIntervalMs */
  intervalMs?: number;
  /** @default DEFAULTS.maxDashboardClients */
  maxClients?: number;
}

/** What `/api/state` returns and every server-sent event carries. */
export interface DashboardState extends Omit<SourceSample, 'totals'> {
  kind: string;
  title: string;
  address: string;
  uptimeMs: number;
  rates: RateWindow;
}

/** A running dashboard. */
export interface Dashboard {
  /** e.g. `http://127.0.0.1:9000/` */
  readonly url: string;
  address(): Endpoint;
  readonly registry: Registry;
  /** The latest state, as pages receive it. */
  state(): DashboardState;
  close(): Promise<void>;
}

/**
 * No inline script or style, nothing from another origin, no framing, no forms: the page can only run its own
 * files and talk to its own server.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** An SSE client that falls this far behind is cut off rather than buffered for. */
const MAX_SSE_BACKLOG_BYTES = 1024 * 1024;

/**
 * Serves a read-only page about `source` over HTTP on its own port, in the same process: `/` (the page),
 * `/events` (server-sent events, one per sample), `/api/state` (the same as JSON) and `/metrics` (Prometheus).
 *
 * @example
 * const dashboard = await startDashboard({ source: counterServerSource(server), port: 0 });
 * console.log(`dashboard on ${dashboard.url}`);
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { source } = options;
  const host = unbracket(options.host ?? '127.0.0.1');
  const port = checkPort('port', options.port ?? 0);
  const intervalMs = checkCount('intervalMs', options.intervalMs ?? DEFAULTS.dashboardIntervalMs, 10);
  const maxClients = checkCount('maxClients', options.maxClients ?? DEFAULTS.maxDashboardClients, 0);
  const registry = createMetricsRegistry(source.metrics);
  const history = new RateHistory(source.rates);
  const startedAt = Date.now();
  const clients = new Set<ServerResponse>();
  let latest: DashboardState;

  const sample = (): void => {
    const now = Date.now();
    const { totals, ...shown } = source.sample();
    history.add(now, totals);
    latest = {
      kind: source.kind,
      title: source.title,
      address: source.address(),
      uptimeMs: now - startedAt,
      ...shown,
      sections: [...shown.sections, ...source.extraSections.map((section) => section())],
      rates: history.toJSON(),
    };
    if (clients.size === 0) return;
    const event = `data: ${JSON.stringify(latest)}\n\n`;
    for (const res of clients) {
      if (res.writableLength > MAX_SSE_BACKLOG_BYTES) res.destroy();
      else res.write(event);
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);

  const server = createServer((req, res) => handle(req, res));
  // Only these Host headers are served on loopback, so a web page elsewhere cannot read the dashboard through
  // DNS rebinding (its requests would carry its own host name).
  let allowedHosts: Set<string> | undefined;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (allowedHosts && !allowedHosts.has((req.headers.host ?? '').toLowerCase())) return reply(res, 421, 'text/plain', 'Unknown host\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return reply(res, 405, 'text/plain', 'The dashboard is read-only\n');
    }
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/':
        return reply(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
      case '/app.js':
        return reply(res, 200, 'text/javascript; charset=utf-8', PAGE_JS);
      case '/charts.js':
        return reply(res, 200, 'text/javascript; charset=utf-8', CHARTS_JS);
      case '/app.css':
        return reply(res, 200, 'text/css; charset=utf-8', PAGE_CSS);
      case '/uplot.js':
        return reply(res, 200, 'text/javascript; charset=utf-8', uplotAssets().js);
      case '/uplot.css':
        return reply(res, 200, 'text/css; charset=utf-8', uplotAssets().css);
      case '/api/state':
        return reply(res, 200, 'application/json', JSON.stringify(latest));
      case '/metrics':
        registry.metrics().then(
          (text) => reply(res, 200, registry.contentType, text),
          (err: Error) => reply(res, 500, 'text/plain', `Cannot collect metrics: ${err.message}\n`),
        );
        return;
      case '/events':
        return openEvents(req, res);
      case '/favicon.ico':
        return reply(res, 204, 'text/plain', '');
      default:
        return reply(res, 404, 'text/plain', 'Not found\n');
    }
  }

  function openEvents(req: IncomingMessage, res: ServerResponse): void {
    if (clients.size >= maxClients) return reply(res, 503, 'text/plain', `Too many dashboard pages open: maxDashboardClients is ${maxClients}\n`);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    if (req.method === 'HEAD') return void res.end();
    res.socket?.setNoDelay(true);
    // The browser reconnects after this many ms if the stream breaks; the current state goes out at once.
    res.write(`retry: 1000\ndata: ${JSON.stringify(latest)}\n\n`);
    clients.add(res);
    res.on('close', () => clients.delete(res));
  }

  await listenOn(server, { host, port }, formatEndpoint({ address: host, port })).catch((err: unknown) => {
    clearInterval(timer);
    throw err;
  });
  server.on('error', () => {}); // after listen: accept errors only; the server keeps going
  server.on('clientError', (_err, socket) => socket.destroy());
  const endpoint = toEndpoint(server.address() as { address: string; port: number; family: string });
  if (isLoopback(host)) {
    allowedHosts = new Set([...['127.0.0.1', 'localhost', '[::1]'].map((name) => `${name}:${endpoint.port}`), formatEndpoint({ address: host, port: endpoint.port })]);
  }
  // Bound to every address: the URL names one that works from this machine.
  const shown = endpoint.address === '0.0.0.0' || endpoint.address === '::' ? `localhost:${endpoint.port}` : formatEndpoint(endpoint);

  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}/`,
    address: () => endpoint,
    registry,
    state: () => latest,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        source.detach();
        for (const res of clients) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
