import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectTcp } from '../../src/index.js';
import { startCliServer } from '../helpers/processes.js';

describe('concurrent serving', () => {
  it('serves 100 clients at once, 10 messages each, every reply arriving', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--quiet', '--reply', 'got {message}']);
    const clients = 100;
    const messagesEach = 10;
    const connections = await Promise.all(Array.from({ length: clients }, () => connectTcp({ host: '127.0.0.1', port })));
    t.after(() => connections.forEach((conn) => conn.destroy()));
    const transcripts = await Promise.all(
      connections.map(async (conn, c) => {
        const received: string[] = [];
        const incoming = conn.messages();
        received.push(String((await incoming.next()).value)); // greeting
        // All sent at once: pipelined lines, framed by newlines on the server side.
        for (let m = 0; m < messagesEach; m++) conn.send(`client ${c} message ${m}`);
        for (let m = 0; m < messagesEach; m++) received.push(String((await incoming.next()).value));
        conn.send('quit');
        received.push(String((await incoming.next()).value));
        assert.equal((await incoming.next()).done, true, 'server closes after quit');
        await conn.close();
        return received;
      }),
    );
    transcripts.forEach((received, c) => {
      assert.deepEqual(received, [
        'connected to server',
        ...Array.from({ length: messagesEach }, (_, m) => `got client ${c} message ${m}`),
        'got quit',
      ]);
    });
    child.proc.kill('SIGTERM');
    assert.equal((await child.finish()).code, 0);
    assert.match(child.stdout, new RegExp(`stopped: ${clients} clients served, ${clients * (messagesEach + 1)} messages, 0 rejected`));
  });
});
