/**
 * TLS in the library: listenTcp({ tls }) and connectTcp({ tls }) against each other and against bare node:tls and
 * node:net peers, with certificates made by the test. Every SL_ERR_TLS_* code is provoked for real and asserted.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createNetServer, type Server } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { connect as tlsConnect, createServer as createTlsServer, TLSSocket } from 'node:tls';
import { connectTcp, listenTcp, runMessageClient, SocklabError, startMessageServer, startTcpProxy, type ListenOptions, type TcpServer, type TlsError } from '../../src/index.js';
import { eventually } from '../helpers/changes.js';
import { RawClient } from '../helpers/raw-client.js';
import { makeCertificates } from '../helpers/tls-certs.js';

async function server(t: TestContext, options: ListenOptions): Promise<TcpServer> {
  const s = await listenTcp({ port: 0, farewell: (reason) => `error ${reason.code}`, ...options });
  t.after(() => s.destroy());
  s.on('connection', (conn) => {
    conn.on('message', (m) => conn.send(`echo ${m.toString()}`));
    conn.on('end', () => void conn.close());
  });
  return s;
}

/** Connects with TLS and returns the error code it failed with (the test fails if it connected). */
async function failureOf(port: number, tls: NonNullable<Parameters<typeof connectTcp>[0]['tls']>, host = 'localhost'): Promise<TlsError> {
  try {
    const conn = await connectTcp({ host, port, tls });
    conn.destroy();
  } catch (err) {
    assert.ok(err instanceof SocklabError, String(err));
    return err as TlsError;
  }
  assert.fail('the connection should have been refused');
}

