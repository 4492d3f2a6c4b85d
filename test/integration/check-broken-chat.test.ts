/**
 * `socklab check chat` can fail: a chat server broken on purpose (test/peers/broken_chat_server.py), one flaw
 * per check, fails exactly that check and passes every other one; with no flaw it passes everything.
 */
import { before, describe, it } from 'node:test';
import { checkNames } from '../../src/check/run-checks.js';
import { assertVerdict, peer, requirePython } from '../helpers/grading.js';
import assert from 'node:assert/strict';

const CHAT_FLAWS = ['greets', 'relays', 'split-read', 'two-in-one', 'many-clients', 'quit', 'half-close', 'slow-reader', 'long-line'] as const;
// 8 members are enough to overflow the flawed room (5 slots) and keep each grading under ten seconds.
const grade = (port: number) => ({ protocol: 'chat' as const, port, clients: 8 });

describe('socklab check chat fails each broken chat server on exactly its flaw', { concurrency: 3 }, () => {
  before(requirePython);

  it('there is one flaw per chat check', () => {
    assert.deepEqual([...CHAT_FLAWS], checkNames('chat'));
  });

  it('the chat server with no flaw passes every chat check', async (t) => {
    const { port } = await peer(t, 'broken_chat_server.py', ['0', 'none']);
    await assertVerdict(grade(port), []);
  });

  for (const flaw of CHAT_FLAWS) {
    it(`a chat server with the "${flaw}" flaw fails only ${flaw}`, async (t) => {
      const { port } = await peer(t, 'broken_chat_server.py', ['0', flaw]);
      await assertVerdict(grade(port), [flaw]);
    });
  }
});
