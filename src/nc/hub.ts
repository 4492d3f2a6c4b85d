import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { CrlfEncoder } from '../pipe/crlf.js';
import type { ChunkRecorder } from '../pipe/byte-pipe.js';

/** `ncat -l -k`: many clients at once, their bytes to one output, one input to all of them. */
export interface HubOptions {
  input?: Readable | undefined;
  output?: Writable | undefined;
  /** `--broker`: what a client sends goes to every other client instead of `output`. @default false */
  broker?: boolean;
  /** `--send-only`: clients' bytes are dropped. */
  sendOnly?: boolean;
  /** `--recv-only`: input is not read. */
  recvOnly?: boolean;
  /** `--no-shutdown`: the end of input does not send FIN to the clients. */
  noShutdown?: boolean;
  crlf?: boolean;
  log?: ChunkRecorder | undefined;
  /** The end of input (after it reached every client). */
  onInputEnd?: () => void;
  onClientClosed?: (socket: Socket, error?: Error) => void;
}

/**
 * Fan-in and fan-out with backpressure: a client whose bytes `output` cannot take yet is paused until it
 * drains; the input is paused until every client has taken the last chunk (a client that never reads holds the
 * input, as it does in ncat; `-i` cuts it off). A client that joins later gets what is sent from then on.
 *
 * @example const hub = new FanOutHub({ input: process.stdin, output: process.stdout }); server.on('connection', (s) => hub.add(s));
 */
export class FanOutHub {
  readonly #clients = new Set<Socket>();
  readonly #options: HubOptions;
  readonly #crlf: CrlfEncoder | undefined;
  #inputEnded = false;
  /** Clients that have not drained the last chunk of input yet. */
  #waitingFor = 0;

  constructor(options: HubOptions) {
    this.#options = options;
    this.#crlf = options.crlf ? new CrlfEncoder() : undefined;
    const { input } = options;
    if (input && !options.recvOnly) {
      input.on('data', (chunk: Buffer) => this.#fromInput(chunk));
      input.on('end', () => this.#endInput());
      input.on('error', () => this.#endInput());
      // Nothing is read until someone is there to take it.
      input.pause();
    }
  }

  get size(): number {
    return this.#clients.size;
  }

  add(socket: Socket): void {
    this.#clients.add(socket);
    const { output, broker, sendOnly } = this.#options;
    socket.on('data', (chunk: Buffer) => {
      if (sendOnly) return;
      this.#options.log?.record(chunk);
      if (broker) this.#relay(socket, chunk);
      else if (output && !output.write(chunk)) {
        socket.pause();
        output.once('drain', () => socket.destroyed || socket.resume());
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', (err) => this.#remove(socket, err));
    socket.on('close', () => this.#remove(socket));
    if (this.#inputEnded && !this.#options.noShutdown) socket.end();
    else this.#options.input?.resume();
  }

  /** Ends every client's connection. */
  closeAll(): void {
    for (const socket of this.#clients) socket.destroy();
  }

  #remove(socket: Socket, error?: Error): void {
    if (!this.#clients.delete(socket)) return;
    this.#options.onClientClosed?.(socket, error);
    if (this.#clients.size === 0) this.#options.input?.pause();
  }

  #fromInput(data: Buffer): void {
    const chunk = this.#crlf ? this.#crlf.encode(data) : data;
    this.#options.log?.record(chunk);
    for (const socket of this.#clients) {
      if (socket.writableEnded || socket.destroyed) continue;
      if (!socket.write(chunk)) this.#waitOn(socket, this.#options.input!);
    }
  }

  #relay(from: Socket, chunk: Buffer): void {
    for (const socket of this.#clients) {
      if (socket === from || socket.writableEnded || socket.destroyed) continue;
      if (!socket.write(chunk)) this.#waitOn(socket, from);
    }
  }

  /** Pauses `source` until `socket` drains (or goes). */
  #waitOn(socket: Socket, source: Readable): void {
    this.#waitingFor++;
    source.pause();
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      if (--this.#waitingFor === 0 || source !== this.#options.input) source.resume();
    };
    socket.on('drain', done);
    socket.on('close', done);
  }

  #endInput(): void {
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    const pending: Promise<void>[] = [];
    for (const socket of this.#clients) {
      if (this.#options.noShutdown || socket.writableEnded) continue;
      pending.push(new Promise((resolve) => socket.end(resolve)));
    }
    void Promise.all(pending).then(() => this.#options.onInputEnd?.());
  }
}
