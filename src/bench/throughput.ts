import { systemCode } from '../errors.js';
import { connectError } from '../errors.js';
import type { Socket } from 'node:net';
import { connectFor, type ConnectTarget } from './_connection-driver.js';

/** What flows: we send (to a discard or any sink), we receive (from chargen or any source), or both (echo). */
export type ThroughputDirection = 'send' | 'receive' | 'both';

export interface ThroughputOptions extends ConnectTarget {
  /** Parallel streams (iperf3 -P). */
  streams: number;
  direction: ThroughputDirection;
  durationMs: number;
  /** Run before measuring (TCP slow start, buffers). */
  warmupMs: number;
  /** Each write; 128 KiB is iperf3's default for TCP. @default 131072 */
  chunkBytes?: number;
  intervalMs: number;
  timeoutMs: number;
  onInterval?: (interval: ThroughputInterval) => void;
  onProgress?: (fraction: number, bytes: number) => void;
  signal?: AbortSignal;
}

/** One interval: bytes and MB/s each way (MB is 10^6 bytes; iperf3's MBytes are 2^20). */
export interface ThroughputInterval {
  startMs: number;
  endMs: number;
  measuring: boolean;
  sentBytes: number;
  receivedBytes: number;
  sentMBps: number;
  receivedMBps: number;
}

/** The whole run. */
export interface ThroughputResult {
  direction: ThroughputDirection;
  streams: number;
  measuredMs: number;
  sentBytes: number;
  receivedBytes: number;
  sentMBps: number;
  receivedMBps: number;
  /** The same rates in Gbit/s (what iperf3 prints by default). */
  sentGbps: number;
  receivedGbps: number;
  intervals: ThroughputInterval[];
  /** Streams the peer closed or reset before the end. */
  closedEarly: number;
  errors: number;
  cpuPercent: number;
}

const mbps = (bytes: number, ms: number): number => (ms > 0 ? Math.round((bytes / 1e6 / (ms / 1000)) * 100) / 100 : 0);

/**
 * Bulk transfer over `streams` TCP connections, like iperf3 but against any peer: `send` writes as fast as the
 * kernel takes the bytes (pausing on backpressure), `receive` reads, `both` does both at once. Bytes count
 * when the kernel accepts them (the write callback), and measuring starts after `warmupMs`.
 *
 * @example const r = await runThroughputBench({ host: '127.0.0.1', port, streams: 2, direction: 'send', … });
 */
export async function runThroughputBench(options: ThroughputOptions): Promise<ThroughputResult> {
  const chunk = Buffer.alloc(options.chunkBytes ?? 128 * 1024, 0x61);
  const cpuStart = process.cpuUsage();
  const sockets: Socket[] = [];
  let stopping = false;
  let closedEarly = 0;
  let errors = 0;
  let sent = 0;
  let received = 0;
  for (let i = 0; i < options.streams; i++) {
    const { socket, ready } = connectFor({ ...options, connections: options.streams }, i);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), options.timeoutMs);
        socket.once(ready, () => (clearTimeout(timer), resolve()));
        socket.once('error', (err) => (clearTimeout(timer), reject(err)));
      });
    } catch (err) {
      for (const s of sockets) s.destroy();
      socket.destroy();
      throw connectError(options.path ?? `${options.host}:${options.port}`, err);
    }
    sockets.push(socket);
  }
  for (const socket of sockets) {
    socket.on('error', (err) => {
      if (!stopping && systemCode(err) !== 'ECONNRESET' && systemCode(err) !== 'EPIPE') errors++;
    });
    socket.on('close', () => {
      if (!stopping) closedEarly++;
    });
    if (options.direction === 'send') socket.resume(); // a sink may still say something; never let it block us
    else socket.on('data', (data: Buffer) => (received += data.length));
    if (options.direction !== 'receive') {
      const onWritten = (): void => void (sent += chunk.length);
      const write = (): void => {
        while (!stopping && !socket.destroyed) if (!socket.write(chunk, onWritten)) return void socket.once('drain', write);
      };
      write();
    }
  }
  const startedAt = performance.now();
  const totalMs = options.warmupMs + options.durationMs;
  const intervals: ThroughputInterval[] = [];
  let mark = { at: 0, sent: 0, received: 0 };
  let measureFrom: typeof mark | undefined;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, options.intervalMs)));
    const now = performance.now() - startedAt;
    if (measureFrom === undefined && now >= options.warmupMs) measureFrom = { at: now, sent, received };
    const last = now >= totalMs || options.signal?.aborted || closedEarly === sockets.length;
    if (now - mark.at >= options.intervalMs || last) {
      const span = now - mark.at;
      const interval = { startMs: Math.round(mark.at), endMs: Math.round(now), measuring: now > options.warmupMs, sentBytes: sent - mark.sent, receivedBytes: received - mark.received, sentMBps: mbps(sent - mark.sent, span), receivedMBps: mbps(received - mark.received, span) };
      intervals.push(interval);
      options.onInterval?.(interval);
      mark = { at: now, sent, received };
    }
    options.onProgress?.(Math.min(1, now / totalMs), sent + received);
    if (last) break;
  }
  stopping = true;
  const end = { at: performance.now() - startedAt, sent, received };
  for (const socket of sockets) socket.destroy();
  const from = measureFrom ?? end;
  const measuredMs = end.at - from.at;
  const used = process.cpuUsage(cpuStart);
  const wallUs = (performance.now() - startedAt) * 1000;
  const sentBytes = end.sent - from.sent;
  const receivedBytes = end.received - from.received;
  return {
    direction: options.direction,
    streams: sockets.length,
    measuredMs,
    sentBytes,
    receivedBytes,
    sentMBps: mbps(sentBytes, measuredMs),
    receivedMBps: mbps(receivedBytes, measuredMs),
    sentGbps: Math.round((mbps(sentBytes, measuredMs) * 8) / 10) / 100,
    receivedGbps: Math.round((mbps(receivedBytes, measuredMs) * 8) / 10) / 100,
    intervals,
    closedEarly,
    errors,
    cpuPercent: Math.round(((used.user + used.system) / wallUs) * 1000) / 10,
  };
}
