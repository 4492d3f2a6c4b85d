import { formatEndpoint } from '../../address.js';
import { formatChatEvent, startChatServer, type ChatEvent, type ChatMode, type ChatServer } from '../../apps/chat-server.js';
import { serveDashboard } from '../../dashboard/cli.js';
import { LastMessages, tcpServerSource } from '../../dashboard/sources/tcp-server.js';
import { DEFAULTS } from '../../options.js';
import type { TcpConnection } from '../../tcp/connection.js';
import { accessLists } from '../command.js';
import type { EventOutput } from '../json-events.js';
import { runScaled } from '../scale.js';
import { reportTls } from '../tls-flags.js';
import { connectionLimits, reportListening, type ServeSettings } from './options.js';

function reportChatEvent(out: EventOutput, event: ChatEvent): void {
  const text = formatChatEvent(event);
  if (!out.json) {
    // The link to the other servers is diagnostics: stderr.
    if (event.type === 'link') out.note(text);
    else out.say(text);
    return;
  }
  const { type, ...fields } = event;
  out.event(type, fields, text);
}

/** The dashboard of a chat or broker server: the generic TCP page plus who is in the room. */
function serveChatDashboard(flag: string, server: ChatServer, mode: ChatMode, lastMessages: LastMessages | undefined, out: EventOutput) {
  const source = tcpServerSource({
    tcp: server.tcp,
    title: `serve (${mode})`,
    messagesReceived: () => server.stats.messages,
    errors: server.stats.errors,
    ...(lastMessages ? { lastMessages } : {}),
  });
  source.extraSections.push(() => {
    const members = server.members();
    return { title: `In the room (${members.length})`, columns: ['name', 'peer'], rows: members.map((m) => [m.name, formatEndpoint(m.peer)]), empty: 'nobody yet' };
  });
  return serveDashboard(flag, source, (line) => out.say(line), (line) => out.note(line), () => server.close());
}

/** Chat and broker: alone, over --workers, or over --redis (runScaled picks). */
export function serveChat(settings: ServeSettings, mode: ChatMode): Promise<number> {
  const { values, path, out, tracer, io } = settings;
  const lastMessages = values.dashboard === undefined ? undefined : new LastMessages();
  return runScaled({
    values: { workers: values.workers, redis: values.redis },
    io,
    start: async (state) => {
      const server = await startChatServer({
        host: values.host,
        port: values.port,
        ...(path === undefined ? {} : { path }),
        ...(settings.tls ? { tls: settings.tls } : {}),
        mode,
        state,
        room: values.room,
        quitCommand: values.quit,
        lineEnding: values.eol === 'crlf' ? 'crlf' : 'lf',
        logMessages: !values.quiet,
        maxConnections: values['max-connections'] ?? DEFAULTS.maxConnections,
        ...connectionLimits(values),
        ...accessLists(values.allow, values.deny),
        onEvent: (event) => reportChatEvent(out, event),
        ...(lastMessages ? { onMessage: lastMessages.record } : {}),
        ...(tracer.enabled ? { onConnection: (conn: TcpConnection) => tracer.watch(conn.socket, conn.remote) } : {}),
      });
      reportTls(settings.out, settings.tls, server.tcp);
      const dashboard = values.dashboard === undefined ? undefined : await serveChatDashboard(values.dashboard, server, mode, lastMessages, out);
      const { stats } = server;
      return {
        address: server.address(),
        totals: () => ({
          accepted: stats.accepted,
          rejected: stats.rejected,
          messages: stats.messages,
          deliveries: stats.deliveries,
          remote: stats.remote,
          unpublished: stats.unpublished,
          cutOff: stats.errors.SL_ERR_OUTPUT_OVERFLOW ?? 0,
        }),
        close: async () => {
          await Promise.all([server.close(), dashboard?.close()]);
        },
      };
    },
    onListening: (address, workers) => reportListening(settings, address, mode, workers, values.redis),
    onStopped: (t) =>
      out.event(
        'stopped',
        { totals: t },
        `stopped: ${t['accepted'] ?? 0} clients served, ${t['messages'] ?? 0} messages, ${t['deliveries'] ?? 0} deliveries, ` +
          `${t['remote'] ?? 0} from other servers, ${t['unpublished'] ?? 0} not shared (link down), ${t['cutOff'] ?? 0} cut off for not reading`,
      ),
  });
}
