/**
 * The types are as tight as the run-time checks: each call marked @ts-expect-error must fail to compile (tsc
 * fails the build when one compiles) and, run anyway, is refused at run time too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bindUdp, connectTcp, connectUdp, listenTcp } from '../../src/index.js';

describe('types as tight as the runtime', () => {
  it('UdpEndpoint.send: a bound endpoint needs a destination, a connected one takes none', { timeout: 5000 }, async (t) => {
    const server = await bindUdp({ port: 0 });
    t.after(() => server.close());
    const client = await connectUdp({ host: '127.0.0.1', port: server.address().port });
    t.after(() => client.close());
    // @ts-expect-error a bound endpoint must name `to`
    await assert.rejects(server.send('x'), TypeError);
    // @ts-expect-error a connected endpoint sends to its peer only
    await assert.rejects(client.send('x', server.address()), TypeError);
    // @ts-expect-error a bound endpoint's request needs `to`
    await assert.rejects(server.request('x', { timeoutMs: 10 }), TypeError);
    assert.equal(server.kind, 'bound');
    assert.equal(client.kind, 'connected');
  });

  it('connectTcp needs a port unless it has a path; event names are checked', { timeout: 5000 }, async (t) => {
    // @ts-expect-error neither port nor path
    await assert.rejects(connectTcp({ host: '127.0.0.1' }), TypeError);
    // @ts-expect-error port and path together
    await assert.rejects(connectTcp({ port: 1, path: '/nonexistent/socket' }), TypeError);
    const server = await listenTcp({ port: 0 });
    t.after(() => server.destroy());
    const conn = await connectTcp({ port: server.address().port, host: '127.0.0.1' });
    t.after(() => conn.destroy());
    // @ts-expect-error no such event: 'messages' (the method) is not 'message' (the event)
    conn.on('messages', () => {});
    // @ts-expect-error no such event on a server
    server.on('connect', () => {});
    // Run anyway, an unknown name is only a listener that never fires: the type error is the protection.
    assert.equal(conn.listenerCount('messages' as never), 1);
    // A TLS server always has a certificate; a plaintext one may not.
    const tls = await listenTcp({ port: 0, tls: true });
    t.after(() => tls.destroy());
    assert.match(tls.certificate.fingerprint256, /^sha256:/);
    assert.equal(server.certificate, undefined);
  });
});