async function listenRaw(t: TestContext, server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  t.after(() => server.close());
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

async function echoOnce(port: number, tls: NonNullable<Parameters<typeof connectTcp>[0]['tls']>, host = 'localhost'): Promise<string> {
  await using conn = await connectTcp({ host, port, tls });
  conn.send('ping');
  for await (const reply of conn.messages()) return reply.toString();
  return '';
}

describe('TLS: library against itself', () => {
  it('a self-signed server and a client pinning its fingerprint exchange messages and half-close', async (t) => {
    const s = await server(t, { tls: true });
    assert.ok(s.certificate);
    assert.match(s.certificate.fingerprint256, /^sha256:([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.deepEqual(s.certificate.names.slice(0, 2), ['localhost', '127.0.0.1']);
    const conn = await connectTcp({ host: '127.0.0.1', port: s.address().port, tls: { fingerprint: s.certificate.fingerprint256.toLowerCase() } });
    t.after(() => conn.destroy());
    assert.ok(conn.socket instanceof TLSSocket);
    assert.match(conn.socket.getProtocol() ?? '', /^TLSv1\.[23]$/);
    conn.send('one');
    conn.send('two');
    const replies: string[] = [];
    for await (const reply of conn.messages()) {
      replies.push(reply.toString());
      if (replies.length === 2) break;
    }
    assert.deepEqual(replies, ['echo one', 'echo two']);
    assert.equal(await conn.closed, undefined);
    assert.equal(s.stats.accepted, 1);
  });

  it('after the client half-closes, every reply still reaches it (close_notify + FIN, then the replies)', async (t) => {
    const s = await server(t, { tls: true });
    // allowHalfOpen is passed on to the TLSSocket, though the typings leave it out.
    const options = { host: '127.0.0.1', port: s.address().port, rejectUnauthorized: false, allowHalfOpen: true };
    const client = tlsConnect(options);
    t.after(() => client.destroy());
    await once(client, 'secureConnect');
    let text = '';
    client.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    client.end('a\nb\n');
    await once(client, 'close');
    assert.equal(text, 'echo a\necho b\n');
  });

  it('verifies a CA-signed certificate by CA and by name (localhost, 127.0.0.1 and ::1)', async (t) => {
    const certs = await makeCertificates(t);
    const s = await server(t, { tls: { cert: certs.good.cert, key: certs.good.key } });
    assert.equal(await echoOnce(s.address().port, { ca: certs.ca.cert }, 'localhost'), 'echo ping');
    assert.equal(await echoOnce(s.address().port, { ca: certs.ca.cert }, '127.0.0.1'), 'echo ping');
    const s6 = await server(t, { host: '::1', tls: { cert: certs.good.cert, key: certs.good.key } });
    assert.equal(await echoOnce(s6.address().port, { ca: certs.ca.cert }, '::1'), 'echo ping');
  });

  it('names every certificate failure with its own code and a message that says what to do', async (t) => {
    const certs = await makeCertificates(t);
    const serve = async (c: { cert: string; key: string }): Promise<number> => (await server(t, { tls: { cert: c.cert, key: c.key } })).address().port;
    const selfSigned = await server(t, { tls: true });

    const untrusted = await failureOf(selfSigned.address().port, true);
    assert.equal(untrusted.code, 'SL_ERR_TLS_UNTRUSTED');
    assert.match(untrusted.message, /self-signed.*--ca.*--fingerprint/);
    assert.ok(untrusted.message.includes(selfSigned.certificate!.fingerprint256));

    const unknownCa = await failureOf(await serve(certs.unknownCa), { ca: certs.ca.cert });
    assert.equal(unknownCa.code, 'SL_ERR_TLS_UNTRUSTED');
    assert.match(unknownCa.message, /nobody trusts this CA/);

    const wrongName = await failureOf(await serve(certs.wrongName), { ca: certs.ca.cert });
    assert.equal(wrongName.code, 'SL_ERR_TLS_NAME_MISMATCH');
    assert.match(wrongName.message, /not for "localhost".*other\.example, 192\.0\.2\.1/);

    const expired = await failureOf(await serve(certs.expired), { ca: certs.ca.cert });
    assert.equal(expired.code, 'SL_ERR_TLS_CERT_EXPIRED');
    assert.match(expired.message, /expired on \d{4}-\d\d-\d\dT.* \(2 days ago\)/);

    const future = await failureOf(await serve(certs.future), { ca: certs.ca.cert });
    assert.equal(future.code, 'SL_ERR_TLS_CERT_NOT_YET_VALID');
    assert.match(future.message, /not valid until \d{4}-/);

    const pinned = await failureOf(await serve(certs.good), { fingerprint: selfSigned.certificate!.fingerprint256 });
    assert.equal(pinned.code, 'SL_ERR_TLS_FINGERPRINT_MISMATCH');
    // A pin replaces the CA and name checks: the wrong-name certificate, pinned, is accepted.
    const wrongNamePort = await serve(certs.wrongName);
    const pin = (await failureOf(wrongNamePort, { ca: certs.ca.cert })).certificate!.fingerprint256;
    assert.equal(await echoOnce(wrongNamePort, { fingerprint: pin }), 'echo ping');
    // And --insecure accepts anything.
    assert.equal(await echoOnce(await serve(certs.expired), { insecure: true }), 'echo ping');
    // --servername checks another name: the wrong-name certificate is right for other.example.
    assert.equal(await echoOnce(wrongNamePort, { ca: certs.ca.cert, servername: 'other.example' }), 'echo ping');
  });

  it('refuses bad TLS options before any socket opens', async (t) => {
    const certs = await makeCertificates(t);
    await assert.rejects(listenTcp({ port: 0, tls: { cert: certs.good.cert, key: certs.expired.key } }), { code: 'SL_ERR_TLS_CONFIG' });
    await assert.rejects(listenTcp({ port: 0, tls: { cert: certs.good.cert } }), TypeError);
    await assert.rejects(listenTcp({ port: 0, tls: { minVersion: 'TLSv1.1' as 'TLSv1.2' } }), RangeError);
    await assert.rejects(connectTcp({ port: 1, tls: { fingerprint: 'sha256:12' } }), RangeError);
    await assert.rejects(connectTcp({ port: 1, tls: { fingerprint: 'a'.repeat(64), insecure: true } }), TypeError);
  });
});

describe('TLS: handshake failures on both sides', () => {
  it('a protocol version refused is SL_ERR_TLS_PROTOCOL_VERSION on the server and on the client', async (t) => {
    const s = await server(t, { tls: { minVersion: 'TLSv1.3' } });
    const failures: TlsError[] = [];
    s.on('tlsError', (error) => failures.push(error));
    const old = tlsConnect({ host: '127.0.0.1', port: s.address().port, maxVersion: 'TLSv1.2', rejectUnauthorized: false });
    t.after(() => old.destroy());
    const [clientError] = (await once(old, 'error')) as [Error & { code: string }];
    assert.match(clientError.code, /ALERT_PROTOCOL_VERSION/);
    await eventually(() => failures.length === 1, "the server's tlsError", 5000, 10);
    assert.equal(failures[0]!.code, 'SL_ERR_TLS_PROTOCOL_VERSION');
    assert.equal(s.stats.tlsFailures['SL_ERR_TLS_PROTOCOL_VERSION'], 1);

    const certs = await makeCertificates(t);
    const legacy = createTlsServer({ cert: certs.good.cert, key: certs.good.key, maxVersion: 'TLSv1.2' }, (socket) => socket.end('hi\n'));
    const port = await listenRaw(t, legacy);
    const refused = await failureOf(port, { ca: certs.ca.cert, minVersion: 'TLSv1.3' });
    assert.equal(refused.code, 'SL_ERR_TLS_PROTOCOL_VERSION');
    assert.match(refused.message, /TLSv1\.3 and newer/);
  });

  it('a client that never finishes its handshake is dropped after handshakeTimeoutMs, others are served meanwhile', async (t) => {
    const s = await server(t, { tls: { handshakeTimeoutMs: 400 } });
    const failures: TlsError[] = [];
    s.on('tlsError', (error) => failures.push(error));
    const silent = await RawClient.connect(t, s.address().port);
    assert.equal(await echoOnce(s.address().port, { fingerprint: s.certificate!.fingerprint256 }), 'echo ping');
    await silent.waitForClose();
    assert.equal(failures[0]?.code, 'SL_ERR_TLS_HANDSHAKE_TIMEOUT');
    assert.match(failures[0]!.message, /400 ms \(handshakeTimeoutMs\)/);
    assert.equal(s.stats.handshaking, 0);

    // The client side has its own deadline: a plaintext server that says nothing.
    const mute = createNetServer((socket) => socket.on('error', () => {}));
    const mutePort = await listenRaw(t, mute);
    t.after(() => mute.close());
    const timedOut = await failureOf(mutePort, { insecure: true, handshakeTimeoutMs: 300 });
    assert.equal(timedOut.code, 'SL_ERR_TLS_HANDSHAKE_TIMEOUT');
  });

  it('a plaintext client on a TLS port is named as such (SL_ERR_TLS_NOT_TLS), and costs one event', async (t) => {
    const s = await server(t, { tls: true });
    const failures: TlsError[] = [];
    s.on('tlsError', (error) => failures.push(error));
    for (const text of ['hello\n', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n']) {
      const plain = await RawClient.connect(t, s.address().port);
      plain.socket.write(text);
      await plain.waitForClose();
    }
    await eventually(() => failures.length === 2, 'a tlsError per plaintext client', 5000, 10);
    assert.deepEqual(failures.map((f) => f.code), ['SL_ERR_TLS_NOT_TLS', 'SL_ERR_TLS_NOT_TLS']);
    assert.match(failures[0]!.message, /sent plaintext, not a TLS handshake/);
    assert.match(failures[1]!.message, /sent an HTTP request/);
    assert.equal(s.stats.accepted, 0);
    assert.equal(await echoOnce(s.address().port, { fingerprint: s.certificate!.fingerprint256 }), 'echo ping');
  });

  it('a TLS client on a plaintext port: the client gets SL_ERR_TLS_NOT_TLS, the server closes it as SL_ERR_TLS_EXPECTED', async (t) => {
    const closed: string[] = [];
    const plain = await startMessageServer({ port: 0, onEvent: (e) => e.type === 'closed' && closed.push(e.reason) });
    t.after(() => plain.close());
    const refused = await failureOf(plain.address().port, true);
    assert.equal(refused.code, 'SL_ERR_TLS_NOT_TLS');
    assert.match(refused.message, /answered in plaintext, not TLS/);
    await eventually(() => closed.length === 1, 'the server to close the TLS client', 5000, 10);
    assert.deepEqual(closed, ['SL_ERR_TLS_EXPECTED']);
    assert.equal(plain.stats.messages, 0, 'the ClientHello is not a message');
  });

  it('a plaintext client whose server answers with TLS records is told to use TLS (SL_ERR_TLS_EXPECTED)', async (t) => {
    // What openssl s_server and others send to a client whose first bytes are not a ClientHello: an alert record.
    const alerting = createNetServer((socket) => socket.once('data', () => socket.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]))));
    const port = await listenRaw(t, alerting);
    await assert.rejects(runMessageClient({ host: '127.0.0.1', port, greetingWaitMs: 0 }, ['hello']), (err: SocklabError) => {
      assert.equal(err.code, 'SL_ERR_TLS_EXPECTED');
      assert.match(err.message, /answered with TLS records: it is a TLS port, connect with --tls/);
      return true;
    });
  });

  it('a server that resets mid-handshake gives SL_ERR_TLS_HANDSHAKE on the client', async (t) => {
    const rude = createNetServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const port = await listenRaw(t, rude);
    const failure = await failureOf(port, true);
    assert.equal(failure.code, 'SL_ERR_TLS_HANDSHAKE');
    assert.match(failure.message, /closed the connection during the TLS handshake/);
  });
});

describe('TLS: the same limits as plaintext', () => {
  it('maxConnections turns a TLS client away with "server full" over TLS', async (t) => {
    const s = await server(t, { tls: true, maxConnections: 1 });
    const tls = { fingerprint: s.certificate!.fingerprint256 };
    const first = await connectTcp({ host: '127.0.0.1', port: s.address().port, tls });
    t.after(() => first.destroy());
    const second = await connectTcp({ host: '127.0.0.1', port: s.address().port, tls, framing: 'raw' });
    t.after(() => second.destroy());
    let text = '';
    second.on('message', (m) => (text += m.toString()));
    await second.closed;
    assert.match(text, /SL_ERR_SERVER_FULL/);
    assert.equal(s.stats.rejected, 1);
  });

  it('handshakes in progress are bounded by maxHandshakes; the next one is refused and counted, later ones served', async (t) => {
    const s = await server(t, { tls: { maxHandshakes: 2 } });
    const failures: TlsError[] = [];
    s.on('tlsError', (error) => failures.push(error));
    const silent = [await RawClient.connect(t, s.address().port), await RawClient.connect(t, s.address().port)];
    await eventually(() => s.stats.handshaking === 2, 'two handshakes in progress', 5000, 10);
    const third = await RawClient.connect(t, s.address().port);
    await third.waitForClose();
    assert.equal(failures[0]?.code, 'SL_ERR_SERVER_FULL');
    for (const client of silent) client.socket.destroy();
    await eventually(() => s.stats.handshaking === 0, 'no handshake in progress', 5000, 10);
    assert.equal(await echoOnce(s.address().port, { fingerprint: s.certificate!.fingerprint256 }), 'echo ping');
  });

  it('close() does not wait for handshakes in progress (they would hold it until handshakeTimeoutMs)', async (t) => {
    const s = await listenTcp({ port: 0, tls: true });
    t.after(() => s.destroy());
    const silent = await RawClient.connect(t, s.address().port);
    await eventually(() => s.stats.handshaking === 1, 'one handshake in progress', 5000, 10);
    const started = Date.now();
    await s.close();
    assert.ok(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
    await silent.waitForClose();
  });

  it('an idle TLS client is closed by idleTimeoutMs with its reason, like a plaintext one', async (t) => {
    const s = await server(t, { tls: true, idleTimeoutMs: 300 });
    const conn = await connectTcp({ host: '127.0.0.1', port: s.address().port, tls: { fingerprint: s.certificate!.fingerprint256 }, framing: 'raw' });
    t.after(() => conn.destroy());
    let text = '';
    conn.on('message', (m) => (text += m.toString()));
    await conn.closed;
    assert.match(text, /SL_ERR_IDLE_TIMEOUT/);
  });

  it('refuses TLS 1.2 renegotiation', async (t) => {
    const s = await server(t, { tls: true });
    const reasons: Array<string | undefined> = [];
    s.on('connection', (conn) => void conn.closed.then((error) => reasons.push(error?.message)));
    const client = tlsConnect({ host: '127.0.0.1', port: s.address().port, maxVersion: 'TLSv1.2', rejectUnauthorized: false });
    client.on('error', () => {});
    t.after(() => client.destroy());
    await once(client, 'secureConnect');
    let renegotiated = false;
    client.renegotiate({ rejectUnauthorized: false }, (err) => (renegotiated = err === null || err === undefined));
    await once(client, 'close');
    assert.equal(renegotiated, false, 'the second handshake must not complete');
    await eventually(() => reasons.length === 1, "the connection's close reason", 5000, 10);
    assert.match(reasons[0] ?? '', /ERR_TLS_RENEGOTIATION_DISABLED/);
  });
});

describe('TLS through the fault proxy', () => {
  it('terminates TLS in front of a plaintext server, and originates it toward a TLS server (verified)', async (t) => {
    const plain = await startMessageServer({ port: 0, logMessages: false });
    t.after(() => plain.close());
    const terminating = await startTcpProxy({ targetPort: plain.address().port, tls: true, sliceBytes: 7, sliceDelayMs: 0 });
    t.after(() => terminating.close());
    const replies: string[] = [];
    const viaTls = await runMessageClient({ host: 'localhost', port: terminating.address().port, tls: { fingerprint: terminating.certificate!.fingerprint256 }, lineReplies: true }, ['hello', 'quit'], (e) => {
      if (e.type === 'reply') replies.push(e.text);
    });
    assert.equal(viaTls.ending, 'quit');
    assert.deepEqual(replies, ['connected to server', 'got message', 'got message', 'got message']);

    const secure = await startMessageServer({ port: 0, tls: true, logMessages: false });
    t.after(() => secure.close());
    const originating = await startTcpProxy({ targetPort: secure.address().port, targetHost: 'localhost', upstreamTls: { fingerprint: secure.tcp.certificate!.fingerprint256 } });
    t.after(() => originating.close());
    const viaPlain = await runMessageClient({ host: '127.0.0.1', port: originating.address().port }, ['hello', 'quit']);
    assert.equal(viaPlain.replies, 3, 'ack, hello and quit answered (the greeting is not a reply)');

    // Toward a TLS target it cannot verify, the proxy refuses to relay and says why.
    const unverified = await startTcpProxy({ targetPort: secure.address().port, targetHost: 'localhost', upstreamTls: true });
    t.after(() => unverified.close());
    const failures: string[] = [];
    const messagesBefore = secure.stats.messages;
    unverified.on('event', (event) => event.type === 'upstream-failed' && failures.push(event.message));
    await assert.rejects(runMessageClient({ host: '127.0.0.1', port: unverified.address().port, greetingWaitMs: 0 }, ['hello']));
    assert.match(failures[0] ?? '', /self-signed/);
    assert.equal(secure.stats.messages, messagesBefore, 'nothing was relayed to the server past the refused certificate');
  });
});
