import { spawn } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { formatEndpoint } from '../address.js';
import { resolveHostAll } from '../dns.js';
import { SocklabError, bindError, connectionError } from '../errors.js';
import type { ProgramCommand } from '../exec/program.js';
import type { ChunkRecorder } from '../pipe/byte-pipe.js';
import { CrlfEncoder } from '../pipe/crlf.js';

/** The largest UDP payload over IPv4 (65535 − 8 UDP − 20 IP header bytes); a longer stdin read is split. */
const MAX_DATAGRAM_BYTES = 65_507;

export interface UdpPipeOptions {
  input?: Readable | undefined;
  output?: Writable | undefined;
  recvOnly?: boolean;
  sendOnly?: boolean;
  crlf?: boolean;
  idleTimeoutMs?: number;
  /** After the end of input, wait this long for replies before exiting (`-q`). @default 0 */
  quitAfterInputEndMs?: number;
  log?: ChunkRecorder | undefined;
  signal?: AbortSignal | undefined;
  report?: (level: number, line: string) => void;
}

function idleError(ms: number): SocklabError {
  return new SocklabError('SL_ERR_IDLE_TIMEOUT', `Idle timeout expired (${ms} ms): -i is ${ms} ms`);
}

/** Splits a chunk into datagram-sized pieces (a read of stdin is one datagram unless it is larger than UDP allows). */
function datagrams(chunk: Buffer): Buffer[] {
  if (chunk.length <= MAX_DATAGRAM_BYTES) return [chunk];
  const parts: Buffer[] = [];
  for (let at = 0; at < chunk.length; at += MAX_DATAGRAM_BYTES) parts.push(chunk.subarray(at, at + MAX_DATAGRAM_BYTES));
  return parts;
}

/**
 * `ncat -u host port`: each read of stdin is sent as one datagram to the peer, every datagram received is
 * written to stdout. Ends at the end of stdin (UDP has no FIN; ncat does the same), after `quitAfterInputEndMs`.
 * @throws {SocklabError} SL_ERR_CONNECTION_RESET when the peer's host answers "port unreachable"
 */
export async function runUdpConnect(target: { host: string; port: number; family?: 4 | 6 | undefined; localAddress?: string | undefined; localPort?: number | undefined }, options: UdpPipeOptions): Promise<void> {
  const [first] = await resolveHostAll(target.host, target.family === undefined ? {} : { family: target.family });
  const socket = createSocket(first!.family === 'IPv6' ? 'udp6' : 'udp4');
  const where = formatEndpoint({ address: first!.address, port: target.port });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) => reject(bindError(`${target.localAddress ?? '*'}:${target.localPort ?? 0}`, err)));
      socket.bind({ port: target.localPort ?? 0, ...(target.localAddress ? { address: target.localAddress } : {}) }, () => resolve());
    });
    socket.removeAllListeners('error');
    await new Promise<void>((resolve) => socket.connect(target.port, first!.address, resolve));
    options.report?.(1, `Connected to ${where}.`);
    await pumpDatagrams(socket, where, options, (bytes) => socket.send(bytes));
  } finally {
    socket.close();
  }
}

/** Shared by both modes: stdin → `send`, datagrams → stdout, with ncat's end and idle rules. */
function pumpDatagrams(
  socket: UdpSocket,
  where: string,
  options: UdpPipeOptions,
  send: (bytes: Buffer) => void,
  listen?: { accept: (rinfo: RemoteInfo) => boolean },
): Promise<void> {
  const waitForever = listen !== undefined;
  const { input, output, log } = options;
  const crlf = options.crlf ? new CrlfEncoder() : undefined;
  const idleMs = options.idleTimeoutMs ?? Infinity;
  return new Promise<void>((resolve, reject) => {
    let idleTimer: NodeJS.Timeout | undefined;
    const touch = (): void => {
      if (idleMs === Infinity) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => done(idleError(idleMs)), idleMs);
    };
    const done = (error?: Error): void => {
      clearTimeout(idleTimer);
      input?.off('data', onInput);
      input?.pause();
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onInput = (chunk: Buffer): void => {
      touch();
      const bytes = crlf ? crlf.encode(chunk) : chunk;
      log?.record(bytes);
      for (const datagram of datagrams(bytes)) send(datagram);
    };
    const onAbort = (): void => done();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('message', (message: Buffer, rinfo: RemoteInfo) => {
      if (listen && !listen.accept(rinfo)) return;
      touch();
      if (options.sendOnly || !output) return;
      log?.record(message);
      output.write(message);
    });
    socket.on('error', (err) => done(connectionError(where, err)));
    touch();
    if (input && !options.recvOnly) {
      input.on('data', onInput);
      input.once('end', () => {
        if (waitForever) return;
        const quitMs = options.quitAfterInputEndMs ?? 0;
        // Let the last datagram leave before the socket closes.
        setTimeout(() => done(), quitMs === Infinity ? 2 ** 31 - 1 : quitMs);
      });
      // A listener reads stdin once it has a peer to send it to.
      if (!listen) input.resume();
    }
  });
}

