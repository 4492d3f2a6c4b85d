import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { SocklabError, connectionError } from '../errors.js';
import { CrlfEncoder } from './crlf.js';
import { readIntoUserBuffer } from './_user-buffer.js';
import { LendingReader } from './_lending-reader.js';

/** Where each chunk went, for `-o`/`-x` logs and `-v` totals. */
export interface ChunkRecorder {
  record(chunk: Uint8Array): void;
}

/** A byte pipe between an input/output pair (stdin/stdout) and a connected socket, with ncat's EOF rules. */
export interface BytePipeOptions {
  socket: Socket;
  /** What is sent: stdin. Omitted: nothing is sent (`--recv-only`), and the pipe never sends FIN by itself. */
  input?: Readable | undefined;
  /** Where the peer's bytes go: stdout. Omitted: they are read and dropped (`--send-only`). */
  output?: Writable | undefined;
  /** End of input sends FIN (shutdown of our write side). `--no-shutdown`: false. @default true */
  shutdown?: boolean;
  /** End of input ends the pipe once what was sent is flushed (`--send-only`). @default false */
  endOnInputEnd?: boolean;
  /** After the end of input, end the pipe this much later even without the peer's FIN (OpenBSD nc `-q`). @default Infinity */
  quitAfterInputEndMs?: number;
  /** No byte either way for this long fails the pipe with SL_ERR_IDLE_TIMEOUT (`-i`). @default Infinity */
  idleTimeoutMs?: number;
  /** Wait this long after each chunk sent before reading more input (`-d/--delay`). @default 0 */
  delayMs?: number;
  /** LF → CRLF on what is sent, never on what is received (`-C/--crlf`). @default false */
  crlf?: boolean;
  /**
   * How `output` is closed at the peer's FIN, once it has taken every byte (so `nc -l | tar x` sees its end).
   * A process's own stdout cannot be ended as a stream (Node keeps fd 1 open), hence a function. @default output.end()
   */
  closeOutput?: () => void;
  /**
   * After the peer's FIN, keep sending until the end of input (ncat before 7.95, and `ncat -k` in connect mode
   * since). @default false: the peer's FIN ends the pipe
   */
  halfOpen?: boolean;
  /**
   * After the peer's FIN (without `halfOpen`), how long a silence of the input means it is idle. Input that gives a
   * chunk before it has been silent that long (counted from its last chunk, or from the pipe's start unless the
   * input is a terminal) is sent to its end, so a listener that half-closed at once (`nc -l > file < /dev/null`)
   * still gets the whole file; input already silent that long (an idle pipe, a terminal nobody types in) ends the
   * pipe at the FIN, as ncat's "the peer's FIN ends it". 0 stops sending at the peer's FIN. @default 250
   */
  inputGraceAfterPeerEndMs?: number;
  /**
   * `output`'s file descriptor (stdout: 1), written with writeSync as Node writes a process's stdout anyway (a file,
   * a pipe or a terminal on Linux). With it a plain socket reads into one reused buffer instead of a fresh one
   * per read. A descriptor that would block (a non-blocking pipe) hands the rest to `output`. @default undefined
   */
  outputFd?: number | undefined;
  /** Sees every chunk both ways, in order. */
  log?: ChunkRecorder | undefined;
  /** Ends the pipe early (SIGINT). */
  signal?: AbortSignal | undefined;
}

/** One read from the socket at most, with `outputFd` (Node's own reads are 64 KiB). */
const RECEIVE_BUFFER_BYTES = 256 * 1024;

/** {@link BytePipeOptions} whose input may also be a LendingReader (nc's stdin on a pipe or a file). */
export interface LendingPipeOptions extends Omit<BytePipeOptions, 'input'> {
  input?: Readable | LendingReader | undefined;
}

/** Why a pipe ended without an error. */
export type PipeEnd = 'peer-closed' | 'input-closed' | 'quit-timer' | 'output-closed' | 'aborted';

/** How a pipe ended, and the bytes it moved each way. */
export interface PipeResult {
  reason: PipeEnd;
  bytesSent: number;
  bytesReceived: number;
}

