const LF = 0x0a;
const CR = 0x0d;

/**
 * Turns every LF not already preceded by CR into CRLF, as `ncat -C` does to what it sends (never to what it
 * receives). Stateful across chunks: a CR at the end of one chunk and the LF at the start of the next are one
 * CRLF, not CR CR LF.
 *
 * @example const crlf = new CrlfEncoder(); crlf.encode(Buffer.from('a\n')) // <61 0d 0a>
 */
export class CrlfEncoder {
  #lastWasCr = false;

  encode(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const startCr = this.#lastWasCr;
    let lone = 0;
    let previousCr = startCr;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === LF && !previousCr) lone++;
      previousCr = byte === CR;
    }
    this.#lastWasCr = previousCr;
    if (lone === 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + lone);
    let at = 0;
    previousCr = startCr;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === LF && !previousCr) out[at++] = CR;
      out[at++] = byte;
      previousCr = byte === CR;
    }
    return out;
  }
}
