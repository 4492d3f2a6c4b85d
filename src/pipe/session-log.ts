import { closeSync, openSync, writeSync } from 'node:fs';
import { SocklabError, systemCode } from '../errors.js';
import { formatNcatHexDump } from './ncat-hexdump.js';

/** Where `-o` and `-x` write. */
export interface SessionLogOptions {
  /** Every byte sent and received, as it is (`-o/--output`). */
  outputPath?: string | undefined;
  /** Every chunk sent and received as a hex dump in ncat's layout (`-x/--hex-dump`). */
  hexPath?: string | undefined;
  /** Add to the files instead of truncating them (`--append-output`). @default false */
  append?: boolean;
}

/**
 * The session logs of `ncat -o/-x`: both directions in one file, in the order the bytes passed, unmarked (as
 * ncat's are). Written synchronously: the log must hold a chunk before the next one is read, and a few
 * microseconds per 64 KiB chunk are nothing next to the socket.
 *
 * @example const log = SessionLog.open({ outputPath: 'session.bin' }); log?.record(chunk); log?.close();
 */
export class SessionLog {
  readonly #outputFd: number | undefined;
  readonly #hexFd: number | undefined;

  private constructor(outputFd: number | undefined, hexFd: number | undefined) {
    this.#outputFd = outputFd;
    this.#hexFd = hexFd;
  }

  /**
   * Opens the files, or returns undefined when neither is asked for.
   * @throws {SocklabError} SL_ERR_LOG_FILE naming the file that cannot be opened
   */
  static open(options: SessionLogOptions): SessionLog | undefined {
    if (options.outputPath === undefined && options.hexPath === undefined) return undefined;
    const flags = options.append ? 'a' : 'w';
    const openFile = (path: string | undefined): number | undefined => {
      if (path === undefined) return undefined;
      try {
        return openSync(path, flags, 0o644);
      } catch (err) {
        throw new SocklabError('SL_ERR_LOG_FILE', `Cannot open the log file ${path}: ${systemCode(err) ?? String(err)}`, { cause: err });
      }
    };
    const outputFd = openFile(options.outputPath);
    return new SessionLog(outputFd, openFile(options.hexPath));
  }

  /** One chunk, either direction. */
  record(chunk: Uint8Array): void {
    if (this.#outputFd !== undefined) writeAll(this.#outputFd, chunk);
    if (this.#hexFd !== undefined) writeAll(this.#hexFd, Buffer.from(formatNcatHexDump(chunk), 'latin1'));
  }

  close(): void {
    for (const fd of [this.#outputFd, this.#hexFd]) if (fd !== undefined) closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}
