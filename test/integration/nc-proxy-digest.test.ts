// HTTP proxy Digest authentication, client side: `ncat -l --proxy-type http --proxy-auth user:pass` offers Basic
// and Digest; ncat and socklab nc as clients (same test) answer its Digest challenge on a second connection, as
// ncat does, and the tunnel carries their bytes; a wrong password is refused with exit 1. ncat's -vvv log shows
// the Proxy-Authorization each client sent, so the test sees that it was Digest.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
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
