/**
 * `socklab check` can fail: servers broken on purpose (test/peers/broken_*.py), one flaw each, fail exactly the
 * check for that flaw and pass every other one. The same program with no flaw passes everything.
 */
import { before, describe, it } from 'node:test';
import { assertVerdict, peer, requirePython, step } from '../helpers/grading.js';

const TCP_FLAWS = ['greets', 'answers', 'split-read', 'two-in-one', 'many-clients', 'quit', 'half-close', 'long-line'] as const;
const UDP_FLAWS = ['answers-once', 'unique-increasing', 'many-ports', 'ignores-garbage'] as const;

describe('socklab check fails each broken server on exactly its flaw', { concurrency: 2 }, () => {
  before(requirePython);

  it('the line server with no flaw passes every concurrent check', async (t) => {
    const { port } = await peer(t, 'broken_server.py', ['0', 'none']);
    await assertVerdict({ protocol: 'concurrent', port }, []);
  });

  for (const flaw of TCP_FLAWS) {
    it(`a concurrent server with the "${flaw}" flaw fails only ${flaw}`, async (t) => {
      const { port } = await peer(t, 'broken_server.py', ['0', flaw]);
      await assertVerdict({ protocol: 'concurrent', port }, [flaw]);
    });
  }

  it('a select() loop with a blocking send fails only slow-reader', async (t) => {
    const { port } = await peer(t, 'broken_stall.py', ['0']);
    await assertVerdict({ protocol: 'concurrent', port }, ['slow-reader']);
  });

  it('a concurrent server graded as sequential fails only many-clients (it serves them at once)', async (t) => {
    const { port } = await step(t, '06-concurrent-server');
    await assertVerdict({ protocol: 'sequential', port }, ['many-clients']);
  });

  it('the UDP counter with no flaw passes every udp-counter check', async (t) => {
    const { port } = await peer(t, 'broken_udp_server.py', ['0', 'none']);
    await assertVerdict({ protocol: 'udp-counter', port }, []);
  });

  for (const flaw of UDP_FLAWS) {
    it(`a UDP counter with the "${flaw}" flaw fails only ${flaw}`, async (t) => {
      const { port } = await peer(t, 'broken_udp_server.py', ['0', flaw]);
      await assertVerdict({ protocol: 'udp-counter', port }, [flaw]);
    });
  }
});
