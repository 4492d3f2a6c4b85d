/** Something that turns byte chunks into messages (every codec). */
export interface Feedable {
  push(chunk: Uint8Array): Buffer[];
}

/**
 * The chunkings every codec vector is run through: the input whole, one byte at a time, and split in two at
 * every offset. TCP may deliver any of them for the same bytes sent.
 */
export function chunkings(input: Buffer): { name: string; chunks: Buffer[] }[] {
  const ways = [
    { name: 'whole', chunks: [input] },
    { name: 'byte by byte', chunks: [...input].map((byte) => Buffer.from([byte])) },
  ];
  for (let offset = 1; offset < input.length; offset++) {
    ways.push({ name: `split at ${offset}`, chunks: [input.subarray(0, offset), input.subarray(offset)] });
  }
  return ways;
}

/** Feeds chunks to a fresh decoder, returns every message as a string. */
export function decodeAll(make: () => Feedable, chunks: Buffer[]): string[] {
  const decoder = make();
  return chunks.flatMap((chunk) => decoder.push(chunk).map((message) => message.toString('latin1')));
}
