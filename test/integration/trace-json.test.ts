import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import * as hdr from 'hdr-histogram-js';
import { EVENT_SCHEMA } from '../../src/cli/json-events.js';
import { parseEvents, stopJson, waitForEvent, type JsonEvent } from '../helpers/json-lines.js';
import { CLI, ROOT, runCli, start, startCliServer, stopChecked } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('--hex and --log', () => {
  it('serve --hex dumps each chunk byte for byte: offset, hex, ASCII, direction and peer', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--framing', 'line', '--no-greeting', '--reply', 'ok', '--hex']);
    const client = await RawClient.connect(t, port);
    const peer = `127.0.0.1:${client.socket.localPort}`;
    client.socket.write(Buffer.from('Hello, socklab!\n\x00\x01\x7f\xffend\n', 'latin1'));
    await client.waitForText(/ok\nok\n/);
    await child.waitFor(/> \S+ offset 3, 3 bytes\n00000003 .*\|ok\.\|\n/, 5000, 'stderr');
    // Worked out by hand from the bytes above, in `hexdump -C` layout.
    const expected = [
      `< ${peer} offset 0, 24 bytes`,
      '00000000  48 65 6c 6c 6f 2c 20 73  6f 63 6b 6c 61 62 21 0a  |Hello, socklab!.|',
      '00000010  00 01 7f ff 65 6e 64 0a                           |....end.|',
    ].join('\n');
    assert.ok(child.stderr.includes(expected), `dump of the input:\n${child.stderr}`);
    // The tracer records each write to the socket: one per reply, even when the two leave in one writev (corked).
    // So exactly two dumps went out, the second carrying on from offset 3, and nothing else has passed yet.
    const headers = child.stderr
      .split('\n')
      .filter((line) => /^\S+Z [<>] /.test(line))
      .map((line) => line.slice(line.indexOf(' ') + 1));
    assert.deepEqual(headers, [`< ${peer} offset 0, 24 bytes`, `> ${peer} offset 0, 3 bytes`, `> ${peer} offset 3, 3 bytes`]);
    for (const dump of [
      [`> ${peer} offset 0, 3 bytes`, '00000000  6f 6b 0a                                          |ok.|'],
      [`> ${peer} offset 3, 3 bytes`, '00000003  6f 6b 0a                                          |ok.|'],
    ]) {
      assert.ok(child.stderr.includes(`${dump.join('\n')}\n`), `dump of a reply:\n${child.stderr}`);
    }
    await stopChecked(child);
  });

  it('--log FILE in every format: the jsonl entries rebuild both directions exactly', async (t) => {
    const dir = tempDir(t);
    for (const format of ['jsonl', 'text', 'hex'] as const) {
      const log = join(dir, `session.${format}`);
      const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--framing', 'line', '--log', log, '--log-format', format]);
      const client = await RawClient.connect(t, port);
      const sent = Buffer.from('one\ntwo \u00e9\x00\nquit\n', 'latin1');
      client.socket.write(sent);
      await client.waitForClose();
      await stopChecked(child);
      const text = readFileSync(log, 'utf8');
      if (format === 'jsonl') {
        const entries = parseEvents(text);
        const join = (direction: string): string =>
          Buffer.concat(entries.filter((e) => e.direction === direction).map((e) => Buffer.from(e.base64 as string, 'base64'))).toString('latin1');
        assert.equal(join('in'), sent.toString('latin1'));
        assert.equal(join('out'), client.text);
        for (const direction of ['in', 'out']) {
          let offset = 0;
          for (const entry of entries.filter((e) => e.direction === direction)) {
            assert.equal(entry.offset, offset);
            offset += entry.bytes as number;
          }
        }
      } else if (format === 'text') {
        assert.match(text, /Z 127\.0\.0\.1:\d+ < "one\\ntwo é\\u0000\\nquit\\n"\n/);
        assert.match(text, /> "connected to server\\n"/);
      } else {
        assert.match(text, /< 127\.0\.0\.1:\d+ offset 0, 16 bytes\n00000000  6f 6e 65 0a 74 77 6f 20  e9 00 0a 71 75 69 74 0a  \|one\.two \.\.\.quit\.\|/);
      }
    }
  });

  it('client --hex and proxy --log show what passed through them', async (t) => {
    const dir = tempDir(t);
    const { child: server, port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    const log = join(dir, 'proxy.log');
    const { child: proxy, port: proxyPort } = await startCliServer(t, ['proxy', '127.0.0.1', String(port), '--log', log, '--log-format', 'jsonl']);
    const { code, stdout, stderr } = await runCli(t, ['client', '127.0.0.1', String(proxyPort), '--hex'], 'hi\n');
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'connected to server\ngot message\ngot message\n');
    assert.match(stderr, /> 127\.0\.0\.1:\d+ offset 0, 4 bytes\n00000000  61 63 6b 0a +\|ack\.\|/);
    assert.match(stderr, /< 127\.0\.0\.1:\d+ offset 0, /);
    await proxy.stop();
    const entries = parseEvents(readFileSync(log, 'utf8'));
    const up = Buffer.concat(entries.filter((e) => e.direction === 'in').map((e) => Buffer.from(e.base64 as string, 'base64'))).toString();
    assert.equal(up, 'ack\nhi\n');
    await stopChecked(server);
  });
});