/**
 * Moves bytes both ways between `input`/`output` and `socket`, untouched (never decoded) and with backpressure
 * both ways: an output that does not drain pauses the socket, a socket that does not drain pauses the input.
 *
 * The end, as ncat documents it: the end of input sends FIN and the pipe keeps reading until the peer's FIN;
 * the peer's FIN ends `output` and the pipe. `endOnInputEnd`, `quitAfterInputEndMs` and `shutdown: false` change
 * the first half. Resolves with why it ended; rejects with a SocklabError for a reset or an idle timeout. The
 * socket is ended, not destroyed: the caller decides when it goes.
 *
 * @example
 * import { connect } from 'node:net';
 * import { once } from 'node:events';
 * import { PassThrough } from 'node:stream';
 * const socket = connect(port, '127.0.0.1'); // `port`: a line server that answers "echo <line>"
 * await once(socket, 'connect');
 * const input = new PassThrough();
 * const output = new PassThrough();
 * output.on('data', (bytes: Buffer) => process.stdout.write(bytes)); // "echo hi"
 * input.end('hi\n'); // then FIN: the server answers, closes, and the pipe ends
 * const { reason, bytesSent, bytesReceived } = await pipeSocket({ socket, input, output });
 * console.log(reason, bytesSent, bytesReceived); // peer-closed 3 8
 * socket.destroy();
 */
export function pipeSocket(options: BytePipeOptions): Promise<PipeResult> {
  return pipeBytes(options);
}

