// socklab's toxiproxy API, driven by toxiproxy's own npm client (toxiproxy-node-client), in front of a real
// redis-server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Toxiproxy, type ICreateToxicBody } from 'toxiproxy-node-client';
import { ProxySet } from '../../src/proxy/proxy-set.js';
import { startToxiproxyApi } from '../../src/proxy/toxiproxy-api.js';
import { RedisServer } from '../helpers/redis.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually } from '../helpers/changes.js';

async function api(t: TestContext): Promise<{ toxiproxy: Toxiproxy; url: string; redis: RedisServer; upstream: string }> {
  const redis = await RedisServer.start(t);
  const server = await startToxiproxyApi(new ProxySet({ seed: 21 }), { port: 0 });
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.address().port}`;
  return { toxiproxy: new Toxiproxy(url), url, redis, upstream: `127.0.0.1:${redis.port}` };
}

const portOf = (listen: string): number => Number(listen.split(':').pop());

/** One RESP command over a fresh connection: the reply text and the round trip, or the error that ended it. */
async function redisCall(t: TestContext, port: number, command: string, reply: RegExp, timeoutMs = 5000): Promise<{ text: string; ms: number; error?: string }> {
  const client = await RawClient.connect(t, port);
  const started = performance.now();
  client.socket.write(command);
  await client.until(() => reply.test(client.text) || client.closed, String(reply), timeoutMs);
  const ms = performance.now() - started;
  client.socket.destroy();
  return { text: client.text, ms, ...(client.error ? { error: client.error.code } : client.closed && !reply.test(client.text) ? { error: 'closed' } : {}) };
}

function toxic<T>(body: Partial<ICreateToxicBody<T>> & { type: ICreateToxicBody<T>['type']; attributes: T }): ICreateToxicBody<T> {
  return body as ICreateToxicBody<T>;
}

describe('toxiproxy API (toxiproxy-node-client, redis-server)', () => {
  it('creates a proxy, adds latency and sees it in the round trip, removes it', async (t) => {
    const { toxiproxy, upstream } = await api(t);
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    assert.equal(proxy.enabled, true);
    assert.equal(proxy.upstream, upstream);
    const port = portOf(proxy.listen);
    const before = await redisCall(t, port, 'PING\r\n', /\+PONG\r\n/);
    const latency = await proxy.addToxic(toxic({ type: 'latency', attributes: { latency: 200, jitter: 0 } }));
    assert.deepEqual([latency.name, latency.stream, latency.toxicity], ['latency_downstream', 'downstream', 1], "toxiproxy's defaults");
    const slow = await redisCall(t, port, 'PING\r\n', /\+PONG\r\n/);
    assert.ok(slow.ms >= 195, `round trip ${slow.ms.toFixed(0)} ms with 200 ms latency (${before.ms.toFixed(1)} ms without)`);
    const fetched = await proxy.getToxic<{ latency: number; jitter: number }>('latency_downstream');
    assert.deepEqual(fetched.attributes, { latency: 200, jitter: 0 });
    const updated = await fetched.update({ ...fetched.toJson(), attributes: { latency: 0, jitter: 0 } });
    assert.equal(updated.attributes.latency, 0);
    await updated.remove();
    const again = await toxiproxy.get('redis');
    assert.equal((await redisCall(t, port, 'PING\r\n', /\+PONG\r\n/)).text, '+PONG\r\n');
    assert.equal(again.name, 'redis');
    assert.match(await toxiproxy.getVersion(), /"version"/);
  });

  it('toxicity 0.5 on 200 connections affects about half, each connection all or nothing', async (t) => {
    const { toxiproxy, upstream } = await api(t);
    const proxy = await toxiproxy.createProxy({ name: 'half', listen: '127.0.0.1:0', upstream });
    await proxy.addToxic(toxic({ type: 'reset_peer', stream: 'upstream', toxicity: 0.5, attributes: { timeout: 0 } }));
    const port = portOf(proxy.listen);
    const outcomes: boolean[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const calls = Array.from({ length: 50 }, () => redisCall(t, port, 'PING\r\n', /\+PONG\r\n/));
      for (const call of await Promise.all(calls)) {
        assert.ok(call.text === '+PONG\r\n' || call.error !== undefined, JSON.stringify(call));
        outcomes.push(call.error !== undefined);
      }
    }
    const affected = outcomes.filter(Boolean).length;
    // Binomial(200, 0.5): sd 7; 70..130 is more than 4 sd either way.
    assert.ok(affected >= 70 && affected <= 130, `${affected} of 200 connections reset`);
  });

  it('disable drops the connections and refuses new ones; enable serves again on the same port', async (t) => {
    const { toxiproxy, upstream } = await api(t);
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    const port = portOf(proxy.listen);
    const open = await RawClient.connect(t, port);
    const down = await proxy.update({ enabled: false, listen: proxy.listen, upstream });
    assert.equal(down.enabled, false);
    await open.waitForClose();
    const refused = connect(port, '127.0.0.1');
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNREFUSED');
    const up = await down.update({ enabled: true, listen: proxy.listen, upstream });
    assert.equal(up.enabled, true);
    assert.equal(portOf(up.listen), port);
    assert.equal((await redisCall(t, port, 'PING\r\n', /\+PONG\r\n/)).text, '+PONG\r\n');
  });

  it('populate creates several proxies (and an empty list answers [] rather than null); reset heals them all', async (t) => {
    const { toxiproxy, url, upstream } = await api(t);
    const created = await toxiproxy.populate([
      { name: 'one', listen: '127.0.0.1:0', upstream },
      { name: 'two', listen: '127.0.0.1:0', upstream, enabled: false },
    ]);
    assert.deepEqual(Object.keys(created).sort(), ['one', 'two']);
    assert.equal(created['two']!.enabled, false);
    const one = created['one']!;
    await one.addToxic(toxic({ type: 'timeout', attributes: { timeout: 0 } }));
    const stuck = await redisCall(t, portOf(one.listen), 'PING\r\n', /\+PONG\r\n/, 300).catch((err: Error) => err);
    assert.ok(stuck instanceof Error, 'timeout 0 holds the reply');
    const empty = await fetch(`${url}/populate`, { method: 'POST', body: '[]' });
    assert.equal(empty.status, 201);
    assert.deepEqual(await empty.json(), { proxies: [] });
    await toxiproxy.reset();
    const all = await toxiproxy.getAll();
    assert.equal(all['two']!.enabled, true, 'reset enables every proxy');
    assert.deepEqual((await fetch(`${url}/proxies/one/toxics`).then((r) => r.json())) as unknown[], [], 'reset removes every toxic');
    for (const name of ['one', 'two']) assert.equal((await redisCall(t, portOf(all[name]!.listen), 'PING\r\n', /\+PONG\r\n/)).text, '+PONG\r\n');
  });

  it('limit_data delivers exactly N bytes of a reply, then closes cleanly', async (t) => {
    const { toxiproxy, upstream } = await api(t);
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    const port = portOf(proxy.listen);
    const value = 'v'.repeat(10_000);
    assert.equal((await redisCall(t, port, `SET big ${value}\r\n`, /\+OK\r\n/)).text, '+OK\r\n');
    await proxy.addToxic(toxic({ type: 'limit_data', attributes: { bytes: 1000 } }));
    const client = await RawClient.connect(t, port);
    client.socket.write('GET big\r\n');
    await client.waitForClose();
    assert.equal(client.bytes, 1000);
    assert.equal(client.error, undefined);
    assert.ok(client.text.startsWith('$10000\r\nvvv'));
  });

  it('a value stream through redis arrives whole and in order while latency is added and removed in a loop', async (t) => {
    const { toxiproxy, upstream } = await api(t);
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    const client = await RawClient.connect(t, portOf(proxy.listen));
    let expected = '';
    let next = 0;
    const writer = (async () => {
      while (next < 2000) {
        for (let i = 0; i < 20; i++, next++) {
          client.socket.write(`ECHO ${next}\r\n`);
          expected += `$${String(next).length}\r\n${next}\r\n`;
        }
        await sleep(2);
      }
    })();
    for (let round = 0; round < 10; round++) {
      const added = await proxy.addToxic(toxic({ type: 'latency', name: 'wobble', stream: round % 2 === 0 ? 'downstream' : 'upstream', attributes: { latency: 20, jitter: 15 } }));
      await sleep(10);
      await added.remove();
    }
    await writer;
    await client.until(() => client.text.length >= expected.length, 'every ECHO reply', 10_000);
    assert.equal(client.text, expected);
  });

  it('answers errors as toxiproxy does: status and {"error","status"} body', async (t) => {
    const { url, upstream } = await api(t);
    const call = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
      const response = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) });
      return { status: response.status, text: await response.text() };
    };
    assert.deepEqual(await call('GET', '/proxies/nope'), { status: 404, text: '{"error":"proxy not found","status":404}\n' });
    assert.deepEqual(await call('POST', '/proxies', '{"upstream":"x:1"}'), { status: 400, text: '{"error":"missing required field: name","status":400}\n' });
    assert.equal((await call('POST', '/proxies', `{"name":"p","listen":"127.0.0.1:0","upstream":"${upstream}"}`)).status, 201);
    assert.equal((await call('POST', '/proxies', `{"name":"p","listen":"127.0.0.1:0","upstream":"${upstream}"}`)).status, 409);
    assert.deepEqual(await call('POST', '/proxies/p/toxics', '{"type":"wat"}'), { status: 400, text: '{"error":"invalid toxic type","status":400}\n' });
    assert.deepEqual(await call('POST', '/proxies/p/toxics', '{"type":"latency","stream":"up"}'), { status: 400, text: '{"error":"stream was invalid, can be either upstream or downstream","status":400}\n' });
    assert.equal((await call('POST', '/proxies/p/toxics', '{"type":"bandwidth","attributes":{"rate":-1}}')).status, 400, 'a negative rate is refused (it kills toxiproxy)');
    assert.equal((await call('POST', '/proxies/p/toxics', '{"type":"latency"}')).status, 200);
    const message = await call('POST', '/proxies/p/toxics', '{"type":"message","stream":"upstream","attributes":{"action":"drop","nth":0,"pattern":"^SET"}}');
    assert.equal(message.status, 200, message.text);
    assert.deepEqual(JSON.parse(message.text).attributes, { framing: 'line', action: 'drop', nth: 0, pattern: '^SET', delay: 0 });
    assert.deepEqual(await call('POST', '/proxies/p/toxics', '{"type":"latency"}'), { status: 409, text: '{"error":"toxic already exists","status":409}\n' });
    assert.deepEqual(await call('DELETE', '/proxies/p/toxics/nope'), { status: 404, text: '{"error":"toxic not found","status":404}\n' });
    assert.equal((await call('POST', '/proxies', 'not json')).status, 400);
    assert.deepEqual(await call('GET', '/proxies', undefined, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)' }), { status: 403, text: 'User agent not allowed\n' });
    assert.equal((await call('DELETE', '/proxies/p')).status, 204);
  });

  it('TLS per proxy (socklab extension): tls terminates, upstream_tls originates, toxics apply to the plaintext between', async (t) => {
    const { url, upstream } = await api(t);
    const post = async (body: unknown) => {
      const response = await fetch(`${url}/proxies`, { method: 'POST', body: JSON.stringify(body) });
      assert.equal(response.status, 201, await response.clone().text());
      return (await response.json()) as { listen: string; tls?: boolean; upstream_tls?: boolean };
    };
    const secure = await post({ name: 'secure', listen: '127.0.0.1:0', upstream, tls: true });
    assert.equal(secure.tls, true);
    // A plaintext front that speaks TLS to the secure one (its certificate is self-signed: not verified here).
    const front = await post({ name: 'front', listen: '127.0.0.1:0', upstream: secure.listen, upstream_tls: { insecure: true } });
    assert.equal(front.upstream_tls, true);
    await fetch(`${url}/proxies/secure/toxics`, { method: 'POST', body: '{"type":"latency","attributes":{"latency":100}}' });
    const call = await redisCall(t, portOf(front.listen), 'PING\r\n', /\+PONG\r\n/);
    assert.equal(call.text, '+PONG\r\n');
    assert.ok(call.ms >= 95, `the latency toxic applied behind TLS (${call.ms.toFixed(0)} ms)`);
    const bad = await fetch(`${url}/proxies`, { method: 'POST', body: JSON.stringify({ name: 'bad', listen: '127.0.0.1:0', upstream, tls: 'yes' }) });
    assert.equal(bad.status, 400);
  });

  it('UDP proxies (socklab extension): drop, duplicate and latency per stream, changed live; TCP toxics refused', async (t) => {
    const { url } = await api(t);
    const echo = createSocket('udp4');
    t.after(() => echo.close());
    echo.on('message', (data, rinfo) => echo.send(data, rinfo.port, rinfo.address));
    echo.bind(0, '127.0.0.1');
    await once(echo, 'listening');
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(url + path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: response.status, json: (await response.text().then((text) => (text ? JSON.parse(text) : undefined))) as Record<string, unknown> };
    };
    const created = await call('POST', '/proxies', { name: 'dns', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.address().port}`, protocol: 'udp' });
    assert.equal(created.status, 201);
    assert.equal(created.json['protocol'], 'udp');
    const port = portOf(created.json['listen'] as string);
    const client = createSocket('udp4');
    t.after(() => client.close());
    const received: string[] = [];
    client.on('message', (data) => received.push(data.toString()));
    client.bind(0, '127.0.0.1');
    await once(client, 'listening');
    const round = async (tag: string, count: number, waitMs = 150): Promise<string[]> => {
      received.length = 0;
      for (let i = 0; i < count; i++) client.send(`${tag}${i}`, port, '127.0.0.1');
      await sleep(waitMs);
      return [...received];
    };
    assert.equal((await round('a', 20)).length, 20, 'a plain relay');
    assert.equal((await call('POST', '/proxies/dns/toxics', { type: 'drop', stream: 'upstream', name: 'loss' })).status, 200);
    assert.equal((await round('b', 20)).length, 0, 'drop with its default probability 1 loses every datagram');
    assert.equal((await call('PATCH', '/proxies/dns/toxics/loss', { attributes: { probability: 0 } })).status, 200);
    assert.equal((await call('POST', '/proxies/dns/toxics', { type: 'duplicate', stream: 'downstream' })).status, 200);
    assert.equal((await round('c', 20)).length, 40, 'every reply twice, the requests untouched');
    await call('DELETE', '/proxies/dns/toxics/duplicate_downstream');
    await call('POST', '/proxies/dns/toxics', { type: 'latency', stream: 'downstream', attributes: { latency: 120 } });
    const started = performance.now();
    client.send('slow', port, '127.0.0.1');
    await eventually(() => received.includes('slow'), 'the delayed reply', 2000, 5);
    assert.ok(performance.now() - started >= 115, 'latency on the way back');
    const refused = await call('POST', '/proxies/dns/toxics', { type: 'timeout' });
    assert.deepEqual(refused, { status: 400, json: { error: 'invalid toxic type', status: 400 } });
    assert.equal((await call('PATCH', '/proxies/dns', { enabled: false })).json['enabled'], false);
    assert.equal((await round('d', 5)).length, 0, 'disabled: nothing relayed');
    assert.equal((await call('PATCH', '/proxies/dns', { enabled: true })).json['enabled'], true);
    await call('DELETE', '/proxies/dns/toxics/latency_downstream');
    assert.equal((await round('e', 5)).length, 5, 'enabled again, on the same port');
  });
});
