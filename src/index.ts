/**
 * socklab: TCP and UDP socket programming in TypeScript.
 *
 * @example
 * import { listenTcp, connectTcp } from 'socklab';
 * const server = await listenTcp({ port: 0 });
 * server.on('connection', (conn) => conn.on('message', (m) => conn.send(`echo ${m}`)));
 * const conn = await connectTcp({ port: server.address().port });
 * conn.send('hi');
 */
export { formatEndpoint, isLoopback, type Endpoint } from './address.js';
export { resolveHost, resolveHostAll, type ResolvedAddress, type ResolveOptions } from './dns.js';
export { SocklabError, FrameTooLargeError, ResolveError, type SocklabCode } from './errors.js';
export { DEFAULTS } from './options.js';
export { LineDecoder, encodeLine, type LineEnding, type LineDecoderOptions } from './codec/lines.js';
export { LengthPrefixDecoder, encodeLengthPrefixed, type LengthPrefixDecoderOptions } from './codec/length-prefix.js';
export { createDecoder, encodeMessage, FRAMINGS, type Framing, type MessageDecoder } from './codec/framing.js';
export { TcpConnection, type ConnectionOptions, type ConnectionState } from './tcp/connection.js';
export { connectTcp, type ConnectOptions, type ConnectTarget, type ConnectClientOptions } from './tcp/client.js';
export { listenTcp, TcpServer, type ListenOptions, type ServerStats } from './tcp/server.js';
export {
  bindUdp,
  connectUdp,
  UdpEndpoint,
  MAX_UDP_PAYLOAD_BYTES,
  type Datagram,
  type BindUdpOptions,
  type ConnectUdpOptions,
  type UdpStats,
} from './udp/endpoint.js';
export {
  startMessageServer,
  formatServerEvent,
  farewellLine,
  SEED_TEXTS,
  SERVE_MODES,
  type MessageServer,
  type MessageServerStats,
  type MessageServerOptions,
  type ServeMode,
  type ServerEvent,
} from './apps/message-server.js';
export { runMessageClient, type MessageClientOptions, type MessageClientEvent, type MessageClientResult } from './apps/message-client.js';
export {
  startCounterServer,
  parseGet,
  formatReply,
  type CounterServer,
  type CounterServerOptions,
  type CounterEvent,
  type CounterStats,
  type DropReason,
  type GetRequest,
} from './apps/counter-server.js';
export { createAccessCheck, type AccessOptions, type AccessCheck } from './access.js';
export { SourceRateLimiter } from './udp/rate-limit.js';
export { startTcpProxy, TcpProxy, type TcpProxyOptions, type TcpFaults, type TcpProxyEvent, type TcpProxyStats, type FaultDirection } from './proxy/tcp-proxy.js';
export { startUdpProxy, UdpProxy, type UdpProxyOptions, type UdpFaults, type UdpProxyStats } from './proxy/udp-proxy.js';
export { seededRandom } from './proxy/random.js';
export { runCounterClient, type CounterClientOptions, type CounterClientEvent, type CounterClientResult } from './apps/counter-client.js';
export { startDashboard, type Dashboard, type DashboardOptions, type DashboardState } from './dashboard/server.js';
export type { DashboardSource, SourceSample, Section, Card, ConnectionRow, RateSpec } from './dashboard/source.js';
export { tcpServerSource, LastMessages, type TcpServerSourceOptions } from './dashboard/sources/tcp-server.js';
export { counterServerSource } from './dashboard/sources/udp-server.js';
export { tcpProxySource, udpProxySource, type FaultSettings } from './dashboard/sources/proxy.js';
export { createMetricsRegistry, type MetricSpec } from './metrics/registry.js';
export { renderHtmlReport } from './bench/html-report.js';
export {
  MemoryState,
  MemoryCounter,
  type SharedState,
  type SharedStateKind,
  type SharedStateStatus,
  type SharedStateEvents,
  type CounterStore,
} from './state/shared-state.js';
export { RedisState, connectRedisState, parseRedisUrl, type RedisTarget, type RedisStateOptions } from './state/redis-state.js';
export { ClusterHub, WorkerState } from './state/cluster-state.js';
export { StateFileCounter, openStateFile, formatStateFile, parseStateFile, type StateFileOptions } from './state/state-file.js';
export { startChatServer, formatChatEvent, type ChatServer, type ChatServerOptions, type ChatServerStats, type ChatEvent, type ChatMode } from './apps/chat-server.js';
export { escapeControls } from './apps/chat/escape.js';
export { startExecServer, formatExit, type ExecServer, type ExecServerOptions, type ExecServerEvent, type ExecServerStats } from './exec/exec-server.js';
export { ProgramSession, programCommand, describeCommand, type ProgramCommand, type ProgramOptions, type ProgramExit } from './exec/program.js';
export { splitCommandLine } from './exec/argv.js';
export { toSocketPath, formatSocketPath, probeSocketPath, prepareSocketPath, type SocketPathState } from './unix/socket-path.js';
export { formatHexDump, formatHexLines, type Direction } from './trace/hexdump.js';
export { SessionTracer, formatTraceEntry, LOG_FORMATS, type LogFormat, type TraceSink, type TraceEntry } from './trace/session-trace.js';
export { BatchedFileWriter } from './trace/batched-file-writer.js';
export { generateSelfSigned, parseFingerprint, type CertificateSummary, type SelfSignedCertificate } from './tls/certificate.js';
export { TlsError } from './tls/errors.js';
export { TLS_VERSIONS, type TlsClientOptions, type TlsServerOptions, type TlsVersion } from './tls/options.js';
export { tlsSessionInfo, type TlsSessionInfo } from './tls/client.js';
export { looksLikeTlsHandshake, looksLikeTlsRecord } from './tls/sniff.js';
