// One suite, three shared-state backends: in-process (one server), --workers 3 (node:cluster), and 3 instances on
// one Redis. Each must give unique counter values across instances and one chat room across instances.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { CounterLoad, decreases, duplicates } from '../helpers/counter-load.js';
import { startCliServer, stopChecked, type Child } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { RedisServer } from '../helpers/redis.js';
import { tally } from '../helpers/tally.js';

/** Starts the servers of one backend; returns the port of each of 3 instances (the same port when they share it). */
type Backend = (t: TestContext, args: string[]) => Promise<{ ports: number[]; children: Child[] }>;

const BACKENDS: Record<string, Backend> = {
  'in-process': async (t, args) => {
    const { child, port } = await startCliServer(t, args);
    return { ports: [port, port, port], children: [child] };
  },
  'workers (node:cluster)': async (t, args) => {
    const { child, port } = await startCliServer(t, [...args, '--workers', '3']);
    return { ports: [port, port, port], children: [child] };
  },
  redis: async (t, args) => {
    const redis = await RedisServer.start(t);
    const started = await Promise.all([0, 1, 2].map(() => startCliServer(t, [...args, '--redis', redis.url])));
    return { ports: started.map((s) => s.port), children: started.map((s) => s.child) };
  },
};

for (const [name, backend] of Object.entries(BACKENDS)) {
  describe(`shared state: ${name}`, () => {
    it('counter values are unique across instances and increase per client', async (t) => {
      const { ports, children } = await backend(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '0', '--rate-limit', 'inf']);
      // Pipelined clients (100 gets in flight) and lockstep ones (one get, wait for the value, the next).
      const loads = await Promise.all(ports.map((port) => CounterLoad.start(t, port, { window: 100, limit: 3000 })));
      const lockstep = await Promise.all(ports.map((port) => CounterLoad.start(t, port, { window: 1, limit: 300, lostAfterMs: 5000 })));
      await Promise.all([...loads.map((load) => load.until(3000, 20_000)), ...lockstep.map((load) => load.until(300, 20_000))]);
      for (const load of [...loads, ...lockstep]) load.stop();
      const all = [...loads, ...lockstep].flatMap((load) => load.values);
      assert.ok(all.length >= 9900, `${all.length} values`);
      assert.equal(duplicates(all), 0);
      for (const load of lockstep) assert.equal(decreases(load.values), 0, 'a client that waits for each value sees them increase');
      // Under --workers one client's datagrams go to whichever worker reads the shared socket first (Node 20's
      // dgram has no SO_REUSEPORT to pin a source to a worker), so only a lockstep client is promised increasing values.
      if (name !== 'workers (node:cluster)') for (const load of loads) assert.equal(decreases(load.values), 0);
      for (const child of children) await stopChecked(child);
      tally({ valuesChecked: all.length, duplicatedValues: duplicates(all) });
    });

    it('chat: every client on every instance gets every other client message once, in per-sender order', async (t) => {
      const { ports, children } = await backend(t, ['serve', '--mode', 'chat', '--port', '0', '--quiet']);
      const clients = await Promise.all([...ports, ...ports].map((port) => RawClient.connect(t, port)));
      await Promise.all(clients.map((client) => client.waitForText(/\* you are/)));
      for (const [n, client] of clients.entries()) client.socket.write(`/nick c${n}\n`);
      await Promise.all(clients.map((client) => client.waitForText(/\* you are now c\d/)));
      const perSender = 40;
      for (let i = 0; i < perSender; i++) for (const [n, client] of clients.entries()) client.socket.write(`m ${n} ${i}\n`);
      const expected = (clients.length - 1) * perSender;
      const received = (client: RawClient): string[] => client.lines.filter((line) => /^c\d+: m \d+ \d+$/.test(line));
      await Promise.all(clients.map((client) => client.until(() => received(client).length >= expected, 'every message', 15_000)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const [n, client] of clients.entries()) {
        const lines = received(client);
        assert.equal(lines.length, expected, `client ${n}: each message once`);
        for (const [m] of clients.entries()) {
          const from = lines.filter((line) => line.startsWith(`c${m}: `)).map((line) => Number(line.split(' ')[3]));
          assert.deepEqual(from, m === n ? [] : Array.from({ length: perSender }, (_, i) => i), `client ${n} from ${m}`);
        }
      }
      for (const child of children) {
        const { stdout } = await stopChecked(child);
        assert.match(stdout, /stopped: \d+ clients served/);
      }
      tally({ acksChecked: clients.length * expected, lostAcks: 0 });
    });

    it('broker: bytes reach every other client on every instance', async (t) => {
      const { ports, children } = await backend(t, ['serve', '--mode', 'broker', '--port', '0', '--quiet']);
      const clients = await Promise.all(ports.map((port) => RawClient.connect(t, port)));
      // Brokers send nothing on join: wait until every instance has logged its client's "joined" line (printed with
      // --quiet too, by a worker as well), so none is sent to before it is registered. Client n is on instance n.
      for (const [n, client] of clients.entries()) {
        const instance = children.length === 1 ? children[0]! : children[n]!;
        await instance.waitFor(new RegExp(`^127\\.0\\.0\\.1:${client.socket.localPort} joined\n`, 'm'));
      }
      clients[0]!.socket.write(Buffer.from([0x00, 0xff, 0x1b, 0x0a]));
      for (const client of clients.slice(1)) await client.until(() => client.bytes === 4, 'the 4 bytes');
      assert.equal(Buffer.from(clients[1]!.text, 'latin1').toString('hex'), '00ff1b0a');
      for (const child of children) await stopChecked(child);
    });
  });
}
