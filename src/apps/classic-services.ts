import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** The classic measurement services: echo (RFC 862), discard (RFC 863) and character generator (RFC 864). */
export type ClassicService = 'echo' | 'discard' | 'chargen';

export const CLASSIC_SERVICES: readonly ClassicService[] = ['echo', 'discard', 'chargen'];

export interface ClassicServiceOptions {
  service: ClassicService;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Listen on a UNIX domain socket instead. */
  path?: string;
  /** Connections served at once; past it new ones are closed at accept. @default 10000 */
  maxConnections?: number;
}

/** Counters of a running service. */
export interface ClassicServiceStats {
  accepted: number;
  bytesIn: number;
  bytesOut: number;
}

export interface ClassicServiceServer {
  readonly address: AddressInfo | string;
  readonly stats: ClassicServiceStats;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/**
 * RFC 864's pattern: the 95 printable ASCII characters (32-126) in a ring, 72 of them per line, each line
 * starting one character later, lines ending in CRLF. One full cycle (95 lines) is precomputed, so serving it is
 * one buffer write after another.
 */
function chargenCycle(): Buffer {
  const lines: string[] = [];
  for (let start = 0; start < 95; start++) {
    let line = '';
    for (let i = 0; i < 72; i++) line += String.fromCharCode(32 + ((start + i) % 95));
    lines.push(`${line}\r\n`);
  }
  return Buffer.from(lines.join(''), 'latin1');
}

let cycle: Buffer | undefined;

function serve(service: ClassicService, socket: Socket, stats: ClassicServiceStats): void {
  socket.on('error', () => {}); // a peer that resets is its own business; the close follows
  if (service === 'echo') {
    // pipe() pauses reading while the peer does not read our echo: the server's memory stays bounded.
    socket.on('data', (chunk: Buffer) => {
      stats.bytesIn += chunk.length;
      stats.bytesOut += chunk.length;
    });
    socket.pipe(socket);
    return;
  }
  if (service === 'discard') {
    socket.on('data', (chunk: Buffer) => (stats.bytesIn += chunk.length));
    socket.on('end', () => socket.end());
    return;
  }
  // chargen: whatever the client sends is discarded (RFC 864); we write as fast as it reads.
  socket.on('data', (chunk: Buffer) => (stats.bytesIn += chunk.length));
  socket.on('end', () => socket.end());
  const data = (cycle ??= chargenCycle());
  const pump = (): void => {
    while (!socket.destroyed && socket.writable) {
      stats.bytesOut += data.length;
      if (!socket.write(data)) return void socket.once('drain', pump);
    }
  };
  pump();
}

/**
 * Starts an echo, discard or chargen service: a target for `bench throughput` and for any tool that measures
 * a network path (iperf-like loads, `nc`).
 *
 * @example
 * const server = await startClassicService({ service: 'discard', port: 0 });
 * console.log(server.address); // { address: '127.0.0.1', port: 40123, family: 'IPv4' }
 * await server.close();
 */
export async function startClassicService(options: ClassicServiceOptions): Promise<ClassicServiceServer> {
  const stats: ClassicServiceStats = { accepted: 0, bytesIn: 0, bytesOut: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (socket) => {
    stats.accepted++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(options.service, socket, stats);
  });
  server.maxConnections = options.maxConnections ?? 10_000;
  if (options.path !== undefined) server.listen(options.path);
  else server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  return {
    address: server.address()!,
    stats,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
