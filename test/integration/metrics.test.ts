import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { register } from 'prom-client';
import { startCounterServer } from '../../src/apps/counter-server.js';
import { startMessageServer } from '../../src/apps/message-server.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { counterServerSource } from '../../src/dashboard/sources/udp-server.js';
import { LastMessages, tcpServerSource } from '../../src/dashboard/sources/tcp-server.js';
import { eventually } from '../helpers/changes.js';
import { CLI, start } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';

/** Prometheus text format → `name{labels}` → value (comments skipped). */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-z0-9_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(match, `a metric line: ${line}`);
    values.set(match[1]!, Number(match[2]));
  }
  return values;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

/** Sends `lines` one at a time, waiting for each whole reply line. */
async function converse(client: RawClient, lines: string[]): Promise<void> {
  for (const line of lines) {
    const before = client.lines.length;
    client.socket.write(`${line}\n`);
    await client.until(() => client.lines.length > before, `the reply to ${line}`);
  }
}

test('/metrics counts exactly the TCP traffic a test sent', async (t) => {
  const lastMessages = new LastMessages();
  const server = await startMessageServer({ port: 0, logMessages: false, greeting: null, onMessage: lastMessages.record });
  t.after(() => server.close());
  const dashboard = await startDashboard({ source: tcpServerSource({ tcp: server.tcp, title: 'test', messagesReceived: () => server.stats.messages, errors: server.stats.errors, lastMessages }), port: 0 });
  t.after(() => dashboard.close());
  const port = server.address().port;
  const scripts = [['a', 'bb'], ['ccc', 'dddd', 'eeeee'], ['ffffff']];
  const clients = await Promise.all(scripts.map(() => RawClient.connect(t, port)));
  // Connected on our side is not yet accepted on the server's.
  await eventually(() => server.tcp.stats.active === 3, () => `the server to accept 3 connections (${server.tcp.stats.active} so far)`, 5000, 10);
  const open = await scrape(dashboard.url);
  assert.equal(open.get('socklab_connections_open'), 3);
  const sentBytes = scripts.flat().reduce((sum, line) => sum + line.length + 1, 0);
  await Promise.all(scripts.map((lines, i) => converse(clients[i]!, lines)));
  for (const client of clients) client.socket.end();
  await Promise.all(clients.map((client) => client.waitForClose()));
  const receivedBytes = clients.reduce((sum, client) => sum + client.bytes, 0);
  await eventually(() => server.tcp.stats.active === 0, () => `the server to count every close (${server.tcp.stats.active} open)`, 5000, 10);

  const metrics = await scrape(dashboard.url);
  assert.equal(metrics.get('socklab_connections_total'), 3);
  assert.equal(metrics.get('socklab_connections_open'), 0);
  assert.equal(metrics.get('socklab_messages_received_total'), 6);
  assert.equal(metrics.get('socklab_messages_sent_total'), 6);
  assert.equal(metrics.get('socklab_bytes_received_total'), sentBytes);
  assert.equal(metrics.get('socklab_bytes_sent_total'), receivedBytes);
  assert.equal(metrics.get('socklab_connections_rejected_total{reason="full"}'), 0);
  assert.equal((await register.metrics()).includes('socklab_'), false, "prom-client's global registry is left alone");
});

test('/metrics counts UDP requests and drops by reason', async (t) => {
  const server = await startCounterServer({ port: 0, delayMs: 0, logMessages: false });
  t.after(() => server.close());
  const dashboard = await startDashboard({ source: counterServerSource(server), port: 0 });
  t.after(() => dashboard.close());
  const socket = createSocket('udp4');
  t.after(() => socket.close());
  socket.connect(server.address().port, '127.0.0.1');
  await once(socket, 'connect');
  let replies = 0;
  socket.on('message', () => replies++);
  for (const datagram of ['get', 'get\n', 'hello', 'get 7', 'get 7', '', 'x'.repeat(2000), 'get']) socket.send(datagram);
  await eventually(() => replies >= 5, () => `5 replies (${replies} so far)`, 5000, 10);
  assert.equal(replies, 5, 'get, get\\n, get 7, its retry and get are answered');
  const metrics = await scrape(dashboard.url);
  assert.equal(metrics.get('socklab_udp_requests_total'), 8);
  assert.equal(metrics.get('socklab_udp_gets_total'), 4);
  assert.equal(metrics.get('socklab_udp_retries_total'), 1);
  assert.equal(metrics.get('socklab_udp_replies_total'), 5);
  assert.equal(metrics.get('socklab_udp_dropped_total{reason="malformed"}'), 1);
  assert.equal(metrics.get('socklab_udp_dropped_total{reason="empty"}'), 1);
  assert.equal(metrics.get('socklab_udp_dropped_total{reason="oversized"}'), 1);
  assert.equal(metrics.get('socklab_udp_dropped_total{reason="rate-limited"}'), 0);
  assert.equal(metrics.get('socklab_udp_pending_replies'), 0);
});

test('bench --dashboard serves the run live: its rate and latency distribution', async (t) => {
  const server = await startMessageServer({ port: 0, logMessages: false });
  t.after(() => server.close());
  const child = start(t, process.execPath, [CLI, 'bench', 'tcp', '127.0.0.1', String(server.address().port), '-c', '2', '--duration-ms', '4000', '--warmup-ms', '100', '--dashboard', '0']);
  // The dashboard's line goes to stderr (stdout is the result, or JSON with --json). The URL is read whole: up to
  // the space after it.
  const [, url] = await child.waitFor(/dashboard on (http:\/\/\S+\/) /, 5000, 'stderr');
  let state: { kind: string; percentiles?: unknown[]; rates: { series: { values: number[] }[] } } | undefined;
  await eventually(
    async () => {
      state = (await (await fetch(`${url}api/state`)).json()) as typeof state;
      return (state?.percentiles?.length ?? 0) > 0 && (state?.rates.series[0]?.values.some((v) => v > 0) ?? false);
    },
    'latency percentiles and a request rate on the live dashboard',
    4000,
    250,
  );
  assert.equal(state!.kind, 'bench');
  assert.ok(state!.percentiles!.length > 1, 'latency percentiles while running');
  assert.ok(state!.rates.series[0]!.values.some((v) => v > 0), 'a request rate while running');
  const metrics = await scrape(url!);
  assert.ok(metrics.get('socklab_bench_completed_total')! > 0);
  const { code } = await child.finish(15_000);
  assert.equal(code, 0);
});
