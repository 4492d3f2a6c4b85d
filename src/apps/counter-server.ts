import type { Endpoint } from '../address.js';
import { DEFAULTS, checkCount } from '../options.js';
import { bindUdp, type BindUdpOptions, type UdpEndpoint, type UdpStats } from '../udp/endpoint.js';

/** What the counter server reports, for logs and tests. */
export type CounterEvent =
  | { type: 'request'; from: Endpoint; text: string; accepted: boolean }
  | { type: 'reply'; to: Endpoint; value: number }
  | { type: 'overloaded'; from: Endpoint };

export interface CounterServerOptions extends BindUdpOptions {
  /** Wait before answering a `get`. @default DEFAULTS.replyDelayMs */
  delayMs?: number;
  /** Replies waiting for their delay at once; `get`s beyond are dropped and counted. @default DEFAULTS.maxPendingReplies */
  maxPendingReplies?: number;
  onEvent?: (event: CounterEvent) => void;
  /** Report `request` and `reply` events. @default true */
  logMessages?: boolean;
}

/** Counters of the counter server, on top of the endpoint's. */
export interface CounterStats extends UdpStats {
  /** `get`s answered or waiting to be. */
  gets: number;
  /** Datagrams that were not a `get`. */
  ignored: number;
  /** `get`s dropped because `maxPendingReplies` were waiting. */
  overloaded: number;
  replied: number;
}

/** A running UDP counter server. */
export interface CounterServer {
  readonly endpoint: UdpEndpoint;
  readonly stats: CounterStats;
  address(): Endpoint;
  /** The last value handed out. */
  readonly counter: number;
  /** Stops at once; replies still waiting for their delay are not sent. */
  close(): Promise<void>;
}

/**
 * Replies waiting for their delay, in arrival order (so in due order, the delay being constant), kept in typed
 * arrays used as a ring. At 20,000 gets/s and a 500 ms delay, 10,000 replies wait at once: as objects they would
 * survive into every young-generation GC and be copied each time (measured: 7-16 ms pauses, p99 540 ms); as
 * numbers in typed arrays there is nothing for the GC to copy. Sender addresses are interned, so each distinct
 * address string is kept once.
 */
class ReplyRing {
  #capacity = 1024;
  #head = 0;
  #size = 0;
  #dueAt = new Float64Array(this.#capacity);
  #value = new Float64Array(this.#capacity);
  #port = new Uint16Array(this.#capacity);
  #endpoint = new Uint32Array(this.#capacity);
  #ending = new Uint8Array(this.#capacity);
  readonly #endpointIds = new Map<string, number>();
  readonly #endpoints: Endpoint[] = [];

  get size(): number {
    return this.#size;
  }