/** {@link pipeSocket}, with a LendingReader allowed as the input. */
export function pipeBytes(options: LendingPipeOptions): Promise<PipeResult> {
  const { socket, input, output, log, signal } = options;
  const shutdown = options.shutdown ?? true;
  const delayMs = options.delayMs ?? 0;
  const quitAfterMs = options.quitAfterInputEndMs ?? Infinity;
  const idleTimeoutMs = options.idleTimeoutMs ?? Infinity;
  const graceMs = options.inputGraceAfterPeerEndMs ?? 250;
  const crlf = options.crlf ? new CrlfEncoder() : undefined;
  const peer = `${socket.remoteAddress ?? 'peer'}:${socket.remotePort ?? ''}`;
  const result: PipeResult = { reason: 'peer-closed', bytesSent: 0, bytesReceived: 0 };

  return new Promise<PipeResult>((resolve, reject) => {
    let settled = false;
    let quitTimer: NodeJS.Timeout | undefined;
    let delayTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      settled = true;
      // An error still on its way (a reset after we were done) must not become an uncaught exception.
      socket.on('error', () => {});
      clearTimeout(quitTimer);
      clearTimeout(delayTimer);
      clearTimeout(graceTimer);
      signal?.removeEventListener('abort', onAbort);
      socket.setTimeout(0);
      socket.off('data', onSocketData);
      socket.off('end', onSocketEnd);
      socket.off('error', onSocketError);
      socket.off('close', onSocketClose);
      if (input) {
        input.off('data', onInputData);
        input.off('end', onInputEnd);
        input.off('error', onInputEnd);
        input.pause();
      }
      output?.off('error', onOutputError);
    };
    const finish = (reason: PipeEnd): void => {
      if (settled) return;
      cleanup();
      result.reason = reason;
      resolve(result);
    };
    const fail = (error: SocklabError): void => {
      if (settled) return;
      cleanup();
      reject(error);
    };

    // Peer → output.
    const resumeSocket = (): void => void (socket.destroyed || socket.resume());
    const onSocketData = (chunk: Buffer): void => {
      result.bytesReceived += chunk.length;
      if (!output) return;
      log?.record(chunk);
      if (!output.write(chunk)) {
        socket.pause();
        output.once('drain', resumeSocket);
      }
    };
    let peerEnded = false;
    let inputEnded = !input;
    // After the peer's FIN: `draining` while we wait for the input to show it still flows; `flowing` once it has
    // (then it is sent to its end, however slowly it comes).
    let draining = false;
    let flowing = false;
    // When the input last showed it flows (its start counts: a program feeding a pipe may still be starting; a
    // terminal flows only when someone types), and whether we paused it ourselves (backpressure, --delay), when its
    // silence says nothing.
    let inputActiveAt = (input as { isTTY?: boolean } | undefined)?.isTTY === true ? -Infinity : performance.now();
    let inputHeld = false;
    const endAfterPeer = (): void => {
      draining = false;
      stopInput();
      if (socket.destroyed || socket.writableFinished) finish('peer-closed');
      else if (socket.writableEnded) socket.once('finish', () => finish('peer-closed'));
      else socket.end(() => finish('peer-closed'));
    };
    const onSocketEnd = (): void => {
      peerEnded = true;
      const keepSending = options.halfOpen === true && !inputEnded;
      draining = !keepSending && !inputEnded && graceMs > 0;
      // Without a grace the peer is done and so are we: nothing more is read from the input.
      if (!keepSending && !draining) stopInput();
      // What we still had queued for the peer goes out before the pipe is over (the caller destroys the socket).
      const done = (): void => {
        if (keepSending || flowing) return;
        // Input already silent for the whole grace ends the pipe now, not a grace later (an idle stdin at the end of
        // every transfer would otherwise cost each one 250 ms).
        const graceLeft = inputHeld ? graceMs : graceMs - (performance.now() - inputActiveAt);
        if (draining && graceLeft > 0) graceTimer = setTimeout(endAfterPeer, graceLeft);
        else endAfterPeer();
      };
      if (!output) return done();
      const close = (): void => {
        if (options.closeOutput) options.closeOutput();
        else if (!output.writableEnded) output.end();
        done();
      };
      if (output.writableLength > 0) output.once('drain', close);
      else close();
    };
    // The same with `outputFd`: the bytes sit in the reused buffer, so they are written (or copied) before returning.
    const onSocketBytes = (length: number, buffer: Buffer): void => {
      result.bytesReceived += length;
      if (!output || settled) return;
      const bytes = buffer.subarray(0, length);
      log?.record(bytes);
      let written = 0;
      // Bytes still queued in the stream go first: then this chunk joins them there.
      if (output.writableLength === 0) {
        try {
          while (written < length) written += writeSync(options.outputFd!, bytes, written, length - written);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return onOutputError();
        }
      }
      if (written < length && !output.write(Buffer.from(bytes.subarray(written)))) {
        socket.pause();
        output.once('drain', resumeSocket);
      }
    };
    const onSocketError = (err: Error): void => fail(connectionError(peer, err));
    // A close without FIN or error: the socket was destroyed under us (by the caller, or a TLS layer).
    const onSocketClose = (): void => finish('peer-closed');
    const onOutputError = (): void => finish('output-closed');

    // Input → peer.
    const resumeInput = (): void => {
      if (settled) return;
      inputHeld = false;
      inputActiveAt = performance.now();
      input?.resume();
    };
    const stopInput = (): void => {
      input?.off('data', onInputData);
      input?.pause();
    };
    // A LendingReader lends its buffers: each goes back once the socket has handed its bytes to the kernel.
    const release = input instanceof LendingReader ? (chunk: Buffer) => input.release(chunk) : undefined;
    const onInputData = (chunk: Buffer): void => {
      if (socket.writableEnded || socket.destroyed) return void (release?.(chunk), stopInput());
      inputActiveAt = performance.now();
      const bytes = crlf ? crlf.encode(chunk) : chunk;
      result.bytesSent += bytes.length;
      log?.record(bytes);
      let flushed: boolean;
      if (!release) flushed = socket.write(bytes);
      else if (bytes !== chunk) flushed = (release(chunk), socket.write(bytes));
      else flushed = socket.write(bytes, () => release(chunk));
      if (draining) {
        draining = false;
        flowing = true;
        clearTimeout(graceTimer);
      }
      if (delayMs > 0) {
        inputHeld = true;
        input!.pause();
        delayTimer = setTimeout(() => (flushed ? resumeInput() : socket.once('drain', resumeInput)), delayMs);
      } else if (!flushed) {
        inputHeld = true;
        input!.pause();
        socket.once('drain', resumeInput);
      }
    };
    const onInputEnd = (): void => {
      if (settled) return;
      inputEnded = true;
      draining = false;
      clearTimeout(graceTimer);
      const endsNow = options.endOnInputEnd === true || peerEnded;
      // Our last bytes must reach the kernel before we go.
      const flushed = (): void => void (endsNow && finish('input-closed'));
      if (shutdown && !socket.writableEnded) socket.end(flushed);
      else if (socket.writableLength === 0) flushed();
      else socket.once('drain', flushed);
      if (!endsNow && quitAfterMs !== Infinity) quitTimer = setTimeout(() => finish('quit-timer'), quitAfterMs);
    };
    const onAbort = (): void => finish('aborted');

    if (signal?.aborted) return finish('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const reused = output && options.outputFd !== undefined && readIntoUserBuffer(socket, Buffer.allocUnsafeSlow(RECEIVE_BUFFER_BYTES), onSocketBytes);
    if (!reused) socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    output?.on('error', onOutputError);
    if (idleTimeoutMs !== Infinity) {
      // Node refreshes a socket's timeout on every read and write: exactly ncat's "idle either way".
      socket.setTimeout(idleTimeoutMs, () => fail(new SocklabError('SL_ERR_IDLE_TIMEOUT', `Idle timeout expired (${idleTimeoutMs} ms): -i is ${idleTimeoutMs} ms`)));
    }
    if (input) {
      input.on('data', onInputData);
      input.on('end', onInputEnd);
      input.on('error', onInputEnd);
      input.resume();
    }
    socket.resume();
  });
}
