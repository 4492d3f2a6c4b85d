import { isLoopback } from '../../address.js';
import { formatServerEvent, startMessageServer, type MessageServerOptions, type ServeMode, type ServerEvent } from '../../apps/message-server.js';
import type { Framing } from '../../codec/framing.js';
import type { LineEnding } from '../../codec/lines.js';
import { DEFAULTS } from '../../options.js';
import type { TcpConnection } from '../../tcp/connection.js';
import { accessLists, untilAborted } from '../command.js';
import { reportTls, tlsFailureExtras } from '../tls-flags.js';
import { connectionLimits, reportListening, type ServeSettings } from './options.js';

/** A message server's event as the fields of its `--json` line. */
function eventFields(event: ServerEvent): Record<string, unknown> {
  const { type: _type, error: _error, totals, ...rest } = event as ServerEvent & { error?: unknown; totals?: Record<string, number> };
  return { ...rest, ...totals };
}

function messageServerOptions(settings: ServeSettings, mode: ServeMode): MessageServerOptions {
  const { values, path, out, tracer } = settings;
  return {
    host: values.host,
    port: values.port,
    ...(path === undefined ? {} : { path }),
    mode,
    ...(values['no-greeting'] ? { greeting: null } : values.greeting !== undefined ? { greeting: values.greeting } : {}),
    ...(values.reply !== undefined ? { reply: values.reply } : {}),
    quitCommand: values.quit,
    ...(values.once !== undefined ? { once: values.once } : {}),
    framing: values.framing as Framing,
    lineEnding: values.eol as LineEnding,
    logMessages: !values.quiet,
    greetAtAccept: values['greet-at-accept'] === true,
    ...(settings.tls ? { tls: settings.tls } : {}),
    maxConnections: values['max-connections'] ?? DEFAULTS.maxConnections,
    ...connectionLimits(values),
    ...accessLists(values.allow, values.deny),
    ...(tracer.enabled ? { onConnection: (conn: TcpConnection) => tracer.watch(conn.socket, conn.remote) } : {}),
    // The message log is a hot path: without --json, no event object is built.
    onEvent: out.json ? (event) => out.event(event.type, eventFields(event), formatServerEvent(event)) : (event) => out.say(formatServerEvent(event)),
  };
}

/** concurrent, sequential and greet: in this process, or over `--workers` (concurrent). */
export async function serveMessages(settings: ServeSettings, mode: ServeMode): Promise<number> {
  const { values, out, io } = settings;
  if (values.workers > 1) {
    // node:cluster and the shared state only when asked for.
    const { runScaled } = await import('../scale.js');
    return runScaled({
      values: { workers: values.workers, redis: undefined },
      io,
      start: async () => {
        const server = await startMessageServer(messageServerOptions(settings, mode));
        reportTls(settings.out, settings.tls, server.tcp);
        const { stats } = server;
        return { address: server.address(), totals: () => ({ accepted: stats.accepted, rejected: stats.rejected, messages: stats.messages }), close: () => server.close() };
      },
      onListening: (address, workers) => reportListening(settings, address, mode, workers),
      onStopped: (t) => out.event('stopped', { totals: t }, `stopped: ${t['accepted'] ?? 0} clients served, ${t['messages'] ?? 0} messages, ${t['rejected'] ?? 0} rejected`),
    });
  }
  // Only with a dashboard is each connection's last message kept (a reference, read when the page updates).
  const dashboardModules =
    values.dashboard === undefined ? undefined : await Promise.all([import('../../dashboard/cli.js'), import('../../dashboard/sources/tcp-server.js')]);
  const lastMessages = dashboardModules === undefined ? undefined : new dashboardModules[1].LastMessages();
  const server = await startMessageServer({ ...messageServerOptions(settings, mode), ...(lastMessages ? { onMessage: lastMessages.record } : {}) });
  reportTls(settings.out, settings.tls, server.tcp);
  reportListening(settings, server.address(), mode, 1);
  const dashboard =
    values.dashboard === undefined || dashboardModules === undefined
      ? undefined
      : await dashboardModules[0].serveDashboard(
          values.dashboard,
          dashboardModules[1].tcpServerSource({ tcp: server.tcp, title: `serve (${mode})`, messagesReceived: () => server.stats.messages, errors: server.stats.errors, ...(lastMessages ? { lastMessages } : {}) }),
          (line) => out.say(line),
          (line) => out.note(line),
          () => server.close(),
        );
  if (settings.path === undefined && !isLoopback(values.host)) out.note(`note: listening on ${values.host}, so other machines can connect`);
  const maxConnections = values['max-connections'] ?? DEFAULTS.maxConnections;
  if (server.tcp.maxConnections < maxConnections) {
    out.note(`note: only enough file descriptors for ${server.tcp.maxConnections} clients (see ulimit -n); more are told "server full"`);
  }
  await Promise.race([server.done, untilAborted(io.signal)]);
  await Promise.all([server.close(), dashboard?.close()]);
  const { accepted, rejected, messages, denied, acceptErrors, errors, tlsFailures } = server.stats;
  const extras = [
    ...tlsFailureExtras(tlsFailures),
    denied > 0 ? `${denied} denied` : '',
    acceptErrors > 0 ? `${acceptErrors} accept errors` : '',
    ...Object.entries(errors).map(([code, n]) => `${n} closed for ${code}`),
  ].filter(Boolean);
  const totals = { accepted, rejected, messages, denied, acceptErrors, errors, ...(settings.tls ? { tlsFailures } : {}) };
  out.event('stopped', { totals }, `stopped: ${accepted} clients served, ${messages} messages, ${rejected} rejected${extras.map((e) => `, ${e}`).join('')}`);
  return 0;
}