  push(dueAt: number, value: number, to: Endpoint, ending: 0 | 1 | 2): void {
    if (this.#size === this.#capacity) this.#grow();
    const at = (this.#head + this.#size) % this.#capacity;
    let id = this.#endpointIds.get(to.address);
    if (id === undefined) {
      id = this.#endpoints.length;
      this.#endpointIds.set(to.address, id);
      this.#endpoints.push({ address: to.address, port: 0, family: to.family });
    }
    this.#dueAt[at] = dueAt;
    this.#value[at] = value;
    this.#port[at] = to.port;
    this.#endpoint[at] = id;
    this.#ending[at] = ending;
    this.#size++;
  }

  /** When the oldest reply is due, or undefined when none waits. */
  nextDueAt(): number | undefined {
    return this.#size === 0 ? undefined : this.#dueAt[this.#head];
  }

  /** Removes the oldest reply and hands it to `send`. */
  shift(send: (value: number, to: Endpoint, ending: 0 | 1 | 2) => void): void {
    const at = this.#head;
    const endpoint = this.#endpoints[this.#endpoint[at]!]!;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
    send(this.#value[at]!, { address: endpoint.address, port: this.#port[at]!, family: endpoint.family }, this.#ending[at] as 0 | 1 | 2);
  }

  #grow(): void {
    const capacity = this.#capacity * 2;
    const reorder = <T extends { [index: number]: number }>(from: T, to: T): T => {
      for (let i = 0; i < this.#size; i++) to[i] = from[(this.#head + i) % this.#capacity]!;
      return to;
    };
    this.#dueAt = reorder(this.#dueAt, new Float64Array(capacity));
    this.#value = reorder(this.#value, new Float64Array(capacity));
    this.#port = reorder(this.#port, new Uint16Array(capacity));
    this.#endpoint = reorder(this.#endpoint, new Uint32Array(capacity));
    this.#ending = reorder(this.#ending, new Uint8Array(capacity));
    this.#capacity = capacity;
    this.#head = 0;
  }
}

const ENDINGS = ['', '\n', '\r\n'] as const;

/**
 * Recognises `get`, tolerating one trailing LF or CRLF (ncat -u and socat send the newline typed).
 * Returns the line ending to echo back, or undefined when the datagram is not a `get`.
 */
export function parseGet(data: Buffer): '' | '\n' | '\r\n' | undefined {
  if (data.length < 3 || data.length > 5 || data[0] !== 0x67 || data[1] !== 0x65 || data[2] !== 0x74) return undefined;
  const rest = data.subarray(3).toString('latin1');
  return rest === '' || rest === '\n' || rest === '\r\n' ? rest : undefined;
}

/**
 * The seed's udp_server.py: each `get` takes the next counter value at once (so values are unique and in
 * order of arrival) and is answered with it after `delayMs`, to the address it came from. The reply ends the
 * way the request did: `get` → `1`, `get\n` → `1\n`, so the seed's client and ncat users both read it cleanly.
 *
 * Because the delay is the same for every request, pending replies are due in arrival order: one FIFO queue and
 * one timer serve them all, instead of a timer per request.
 *
 * @example
 * const server = await startCounterServer({ port: 0, delayMs: 500 });
 */
export async function startCounterServer(options: CounterServerOptions = {}): Promise<CounterServer> {
  const delayMs = checkCount('delayMs', options.delayMs ?? DEFAULTS.replyDelayMs, 0);
  const maxPending = checkCount('maxPendingReplies', options.maxPendingReplies ?? DEFAULTS.maxPendingReplies, 1, true);
  const emit = options.onEvent ?? (() => {});
  const logMessages = options.logMessages ?? true;
  const endpoint = await bindUdp({ receiveBufferBytes: DEFAULTS.udpReceiveBufferBytes, ...options });
  const stats: CounterStats = Object.assign(endpoint.stats, { gets: 0, ignored: 0, overloaded: 0, replied: 0 });
  let counter = 0;
  const pending = new ReplyRing();
  let timer: NodeJS.Timeout | undefined;

  const sendReply = (value: number, to: Endpoint, ending: 0 | 1 | 2): void => {
    endpoint.send(`${value}${ENDINGS[ending]}`, to).then(
      () => stats.replied++,
      () => {}, // counted in stats.sendErrors by the endpoint
    );
    if (logMessages) emit({ type: 'reply', to, value });
  };

  const sendDue = (): void => {
    timer = undefined;
    const now = performance.now();
    for (let due = pending.nextDueAt(); due !== undefined && due <= now; due = pending.nextDueAt()) pending.shift(sendReply);
    const next = pending.nextDueAt();
    if (next !== undefined) timer = setTimeout(sendDue, Math.max(0, next - now));
  };

  endpoint.on('message', ({ data, from }) => {
    const ending = parseGet(data);
    if (logMessages) emit({ type: 'request', from, text: data.toString('utf8'), accepted: ending !== undefined });
    if (ending === undefined) {
      stats.ignored++;
      return;
    }
    if (pending.size >= maxPending) {
      stats.overloaded++;
      emit({ type: 'overloaded', from });
      return;
    }
    stats.gets++;
    counter++;
    pending.push(performance.now() + delayMs, counter, from, ending === '' ? 0 : ending === '\n' ? 1 : 2);
    timer ??= setTimeout(sendDue, delayMs);
  });

  return {
    endpoint,
    stats,
    address: () => endpoint.address(),
    get counter() {
      return counter;
    },
    close: async () => {
      clearTimeout(timer);
      await endpoint.close();
    },
  };
}
