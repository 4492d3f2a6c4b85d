// Step 21: TCP under loss, with the library's proxy as the lab: a black hole, keepalive, a timeout, a reset, latency.
// Run: node dist/workshop/steps/21-under-loss.js
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpProxy, type TcpProxyOptions } from '../../src/index.js';

// An echo server: the healthy peer behind every proxy below. The reset of step 4 reaches it too: ignore it.
const echo = createServer((socket) => socket.on('error', () => {}).pipe(socket)).listen(0, '127.0.0.1');
await once(echo, 'listening');
const targetPort = (echo.address() as AddressInfo).port;

/** Opens a client through a proxy with `faults`; returns it once connected. */
async function through(faults: Omit<TcpProxyOptions, 'targetPort'>): Promise<{ client: Socket; close: () => Promise<void> }> {
  const proxy = await startTcpProxy({ targetPort, ...faults });
  const client = connect({ port: proxy.address().port, host: '127.0.0.1' });
  await once(client, 'connect');
  return { client, close: async () => (client.destroy(), await proxy.close()) };
}

/** The first reply, or what ended the wait: a deadline, the peer's FIN, or an error. */
function reply(client: Socket, deadlineMs: number): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(`no reply within ${deadlineMs} ms (the read deadline)`), deadlineMs);
    const done = (what: string): void => (clearTimeout(timer), resolve(what));
    client.once('data', (data) => done(`reply ${JSON.stringify(String(data))}`));
    client.once('end', () => done('the peer closed (FIN)'));
    client.once('error', (err: NodeJS.ErrnoException) => done(`error ${err.code}`));
  });
}

// 1. A black hole: the proxy accepts, then passes nothing and answers nothing, like a peer whose host died or a
//    firewall that drops. Our write still "succeeds": it only means the bytes reached our own kernel's buffer.
let lab = await through({ blackHole: true });
const written = await new Promise<boolean>((resolve) => lab.client.write('hello\n', (err) => resolve(!err)));
console.log(`1. black hole: write succeeded: ${written}; ${await reply(lab.client, 500)}`);

// 2. Keepalive on the same connection: after 1 s idle the kernel sends probes (an empty ACK) and waits for an
//    answer. Here the proxy's own kernel answers them, so the connection looks alive though nothing passes.
lab.client.setKeepAlive(true, 1000);
await sleep(1500);
const timer = execFileSync('ss', ['-Htno', `( sport = :${lab.client.localPort} )`], { encoding: 'utf8' });
const [, probes] = /timer:\(keepalive,[^,]*,(\d+)\)/.exec(timer) ?? [];
console.log(`2. keepalive: timer running: ${probes !== undefined}, unanswered probes: ${probes ?? 'none'}`);
await lab.close();

// 3. toxiproxy's timeout toxic: nothing passes, then the proxy closes the connection after 300 ms.
lab = await through({ toxics: [{ type: 'timeout', attributes: { timeout: 300 } }] });
lab.client.write('hello\n');
console.log(`3. timeout 300 ms: ${await reply(lab.client, 2000)}`);
await lab.close();

// 4. A reset: the proxy passes 4 bytes, then sends RST both ways, as a crashed or restarted peer would.
lab = await through({ resetAfterBytes: 4 });
lab.client.write('hello\n');
const reset = await new Promise<string>((resolve) => lab.client.on('error', (err: NodeJS.ErrnoException) => resolve(`${err.code}`)));
console.log(`4. reset after 4 bytes: error ${reset}`);
await lab.close();

// 5. Latency: 100 ms added each way. Each round trip now costs at least 200 ms: a chatty protocol pays it per step.
lab = await through({ latencyMs: 100 });
const started = performance.now();
lab.client.write('hello\n');
await once(lab.client, 'data');
console.log(`5. latency 100 ms each way: round trip ${Math.round(performance.now() - started)} ms`);
await lab.close();
echo.close();