describe('--json on every command', () => {
  it('a scripted session: every line of every command validates against the schema, and each event is documented', async (t) => {
    const seen = new Set<string>();
    const note = (events: JsonEvent[]): JsonEvent[] => {
      events.forEach((e) => seen.add(e.event));
      return events;
    };
    // serve + client (and the sequential server's waiting line)
    const serve = start(t, process.execPath, [CLI, 'serve', '--port', '0', '--json', '--mode', 'sequential', '--max-connections', '2']);
    const listening = await waitForEvent(serve, (e) => e.event === 'listening');
    const port = String((listening.address as { port: number }).port);
    const holder = await RawClient.connect(t, Number(port));
    const waiter = await RawClient.connect(t, Number(port));
    await waitForEvent(serve, (e) => e.event === 'waiting');
    const turnedAway = await RawClient.connect(t, Number(port));
    await turnedAway.waitForClose();
    holder.socket.end('quit\n');
    waiter.socket.end('quit\n');
    await waiter.waitForClose();
    const client = await runCli(t, ['client', '127.0.0.1', port, '--json'], 'hello\n');
    assert.equal(client.code, 0, client.stderr);
    const clientEvents = note(parseEvents(client.stdout));
    assert.deepEqual(clientEvents.map((e) => e.event), ['connected', 'received', 'received', 'received', 'closed', 'summary']);
    const probe = await runCli(t, ['probe', '127.0.0.1', port, '--json']);
    assert.deepEqual(note(parseEvents(probe.stdout)).map((e) => e.event), ['resolved', 'connected']);
    const serveEvents = note(await stopJson(serve));
    const closed = serveEvents.find((e) => e.event === 'closed' && e.messagesIn === 2)!;
    assert.ok(closed, 'closed with totals');
    assert.ok((closed.bytesIn as number) >= 'ack\nhello\n'.length);
    // udp-serve + udp-client, with a drop
    const udp = start(t, process.execPath, [CLI, 'udp-serve', '--port', '0', '--delay-ms', '0', '--json']);
    const udpPort = String(((await waitForEvent(udp, (e) => e.event === 'listening')).address as { port: number }).port);
    const udpClient = await runCli(t, ['udp-client', '127.0.0.1', udpPort, '--count', '2', '--interval-ms', '0', '--json']);
    assert.equal(udpClient.code, 0, udpClient.stderr);
    note(parseEvents(udpClient.stdout));
    const junk = await runCli(t, ['udp-client', '127.0.0.1', udpPort, '--count', '1', '--request', 'nonsense', '--timeout-ms', '200', '--json']);
    note(parseEvents(junk.stdout));
    note(await stopJson(udp));
    // proxy with a fault, and bench streaming intervals
    const { child: target, port: targetPort } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    const proxy = start(t, process.execPath, [CLI, 'proxy', '127.0.0.1', String(targetPort), '--reset-after-bytes', '1', '--direction', 'up', '--json']);
    const proxyPort = String(((await waitForEvent(proxy, (e) => e.event === 'listening')).address as { port: number }).port);
    const reset = await RawClient.connect(t, Number(proxyPort));
    reset.socket.write('x\n');
    await reset.waitForClose();
    await waitForEvent(proxy, (e) => e.event === 'closed');
    note(await stopJson(proxy));
    const hdrLog = join(tempDir(t), 'latency.hlog');
    const bench = await runCli(t, ['bench', 'tcp', '127.0.0.1', String(targetPort), '-c', '1', '-d', '400', '--warmup-ms', '0', '--interval-ms', '100', '--json', '--hdr-log', hdrLog]);
    assert.equal(bench.code, 0, bench.stderr);
    const benchEvents = note(parseEvents(bench.stdout));
    assert.ok(benchEvents.filter((e) => e.event === 'interval').length >= 2, 'interval lines stream');
    assert.equal(benchEvents.at(-1)!.event, 'summary');
    // The HDR log decodes to the same histogram the summary's percentiles came from.
    const logged = new hdr.HistogramLogReader(readFileSync(hdrLog, 'utf8')).nextIntervalHistogram();
    const latency = (benchEvents.at(-1)!.totals as { latencyUs: { count: number; p99: number } }).latencyUs;
    assert.ok(logged !== null);
    assert.equal(logged.totalCount, latency.count);
    assert.equal(logged.getValueAtPercentile(99), latency.p99);
    await stopChecked(target);
    for (const event of ['listening', 'connected', 'waiting', 'message', 'closed', 'received', 'resolved', 'get', 'reply', 'drop', 'sent', 'fault', 'interval', 'summary', 'stopped', 'rejected']) {
      assert.ok(seen.has(event), `the session produced a ${event} event`);
    }
    const doc = readFileSync(join(ROOT, 'docs/json-events.md'), 'utf8');
    for (const [name, schema] of Object.entries(EVENT_SCHEMA)) {
      assert.ok(doc.includes(`### \`${name}\``), `docs/json-events.md documents ${name}`);
      for (const field of [...Object.keys(schema.required), ...Object.keys(schema.optional ?? {})]) {
        assert.ok(doc.includes(`\`${field}\``), `docs/json-events.md describes ${name}.${field}`);
      }
    }
  });
});
