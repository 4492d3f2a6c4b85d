import { checkCount } from '../options.js';
import { resolveToxic, type Toxic, type ToxicInput, type ToxicStream } from './toxics.js';

/** Which way a fault applies: `up` is client → server, `down` is server → client. */
export type FaultDirection = 'both' | 'up' | 'down';

/**
 * Faults a TCP proxy starts with, in the command line's words. Each becomes a toxic (see `faultToxics`),
 * so the proxy's API shows them and can change them. Every one is off by default: a proxy with none is a plain
 * relay.
 */
export interface TcpFaults {
  /** Added to every chunk's trip. @default 0 */
  latencyMs?: number;
  /** Up to this much more or less than `latencyMs`, at random; chunks never overtake each other. @default 0 */
  jitterMs?: number;
  /** Bytes per second each way, per connection. @default Infinity */
  bandwidthBytesPerSec?: number;
  /** Cut every chunk into segments of at most this many bytes, written one by one. @default Infinity */
  sliceBytes?: number;
  /** Pause between slices, so each arrives as its own read. @default 1 */
  sliceDelayMs?: number;
  /** Reset both sides (RST) this long after the client connected. @default Infinity */
  resetAfterMs?: number;
  /** Pass exactly this many bytes, then reset both sides (counted in each faulted direction). @default Infinity */
  resetAfterBytes?: number;
  /** Hold a FIN this long before passing it on. @default 0 */
  slowCloseMs?: number;
  /** Accept, pass nothing and answer nothing; the connection closes when the client closes (toxiproxy's `timeout` 0). */
  blackHole?: boolean;
  /** Which direction the faults apply to. @default 'both' */
  direction?: FaultDirection;
  /** Seed for every random choice (jitter, toxicity, slice sizes). @default random (read it back from `seed`) */
  seed?: number;
}

/**
 * The toxics that stand for `faults`, named `<type>_<stream>` as toxiproxy names them, in the order a chunk
 * meets them: delay, rate, slicing, then what ends the connection.
 *
 * @example faultToxics({ latencyMs: 100, direction: 'down' }) // [{ name: 'latency_downstream', type: 'latency', … }]
 */
export function faultToxics(faults: TcpFaults): Toxic[] {
  const latencyMs = checkCount('latencyMs', faults.latencyMs ?? 0, 0);
  const jitterMs = checkCount('jitterMs', faults.jitterMs ?? 0, 0);
  const bandwidth = checkCount('bandwidthBytesPerSec', faults.bandwidthBytesPerSec ?? Infinity, 1, true);
  const sliceBytes = checkCount('sliceBytes', faults.sliceBytes ?? Infinity, 1, true);
  const sliceDelayMs = checkCount('sliceDelayMs', faults.sliceDelayMs ?? 1, 0);
  const resetAfterMs = checkCount('resetAfterMs', faults.resetAfterMs ?? Infinity, 0, true);
  const resetAfterBytes = checkCount('resetAfterBytes', faults.resetAfterBytes ?? Infinity, 0, true);
  const slowCloseMs = checkCount('slowCloseMs', faults.slowCloseMs ?? 0, 0);
  const direction = faults.direction ?? 'both';
  if (direction !== 'both' && direction !== 'up' && direction !== 'down') throw new RangeError(`direction must be both, up or down, got ${String(direction)}`);
  const streams: ToxicStream[] = direction === 'both' ? ['upstream', 'downstream'] : direction === 'up' ? ['upstream'] : ['downstream'];
  const wanted: ToxicInput[] = [];
  for (const stream of streams) {
    if (faults.blackHole) {
      wanted.push({ type: 'timeout', stream, attributes: { timeout: 0 } });
      continue;
    }
    if (latencyMs > 0 || jitterMs > 0) wanted.push({ type: 'latency', stream, attributes: { latency: latencyMs, jitter: jitterMs } });
    if (bandwidth !== Infinity) wanted.push({ type: 'bandwidth', stream, attributes: { rate: bandwidth / 1000 } });
    if (sliceBytes !== Infinity) wanted.push({ type: 'slicer', stream, attributes: { average_size: sliceBytes, size_variation: 0, delay: sliceDelayMs * 1000 } });
    if (slowCloseMs > 0) wanted.push({ type: 'slow_close', stream, attributes: { delay: slowCloseMs } });
    if (resetAfterBytes !== Infinity) {
      // 0 bytes: reset on the first data, as toxiproxy's reset_peer does.
      wanted.push({ type: 'reset_peer', stream, name: `reset_after_bytes_${stream}`, attributes: { timeout: 0, after_bytes: resetAfterBytes } });
    }
    if (resetAfterMs !== Infinity) wanted.push({ type: 'reset_after', stream, attributes: { timeout: resetAfterMs } });
  }
  return wanted.map((toxic) => resolveToxic(toxic));
}
