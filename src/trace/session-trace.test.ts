import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { formatTraceEntry, SessionTracer, type TraceEntry } from './session-trace.js';

const peer = { address: '127.0.0.1', port: 40000, family: 'IPv4' as const };
const at = Date.UTC(2026, 10, 29, 12, 0, 0, 5);

function entryOf(bytes: Uint8Array): TraceEntry {
  return { direction: 'in', peer, offset: 7, bytes, at };
}

describe('formatTraceEntry', () => {
  it('formats a plain Uint8Array view (offset into a larger buffer) exactly as the same bytes in a Buffer', () => {
    const backing = new Uint8Array([0xaa, 0x68, 0x69, 0x1b, 0x0a, 0xbb]);
    const view = backing.subarray(1, 5);
    for (const format of ['text', 'hex', 'jsonl'] as const) {
      assert.equal(formatTraceEntry(format, entryOf(view)), formatTraceEntry(format, entryOf(Buffer.from([0x68, 0x69, 0x1b, 0x0a]))), format);
    }
  });

  it('text quotes the bytes so a peer\'s escape sequence cannot reach the terminal that shows the log', () => {
    const line = formatTraceEntry('text', entryOf(Buffer.from('hi\x1b[2J\n')));
    assert.equal(line, '2026-11-29T12:00:00.005Z 127.0.0.1:40000 < "hi\\u001b[2J\\n"\n');
  });

  it('jsonl is one JSON object per line whose base64 decodes to the bytes', () => {
    const bytes = Buffer.from([0x00, 0xff, 0x0a, 0x41]);
    const line = formatTraceEntry('jsonl', entryOf(bytes));
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
    const event = JSON.parse(line);
    assert.deepEqual(
      { ...event, base64: undefined },
      { v: event.v, ts: '2026-11-29T12:00:00.005Z', event: 'data', direction: 'in', peer, offset: 7, bytes: 4, base64: undefined },
    );
    assert.deepEqual(Buffer.from(event.base64, 'base64'), bytes);
  });
});

describe('SessionTracer.watch', () => {
  it('records what a socket reads and writes, strings in their encoding, with offsets per direction', async (t) => {
    const lines: string[] = [];
    const tracer = new SessionTracer([{ sink: { write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) }, format: 'jsonl' }]);
    const server = createServer((socket) => socket.end('pong'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const socket: Socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    tracer.watch(socket, peer);
    socket.write('ff00', 'hex');
    socket.write(Buffer.from('ab'));
    socket.resume();
    await once(socket, 'end');
    socket.destroy();
    tracer.flush();
    const events = lines.map((line) => JSON.parse(line));
    const sent = events.filter((event) => event.direction === 'out');
    assert.deepEqual(sent.map((event) => [event.offset, Buffer.from(event.base64, 'base64').toString('hex')]), [[0, 'ff00'], [2, '6162']]);
    const received = Buffer.concat(events.filter((event) => event.direction === 'in').map((event) => Buffer.from(event.base64, 'base64')));
    assert.equal(received.toString(), 'pong');
  });
});
