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
export { connectTcp, type ConnectOptions } from './tcp/client.js';
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
  type MessageServerOptions,
  type ServeMode,
  type ServerEvent,
} from './apps/message-server.js';
export { runMessageClient, type MessageClientOptions, type MessageClientEvent, type MessageClientResult } from './apps/message-client.js';
export { startCounterServer, parseGet, type CounterServer, type CounterServerOptions, type CounterEvent } from './apps/counter-server.js';
export { runCounterClient, type CounterClientOptions, type CounterClientEvent, type CounterClientResult } from './apps/counter-client.js';