export interface UdpListenOptions extends UdpPipeOptions {
  host?: string | undefined;
  port: number;
  family?: 4 | 6 | undefined;
  /** `-k`: every peer; without it, only the first peer is served (ncat's one-shot UDP mode). */
  keepOpen?: boolean;
  exec?: ProgramCommand | undefined;
  onListening?: (where: string) => void;
}

/**
 * `ncat -u -l`: binds, then serves the first peer that sends (datagrams from others are dropped), or with
 * `keepOpen` every peer (stdin goes to all). With `exec`, one program per peer: its stdin is the peer's datagrams,
 * each write to its stdout one datagram back. Runs until the signal fires or the idle timeout passes.
 */
export async function runUdpListen(options: UdpListenOptions): Promise<void> {
  const host = options.host ?? (options.family === 4 ? '0.0.0.0' : '::');
  const socket = createSocket({ type: isIP(host) === 4 ? 'udp4' : 'udp6', ipv6Only: options.host === undefined && options.family === 6 });
  const where = formatEndpoint({ address: host, port: options.port });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) => reject(bindError(`udp ${where}`, err)));
      socket.bind(options.port, host, () => resolve());
    });
    socket.removeAllListeners('error');
    const bound = formatEndpoint(socket.address());
    options.report?.(options.port === 0 ? 0 : 1, `Listening on udp ${bound}`);
    options.onListening?.(bound);
    const peers = new Map<string, RemoteInfo>();
    const key = (rinfo: RemoteInfo): string => `${rinfo.address}:${rinfo.port}`;
    const programs = new Map<string, (message: Buffer) => void>();
    // Datagrams from peers other than the one served are dropped before the shared pump sees them.
    const admitted = (rinfo: RemoteInfo): boolean => {
      if (peers.has(key(rinfo))) return true;
      if (!options.keepOpen && peers.size > 0) return false;
      peers.set(key(rinfo), rinfo);
      options.report?.(1, `Connection from ${formatEndpoint(rinfo)}`);
      options.input?.resume();
      return true;
    };
    if (options.exec) {
      const exec = options.exec;
      socket.on('message', (message: Buffer, rinfo: RemoteInfo) => {
        if (!admitted(rinfo)) return;
        const id = key(rinfo);
        const deliver = programs.get(id) ?? startProgram(socket, rinfo, exec, bound, () => programs.delete(id));
        programs.set(id, deliver);
        deliver(message);
      });
      await new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));
      return;
    }
    options.input?.pause();
    const send = (bytes: Buffer): void => {
      for (const peer of peers.values()) socket.send(bytes, peer.port, peer.address);
    };
    await pumpDatagrams(socket, where, options, send, { accept: admitted });
  } finally {
    socket.close();
  }
}

/** One program for one UDP peer; returns how to hand it the peer's datagrams. */
function startProgram(socket: UdpSocket, peer: RemoteInfo, command: ProgramCommand, local: string, onExit: () => void): (message: Buffer) => void {
  const [file, ...args] = 'argv' in command ? command.argv : ['/bin/sh', '-c', command.shell];
  const localPort = /:(\d+)$/.exec(local)?.[1] ?? '';
  const env = { ...process.env, NCAT_REMOTE_ADDR: peer.address, NCAT_REMOTE_PORT: String(peer.port), NCAT_LOCAL_ADDR: local.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''), NCAT_LOCAL_PORT: localPort, NCAT_PROTO: 'UDP' };
  const child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
  child.stdout.on('data', (chunk: Buffer) => {
    for (const datagram of datagrams(chunk)) socket.send(datagram, peer.port, peer.address);
  });
  child.stdin.on('error', () => {});
  child.on('error', onExit);
  child.on('exit', onExit);
  return (message) => void (child.stdin.writable && child.stdin.write(message));
}
