/**
 * The solutions of chapters 23-25 run here (their steps' transcripts are checked by the workshop test): the
 * selectors echo server is graded by `socklab check echo`, the others are run and their output checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertVerdict, requirePython, startServer } from '../helpers/grading.js';
import { start } from '../helpers/processes.js';

describe('workshop chapters 23-25: solutions', { concurrency: 3 }, () => {
  it('23-try-each-address: refused on 127.0.0.1, connects to the server on ::1 only', async (t) => {
    const child = start(t, process.execPath, ['dist/workshop/solutions/23-try-each-address.js']);
    assert.equal((await child.finish(10_000)).code, 0, child.stderr);
    assert.equal(child.stdout, '127.0.0.1: ECONNREFUSED\n::1: connected\nconnected to ::1, the second answer\n');
  });

  it('24_selectors_echo.py (Python, selectors) passes echo', async (t) => {
    await requirePython();
    const { port } = await startServer(t, 'python3', ['-u', 'workshop/solutions/24_selectors_echo.py', '0']);
    await assertVerdict({ protocol: 'echo', port }, []);
  });

  it('25-multicast-discovery: every member of the group on lo answers once, by unicast', async (t) => {
    const child = start(t, process.execPath, ['dist/workshop/solutions/25-multicast-discovery.js', '4']);
    assert.equal((await child.finish(10_000)).code, 0, child.stderr);
    assert.equal(child.stdout, 'member 1 here\nmember 2 here\nmember 3 here\nmember 4 here\n4 of 4 members answered\n');
  });
});
