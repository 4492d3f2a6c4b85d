// socklab nc through proxies and as one: SOCKS5 (our own tiny server in test/peers), SOCKS4 and HTTP CONNECT
// clients, `ncat -l --proxy-type http` as the proxy, and ncat's --proxy through `socklab nc -l --proxy-type http`.
// ncat-test.pl's HTTP proxy server cases run against both netcats as the proxy.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { before, describe, test, type TestContext } from 'node:test';
import { eachNetcat, listenNc, requireTool, startNc } from '../helpers/netcat.js';
import { startPeer } from '../helpers/processes.js';

before(() => requireTool('ncat'));

/** A server that answers each connection with `hello <what it first read>` and records the peer's port. */
async function origin(t: TestContext, answer = (request: string) => `hello ${request}`): Promise<{ server: Server; port: number; peers: Socket[] }> {
  const peers: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    peers.push(socket);
    socket.once('data', (chunk: Buffer) => socket.end(answer(chunk.toString('latin1'))));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of peers) socket.destroy();
    server.close();
  });
  return { server, port: (server.address() as AddressInfo).port, peers };
}

/** Sends `request` to a proxy and returns all it answers, up to its close. */
async function ask(port: number, request: string): Promise<string> {
  // ncat prints its test hook line a moment before its proxy accepts: retry a refused connect briefly.
  let socket: Socket | undefined;
  for (let attempt = 0; !socket; attempt++) {
    const candidate = createConnection({ host: '127.0.0.1', port });
    const [error] = await Promise.race([once(candidate, 'connect').then(() => [undefined]), once(candidate, 'error')]);
    if (!error) socket = candidate;
    else if (attempt >= 10) throw error;
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let answer = '';
  socket.setEncoding('latin1').on('data', (text: string) => (answer += text));
  socket.on('error', () => {});
  socket.write(request);
  await Promise.race([once(socket, 'close'), new Promise((resolve) => setTimeout(resolve, 3000))]);
  socket.destroy();
  return answer;
}

describe('socklab nc as a proxy client', { concurrency: 3 }, () => {
  test('through a SOCKS5 server, by name (the proxy resolves) and with user/password', async (t) => {
    const target = await origin(t);
    const { child: socks, port } = await startPeer(t, 'socks5_server.py', ['0']);
    const nc = startNc(t, 'socklab', ['--proxy', `127.0.0.1:${port}`, '--proxy-type', 'socks5', 'localhost', String(target.port)]);
    nc.write('socks5');
    assert.equal((await nc.waitOutput('hello socks5')).toString(), 'hello socks5');
    assert.match(socks.stdout, new RegExp(`connect localhost ${target.port}`));
    const { port: authPort } = await startPeer(t, 'socks5_server.py', ['0', 'joe:secret']);
    const good = startNc(t, 'socklab', ['--proxy', `127.0.0.1:${authPort}`, '--proxy-type', 'socks5', '--proxy-auth', 'joe:secret', '127.0.0.1', String(target.port)]);
    good.write('auth');
    assert.equal((await good.waitOutput('hello auth')).toString(), 'hello auth');
    const bad = startNc(t, 'socklab', ['--proxy', `127.0.0.1:${authPort}`, '--proxy-type', 'socks5', '--proxy-auth', 'joe:wrong', '127.0.0.1', String(target.port)]);
    assert.equal(await bad.exitWithin(5000), 1);
    assert.match(bad.stderr, /SL_ERR_PROXY/);
  });

  test('through ncat -l --proxy-type http (CONNECT)', async (t) => {
    const target = await origin(t);
    const { port } = await listenNc(t, 'ncat', ['--proxy-type', 'http'], { host: '127.0.0.1' });
    const nc = startNc(t, 'socklab', ['--proxy', `127.0.0.1:${port}`, '--proxy-type', 'http', '127.0.0.1', String(target.port)]);
    nc.write('via ncat');
    assert.equal((await nc.waitOutput('hello via ncat')).toString(), 'hello via ncat');
  });

  test("ncat's --proxy through socklab nc -l --proxy-type http, and socklab nc through its own", async (t) => {
    const target = await origin(t);
    const { port } = await listenNc(t, 'socklab', ['--proxy-type', 'http'], { host: '127.0.0.1' });
    const theirs = startNc(t, 'ncat', ['--proxy', `127.0.0.1:${port}`, '--proxy-type', 'http', '127.0.0.1', String(target.port)]);
    theirs.write('via socklab');
    assert.equal((await theirs.waitOutput('hello via socklab')).toString(), 'hello via socklab');
    const ours = startNc(t, 'socklab', ['--proxy', `127.0.0.1:${port}`, '127.0.0.1', String(target.port)]);
    ours.write('http default');
    assert.equal((await ours.waitOutput('hello http default')).toString(), 'hello http default');
  });

  test('Connect through HTTP and SOCKS4 proxies with -p: the proxy sees that source port', (t) =>
    eachNetcat(t, async (t, nc) => {
      for (const type of ['http', 'socks4']) {
        const proxy = await origin(t);
        const probe = createServer();
        await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
        const sourcePort = (probe.address() as AddressInfo).port;
        await new Promise((resolve) => probe.close(resolve));
        startNc(t, nc, ['--proxy-type', type, '--proxy', `127.0.0.1:${proxy.port}`, '-p', String(sourcePort), '127.0.0.1', '9']);
        const [socket] = (await once(proxy.server, 'connection')) as [Socket];
        assert.equal(socket.remotePort, sourcePort, type);
      }
    }));
});

describe('ncat compatibility: the HTTP proxy server (-l --proxy-type http)', { concurrency: 3 }, () => {
  test('HTTP proxy bad request: 400', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { port } = await listenNc(t, nc, ['--proxy-type', 'http'], { host: '127.0.0.1' });
      assert.match(await ask(port, 'bad\r\n\r\n'), /^HTTP\/1\.[01] 400 /);
    }));

  test('HTTP CONNECT no port number: 400', (t) =>
    eachNetcat(t, async (t, nc) => {
      const { port } = await listenNc(t, nc, ['--proxy-type', 'http'], { host: '127.0.0.1' });
      assert.match(await ask(port, 'CONNECT 127.0.0.1 HTTP/1.0\r\n\r\n'), /^HTTP\/1\.[01] 400 /);
    }));

  test('HTTP CONNECT good request: 200, then the tunnel', (t) =>
    eachNetcat(t, async (t, nc) => {
      const target = await origin(t);
      const { port } = await listenNc(t, nc, ['--proxy-type', 'http'], { host: '127.0.0.1' });
      const answer = await ask(port, `CONNECT 127.0.0.1:${target.port} HTTP/1.0\r\n\r\nping`);
      assert.match(answer, /^HTTP\/1\.[01] 200 [^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\nhello ping$/);
    }));

  test('HTTP GET absolute URI: forwarded with the path only', (t) =>
    eachNetcat(t, async (t, nc) => {
      // ncat's proxy parses the response, so the origin answers in HTTP, echoing the request line it got.
      const target = await origin(t, (request) => {
        const line = request.slice(0, request.indexOf('\r\n'));
        return `HTTP/1.0 200 OK\r\nContent-Length: ${line.length}\r\n\r\n${line}`;
      });
      const { port } = await listenNc(t, nc, ['--proxy-type', 'http'], { host: '127.0.0.1' });
      const answer = await ask(port, `GET http://127.0.0.1:${target.port}/some/path HTTP/1.0\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.[01] 200 [^]*\r\n\r\nGET \/some\/path HTTP\/1\.[01]$/);
    }));
});
