import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeerPieces, TraceBytes, timePiece } from './_trace-bytes.js';
import { formatTraceEntry, LOG_FORMATS, SessionTracer, type TraceEntry } from './session-trace.js';

const peers = [
  { address: '127.0.0.1', port: 40000, family: 'IPv4' as const },
  { address: '::1', port: 1, family: 'IPv6' as const },
  { address: '/tmp/s "q".sock', port: 0, family: 'unix' as const },
];
const at = Date.UTC(2026, 11, 4, 1, 2, 3, 4);

/** Chunks that reach every escape: each byte value alone, all of them in one chunk, empty, long, random. */
function chunks(): Uint8Array[] {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  let seed = 7;
  const random = Buffer.from(Array.from({ length: 1000 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff));
  return [...Array.from({ length: 256 }, (_, i) => Buffer.from([i])), all, Buffer.alloc(0), random, all.subarray(3, 40), new Uint8Array([0x22, 0x5c, 0x7f, 0x80, 0xff])];
}

describe('TraceBytes', () => {
  it('writes exactly the UTF-8 of formatTraceEntry for every format, byte value, peer kind and offset', () => {
    for (const format of LOG_FORMATS) {
      for (const peer of peers) {
        for (const [i, bytes] of chunks().entries()) {
          for (const offset of [0, 15, 0xfffffff0, 2 ** 33 + i]) {
            const entry: TraceEntry = { direction: i % 2 ? 'out' : 'in', peer, offset, bytes, at };
            const ts = new Date(at).toISOString();
            const out = new TraceBytes();
            const peerJson = JSON.stringify({ address: peer.address, port: peer.port, family: peer.family });
            const peerText = peer.family === 'unix' ? `unix:${peer.address}` : peer.family === 'IPv6' ? `[::1]:1` : '127.0.0.1:40000';
            out.entry(format, entry, timePiece(format, ts), new PeerPieces(peerText, peerJson).mid(format, entry.direction === 'in'));
            assert.equal(out.take().toString('utf8'), formatTraceEntry(format, entry, ts), `${format} ${peer.family} chunk ${i} offset ${offset}`);
          }
        }
      }
    }
  });

  it('grows past its first buffer and keeps every earlier entry', () => {
    const out = new TraceBytes();
    const big = Buffer.alloc(10_000, 0x01); // 6 bytes each once escaped: several doublings
    const entry: TraceEntry = { direction: 'in', peer: peers[0]!, offset: 0, bytes: big, at };
    const ts = new Date(at).toISOString();
    for (let i = 0; i < 3; i++) out.entry('text', entry, timePiece('text', ts), new PeerPieces('127.0.0.1:40000', '').mid('text', true));
    assert.equal(out.take().toString('utf8'), formatTraceEntry('text', entry, ts).repeat(3));
  });

  it('is what SessionTracer hands a sink that takes bytes, and the same text a string sink gets', () => {
    for (const format of LOG_FORMATS) {
      let viaBytes = '';
      let viaText = '';
      const tracer = new SessionTracer([
        { sink: { write: () => assert.fail('a byte sink gets bytes'), writeBytes: (bytes: Uint8Array) => (viaBytes += Buffer.from(bytes).toString('utf8')) }, format },
        { sink: { write: (text: string) => (viaText += text) }, format },
      ]);
      for (const [i, bytes] of chunks().slice(250).entries()) tracer.record(i % 2 ? 'out' : 'in', peers[0]!, i * 100, bytes);
      tracer.flush();
      assert.ok(viaText.length > 0);
      assert.equal(viaBytes, viaText, format);
    }
  });
});
