import { connect, type Socket } from 'node:net';
import { SocklabError } from '../errors.js';
import { connectTlsSocket, VERIFIED_EVENT } from '../tls/client.js';
import type { ResolvedTlsClientOptions } from '../tls/options.js';
import { createReplyFramer, type Reply, type ReplyFramer, type ReplyFraming } from './_reply-framing.js';

/** Where and how a bench connects. */
export interface ConnectTarget {
  host: string;
  port: number;
  /** A UNIX domain socket instead of host and port. */
  path?: string;
  tls?: ResolvedTlsClientOptions;
  /** Connections in the run (past 20,000 on loopback the source addresses spread). */
  connections: number;
}

/** A plaintext or TLS socket, and the event that says it is ready for the first request. */
export function connectFor(target: ConnectTarget, index = 0): { socket: Socket; ready: string } {
  if (target.tls) return { socket: connectTlsSocket(target.host, target.port, target.tls), ready: VERIFIED_EVENT };
  const where = target.path === undefined ? { host: target.host, port: target.port, ...localAddressFor(target, index) } : { path: target.path };
  return { socket: connect({ ...where, noDelay: true }), ready: 'connect' };
}

/**
 * One source address has ~28,000 ephemeral ports (ip_local_port_range) per destination, so past 20,000
 * connections to an IPv4 loopback server the sources spread over 127.0.0.2-127.0.0.251 (all of 127/8 is loopback).
 */
function localAddressFor(target: ConnectTarget, index: number): { localAddress?: string } {
  if (target.connections <= 20_000 || !target.host.startsWith('127.')) return {};
  return { localAddress: `127.0.0.${2 + (index % 250)}` };
}

export interface OpenOptions extends ConnectTarget {
  /** The server greets on connect: its first reply is the greeting, not an answer. */
  greeting: boolean;
  /** For the connect, and then for the greeting. */
  timeoutMs: number;
  framing: ReplyFraming;
  replyBytes?: number;
  maxReplyBytes: number;
}

/** A connection ready for requests; `early` holds replies that came in the same read as the greeting. */
export interface OpenConnection {
  socket: Socket;
  framer: ReplyFramer;
  early: Reply[];
}

/**
 * Connects and, if the server greets, waits for its greeting. A server that accepts but says nothing within
 * `timeoutMs` fails with `SL_ERR_NO_GREETING`, naming the fix, rather than a bare timeout.
 */
export function openConnection(options: OpenOptions, index: number): Promise<OpenConnection> {
  return new Promise((resolve, reject) => {
    const { socket, ready } = connectFor(options, index);
    const framer = createReplyFramer(options.framing, options);
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        connected
          ? new SocklabError('SL_ERR_NO_GREETING', `Connected to ${target(options)}, but this server sent no greeting within ${options.timeoutMs} ms: use --no-greeting`)
          : Object.assign(new Error(`connect timeout after ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
      );
    }, options.timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const done = (early: Reply[]): void => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.off('data', onGreeting);
      socket.off('end', onEnd);
      resolve({ socket, framer, early });
    };
    const onGreeting = (chunk: Buffer): void => {
      try {
        const replies = framer.push(chunk);
        if (replies.length > 0) done(replies.slice(1));
      } catch (err) {
        fail(err as Error);
      }
    };
    const onEnd = (): void => fail(Object.assign(new Error('the server closed the connection before greeting'), { code: 'ECONNRESET' }));
    socket.once('error', fail);
    socket.once(ready, () => {
      connected = true;
      if (!options.greeting) return done([]);
      socket.on('data', onGreeting);
      socket.once('end', onEnd);
    });
  });
}

function target(options: ConnectTarget): string {
  return options.path ?? `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
}
