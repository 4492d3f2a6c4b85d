import { readdirSync, readFileSync } from 'node:fs';

/**
 * File descriptors this process may still open: the soft `ulimit -n` minus those open now. Read from /proc on
 * Linux; undefined elsewhere (or when /proc is not mounted), meaning "unknown".
 *
 * Why a server wants this: when accept(2) fails with EMFILE, libuv closes the waiting connection at once, so
 * the client is dropped without a word. A server that knows its fd budget can stop short of it and tell
 * extra clients "server full" instead.
 */
export function freeFileDescriptors(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
    if (soft === undefined || soft === 'unlimited') return undefined;
    return Number(soft) - readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/**
 * Descriptors kept free for turning clients away (each needs one until its "server full" line is out) and the
 * server's own needs. libuv accepts a burst in one go, so this is also the largest burst of extra clients that
 * all hear why; past it, accept fails with EMFILE and libuv drops the rest unheard.
 */
export const FD_RESERVE = 32;
