// HTTP proxy Digest authentication. Client side: `ncat -l --proxy-type http --proxy-auth user:pass` offers Basic
// and Digest; ncat and socklab nc as clients (same test) answer its Digest challenge on a second connection, as
// ncat does, and the tunnel carries their bytes; a wrong password is refused with exit 1. ncat's -vvv log shows
// the Proxy-Authorization each client sent, so the test sees that it was Digest. Server side: `socklab nc -l
// --proxy-type http --proxy-auth` offers both too; ncat's --proxy answers with Digest and gets through, a wrong
// password does not, and ncat's own successful header sent again (a replay) is refused.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { before, describe, test, type TestContext } from 'node:test';
import { eachNetcat, listenNc, requireTool, startNc } from '../helpers/netcat.js';

before(() => requireTool('ncat'));

/** A target that collects what each connection sends, until its FIN. */
async function target(t: TestContext): Promise<{ port: number; next: () => Promise<string> }> {
  const received: Promise<string>[] = [];
  const waiting: ((text: string) => void)[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => (socket.end(), waiting.shift()?.(text)));
  });
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    next: () => {
      const promise = new Promise<string>((resolve) => waiting.push(resolve));
      received.push(promise);
      return promise;
    },
  };
}

describe('HTTP proxy Digest authentication (client)', { concurrency: 2 }, () => {
  test('through ncat -l --proxy-type http --proxy-auth: the Digest challenge answered, the bytes through', (t) =>
    eachNetcat(t, async (t, nc) => {
      const goal = await target(t);
      const { nc: proxy, port } = await listenNc(t, 'ncat', ['-vvv', '--proxy-type', 'http', '--proxy-auth', 'user:pass'], { host: '127.0.0.1' });
      const arrived = goal.next();
      const client = startNc(t, nc, ['--proxy', `127.0.0.1:${port}`, '--proxy-type', 'http', '--proxy-auth', 'user:pass', '127.0.0.1', String(goal.port)]);
      client.write(`through digest from ${nc}\n`);
      client.endInput();
      assert.equal(await arrived, `through digest from ${nc}\n`);
      await proxy.waitStderr(/Proxy-Authorization: Digest username="user", realm="Ncat", nonce="[^"]+", uri="127\.0\.0\.1:\d+".*response="[0-9a-f]{32}"/);
      assert.equal(await client.exitWithin(5000), 0, client.stderr);
    }));

  test('a wrong password: the proxy answers 407 again, exit 1', (t) =>
    eachNetcat(t, async (t, nc) => {
      const goal = await target(t);
      const { port } = await listenNc(t, 'ncat', ['--proxy-type', 'http', '--proxy-auth', 'user:pass'], { host: '127.0.0.1' });
      const client = startNc(t, nc, ['--proxy', `127.0.0.1:${port}`, '--proxy-type', 'http', '--proxy-auth', 'user:wrong', '127.0.0.1', String(goal.port)]);
      client.endInput();
      assert.equal(await client.exitWithin(5000), 1, client.stderr);
      if (nc === 'socklab') assert.match(client.stderr, /407.*\[SL_ERR_PROXY\]$/m);
    }));
});

describe('HTTP proxy Digest authentication (socklab nc -l --proxy-type http)', { concurrency: 2 }, () => {
  test('ncat --proxy answers its Digest challenge and gets through; a wrong password does not; a replay is refused', async (t) => {
    const goal = await target(t);
    const { port } = await listenNc(t, 'socklab', ['--proxy-type', 'http', '--proxy-auth', 'user:pass'], { host: '127.0.0.1' });
    const arrived = goal.next();
    const client = startNc(t, 'ncat', ['-vvv', '--proxy', `127.0.0.1:${port}`, '--proxy-type', 'http', '--proxy-auth', 'user:pass', '127.0.0.1', String(goal.port)]);
    client.write('ncat through socklab\n');
    client.endInput();
    assert.equal(await arrived, 'ncat through socklab\n');
    assert.equal(await client.exitWithin(5000), 0, client.stderr);
    const sent = /^Proxy-Authorization: (Digest [^\r\n]+)$/m.exec(client.stderr);
    assert.ok(sent, `ncat sent no Digest header: ${client.stderr}`);
    assert.match(client.stderr, /Proxy returned status code 407\.[^]*Proxy returned status code 200\./);

    const wrong = startNc(t, 'ncat', ['--proxy', `127.0.0.1:${port}`, '--proxy-type', 'http', '--proxy-auth', 'user:nope', '127.0.0.1', String(goal.port)]);
    wrong.endInput();
    assert.equal(await wrong.exitWithin(5000), 1, wrong.stderr);

    // ncat's header, which just authenticated, sent again on a new connection: the nonce and count were used.
    const raw = connect(port, '127.0.0.1');
    t.after(() => raw.destroy());
    await once(raw, 'connect');
    raw.write(`CONNECT 127.0.0.1:${goal.port} HTTP/1.0\r\nProxy-Authorization: ${sent[1]}\r\n\r\n`);
    let answer = '';
    raw.setEncoding('utf8').on('data', (text: string) => (answer += text));
    for (let i = 0; i < 100 && !answer.includes('\r\n\r\n'); i++) await new Promise((resolve) => setTimeout(resolve, 30));
    assert.match(answer, /^HTTP\/1\.0 407 /);
    assert.match(answer, /\r\nProxy-Authenticate: Basic realm="socklab"\r\n/);
    assert.match(answer, /\r\nProxy-Authenticate: Digest realm="socklab", nonce="\d+\.\d{6}-[0-9a-f]{32}", qop="auth"\r\n/);
  });

  test('socklab nc through its own proxy with --proxy-auth, and refused with a wrong one', async (t) => {
    const goal = await target(t);
    const { port } = await listenNc(t, 'socklab', ['--proxy-type', 'http', '--proxy-auth', 'user:pass'], { host: '127.0.0.1' });
    const arrived = goal.next();
    const client = startNc(t, 'socklab', ['--proxy', `127.0.0.1:${port}`, '--proxy-type', 'http', '--proxy-auth', 'user:pass', '127.0.0.1', String(goal.port)]);
    client.write('socklab through socklab\n');
    client.endInput();
    assert.equal(await arrived, 'socklab through socklab\n');
    assert.equal(await client.exitWithin(5000), 0, client.stderr);
    const wrong = startNc(t, 'socklab', ['--proxy', `127.0.0.1:${port}`, '--proxy-type', 'http', '--proxy-auth', 'user:nope', '127.0.0.1', String(goal.port)]);
    wrong.endInput();
    assert.equal(await wrong.exitWithin(5000), 1, wrong.stderr);
    assert.match(wrong.stderr, /407.*\[SL_ERR_PROXY\]$/m);
  });
});
