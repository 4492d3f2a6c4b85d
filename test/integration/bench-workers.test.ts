import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { benchSummary, parseEvents } from '../helpers/json-lines.js';
import { runCli, startCliServer } from '../helpers/processes.js';

describe('bench tcp --workers', () => {
  it('splits one global plan over 2 worker threads: every request once, {seq} unique, histograms merged', async (t) => {
    const seen: number[] = [];
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.setEncoding('utf8').on('data', (text: string) => {
        for (const line of text.split('\n').filter(Boolean)) {
          seen.push(Number(line.split(' ')[1]));
          socket.write('ok\n');
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
    });
    const port = (server.address() as { port: number }).port;
    const { code, stdout, stderr } = await runCli(t, ['bench', 'tcp', '127.0.0.1', String(port), '--no-greeting', '--workers', '2', '-c', '4', '--rate', '400', '-d', '1000', '--warmup-ms', '250', '--payload', 'req {seq}', '--interval-ms', '250', '--json']);
    assert.equal(code, 0, stderr);
    const result = benchSummary(stdout);
    const c = result.counts!;
    // 400/s over 250 ms of warm-up and 1000 ms measured: 100 + 400 intended send times, split between the workers.
    assert.deepEqual([c.warmupScheduled, c.scheduled, c.completed, c.sent], [100, 400, 400, 500]);
    assert.equal(result.latencyUs.count, 400, 'the workers\' histograms add up');
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 500 }, (_, i) => i), 'each request number once, over both workers');
    const intervals = parseEvents(stdout).filter((event) => event.event === 'interval');
    assert.ok(intervals.length >= 4, `${intervals.length} merged interval events`);
    assert.equal(intervals.reduce((sum, event) => sum + (event.scheduled as number), 0), 500);
  });

  it('udp and connect run over 2 workers too: udp shares one global plan, connect splits its loops; counts added, histograms merged', async (t) => {
    const udpServer = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '0']);
    const udp = await runCli(t, ['bench', 'udp', '127.0.0.1', String(udpServer.port), '--workers', '2', '-c', '4', '--rate', '400', '-d', '1000', '--warmup-ms', '200', '--timeout-ms', '1000', '--json']);
    assert.equal(udp.code, 0, udp.stderr);
    const u = benchSummary(udp.stdout);
    assert.deepEqual([u.extra.workers, u.concurrency, u.lost], [2, 4, 0]);
    // 2 × 200/s over the measured period (a loaded machine stretches it past 1 s: the workers still send
    // what fell due), so 400/s × measuredMs, within 15%.
    const expected = (400 * u.measuredMs) / 1000;
    assert.ok(Math.abs(u.completed - expected) <= 0.15 * expected, `completed ${u.completed}, expected ≈ ${expected.toFixed(0)} over ${u.measuredMs} ms`);
    assert.equal(u.latencyUs.count, u.completed, 'merged histogram holds every reply');
    // One global plan at the full rate, worker i taking requests i, i + 2, …: the intended times after the
    // 200 ms warm-up number 400/s × 1 s = 400 over both workers, each sent once.
    assert.equal(u.extra.scheduled, 400, JSON.stringify(u.extra));
    assert.deepEqual([u.extra.sent - u.extra.scheduled >= 0, u.extra.late, u.extra.unsent], [true, 0, 0]);
    assert.equal(u.serviceTimeUs?.count, u.completed, 'merged service-time histogram holds every reply');
    assert.equal(u.sendLagUs?.count, u.completed);
    const tcpServer = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    const connect = await runCli(t, ['bench', 'connect', '127.0.0.1', String(tcpServer.port), '--workers', '2', '-c', '2', '-d', '500', '--warmup-ms', '100', '--json']);
    assert.equal(connect.code, 0, connect.stderr);
    const c = benchSummary(connect.stdout);
    assert.ok(c.completed > 0 && c.latencyUs.count === c.completed && c.concurrency === 2, JSON.stringify(c.latencyUs));
  });

  it('refuses more workers than connections', async (t) => {
    const { code, stderr } = await runCli(t, ['bench', 'tcp', '--workers', '4', '-c', '2']);
    assert.equal(code, 2);
    assert.match(stderr, /at least one connection .*per worker/);
  });
});
