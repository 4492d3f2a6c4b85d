/**
 * socklab: TCP and UDP socket programming in TypeScript.
 *
 * The library's own surface: connections, servers and datagram endpoints with their options, limits and errors;
 * the codecs; and the CLI's programs as functions. The CLI's internals (flag parsing, log formats, dashboard
 * sources, bench reports) are not exported. Heavy optional parts (ioredis, prom-client, selfsigned) load only
 * when a feature that needs them is used, so `import 'socklab'` costs little more than node:net, dgram and tls.
 *
 * @packageDocumentation
 * @example
 * import { listenTcp, connectTcp } from 'socklab';
 * await using server = await listenTcp({ port: 0 });
 * server.on('connection', (conn) => conn.on('message', (m) => conn.send(`echo ${m}`)));
 * await using conn = await connectTcp({ host: '127.0.0.1', port: server.address().port });
 * conn.send('hi');
 * console.log((await conn.receive({ timeoutMs: 1000 })).toString()); // "echo hi"
 */
export { formatEndpoint, isLoopback, type Endpoint } from './address.js';
export { resolveHost, resolveHostAll, type ResolvedAddress, type ResolveOptions } from './dns.js';
export { SocklabError, FrameTooLargeError, ResolveError, type SocklabCode } from './errors.js';
export { DEFAULTS } from './options.js';
export type { WaitOptions } from './_inbox.js';
export { LineDecoder, encodeLine, type LineEnding, type LineDecoderOptions } from './codec/lines.js';
export { LengthPrefixDecoder, encodeLengthPrefixed, type LengthPrefixDecoderOptions } from './codec/length-prefix.js';
export { createDecoder, encodeMessage, FRAMINGS, type Framing, type MessageDecoder } from './codec/framing.js';
export { RespDecoder, RespError, encodeRespCommand, type RespValue, type RespFrame, type RespDecoderOptions } from './codec/resp.js';
export { HttpResponseDecoder, type HttpResponse, type HttpResponseDecoderOptions } from './codec/http1.js';
export { pipeSocket, type BytePipeOptions, type PipeResult, type PipeEnd, type ChunkRecorder } from './pipe/byte-pipe.js';
export { parseDuration } from './pipe/duration.js';
export { parsePortList } from './nc/scan.js';
export {
  TcpConnection,
  type ConnectionOptions,
  type ConnectionState,
  type ConnectionEvents,
  type ConnectionStats,
  type ConnectionTls,
  type MessagesOptions,
  type ReceiveOptions,
} from './tcp/connection.js';
export type { ResolvedConnectionOptions } from './tcp/_connection-options.js';
export type { TlsVerification } from './tcp/_connection-tls.js';
export { connectTcp, type ConnectOptions, type ConnectTarget, type ConnectClientOptions } from './tcp/client.js';
export { listenTcp, TcpServer, type ListenOptions, type ServerStats, type TcpServerEvents } from './tcp/server.js';
export type { AccessOptions } from './access.js';
export {
  bindUdp,
  connectUdp,
  UdpEndpoint,
  MAX_UDP_PAYLOAD_BYTES,
  type Datagram,
  type BindUdpOptions,
  type ConnectUdpOptions,
  type UdpEndpointOptions,
  type UdpEndpointEvents,
  type UdpKind,
  type UdpReceiveOptions,
  type UdpStats,
  type UdpTarget,
  type RequestOptions,
} from './udp/endpoint.js';
export { generateSelfSigned, type CertificateSummary, type SelfSignedCertificate } from './tls/certificate.js';
export { TlsError } from './tls/errors.js';
export { TLS_VERSIONS, type TlsClientOptions, type TlsServerOptions, type TlsVersion, type Pem } from './tls/options.js';

// The CLI's programs as functions (README, "The library"), each module loaded on the first call.
export {
  startMessageServer,
  runMessageClient,
  startCounterServer,
  runCounterClient,
  startTcpProxy,
  startUdpProxy,
  startExecServer,
  startChatServer,
  runChecks,
  createProxySet,
  startToxiproxyApi,
} from './_apps.js';
export { formatChatEvent } from './apps/chat/format.js';
export type { MessageServer, MessageServerStats, MessageServerOptions, ServeMode, ServerEvent, ConnectionTotals } from './apps/message-server.js';
export type { MessageClientOptions, MessageClientEvent, MessageClientResult } from './apps/message-client.js';
export type { CounterServer, CounterServerOptions, CounterEvent, CounterStats, DropReason } from './apps/counter-server.js';
export type { CounterClientOptions, CounterClientEvent, CounterClientResult } from './apps/counter-client.js';
export type { TcpProxy, TcpProxyOptions, TcpFaults, TcpProxyEvent, TcpProxyStats, FaultDirection } from './proxy/tcp-proxy.js';
export type { UdpProxy, UdpProxyOptions, UdpFaults, UdpProxyStats } from './proxy/udp-proxy.js';
export type { CheckOptions, CheckReport, CheckResult, CheckProtocol } from './check/types.js';
export type { ProxySet, ManagedProxy, ProxyDefinition, ProxyJson } from './proxy/proxy-set.js';
export type { ToxiproxyApi, ToxiproxyApiOptions } from './proxy/toxiproxy-api.js';
export { parseScenario, runScenario, type ScenarioStep, type ScenarioProxy } from './proxy/scenario.js';
export type { Toxic, ToxicInput, ToxicAttributes, ToxicStream, ToxicType } from './proxy/toxics.js';
export type { ExecServer, ExecServerOptions, ExecServerEvent, ExecServerStats } from './exec/exec-server.js';
export type { ProgramSession, ProgramCommand, ProgramOptions, ProgramExit } from './exec/program.js';
export type { ChatServer, ChatServerOptions, ChatServerStats, ChatEvent, ChatMode } from './apps/chat-server.js';
export { MemoryState, type CounterStore, type SharedState, type SharedStateKind, type SharedStateEvents, type SharedStateStatus } from './state/shared-state.js';
export { RedisState, connectRedisState, parseRedisUrl, type RedisTarget, type RedisStateOptions } from './state/redis-state.js';
