import { Probe } from './_probe.js';
import type { ResolvedCheckOptions } from './types.js';

/** The message the checks send, and what they send to leave. */
export const MESSAGE = 'hello\n';
export const QUIT = 'quit\n';

/**
 * How the checks reach a line server (greeting, sequential, concurrent, echo). A sequential server serves the
 * next client only once the current one left, so every probe is released by leaving (quit, then FIN) and waiting
 * for the server to close; with `oneClient` every check shares the single connection the server will ever take.
 */
export class StreamContext {
  readonly #open = new Set<Probe>();
  #shared: Probe | undefined;
  /** Set once `greets` found no greeting: later checks stop waiting for one (each check fails for its own reason). */
  silent = false;
  /** The greeting of the last probe opened (shared probe: the only one). */
  greeting: Buffer = Buffer.alloc(0);

  constructor(
    readonly options: ResolvedCheckOptions,
    /** The protocol greets each client before anything else. */
    readonly greets: boolean,
    readonly sequential: boolean,
  ) {}

  /** Connects without waiting for anything. */
  async connect(): Promise<Probe> {
    const probe = await Probe.open(this.options.host, this.options.port, this.options.timeoutMs);
    this.#open.add(probe);
    return probe;
  }

  /** A served connection: connected, and its greeting (if the protocol has one) read. */
  async open(): Promise<Probe> {
    if (this.options.oneClient && this.#shared) return this.#shared;
    const probe = await this.connect();
    if (this.greets && !this.silent) this.greeting = await probe.reply(this.options.timeoutMs, this.options.quietMs);
    if (this.options.oneClient) this.#shared = probe;
    return probe;
  }

  /** Sends one message and takes its answer. */
  async ask(probe: Probe, message = MESSAGE): Promise<Buffer> {
    probe.write(message);
    return probe.reply(this.options.timeoutMs, this.options.quietMs);
  }

  /** Lets the next client be served: leave politely on a sequential server, else just go. */
  async release(probe: Probe): Promise<void> {
    if (probe === this.#shared) return;
    this.#open.delete(probe);
    if (this.sequential && probe.end === 'open') {
      probe.write(QUIT);
      probe.finish();
      await probe.ended(this.options.timeoutMs);
    }
    probe.destroy();
  }

  /** Ends every connection still open (after each check, pass or fail). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#open].filter((probe) => probe !== this.#shared).map((probe) => this.release(probe)));
  }

  close(): void {
    for (const probe of this.#open) probe.destroy();
    this.#shared?.destroy();
  }
}

/** Whether `size` bytes are about `times` answers of `unit` bytes (a reply may carry a counter, so ±half). */
export function about(size: number, unit: number, times: number): boolean {
  return unit > 0 && size >= (times - 0.5) * unit && size <= (times + 0.5) * unit;
}
