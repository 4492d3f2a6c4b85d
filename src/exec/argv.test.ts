import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitCommandLine } from './argv.js';

describe('splitCommandLine', () => {
  it('splits words on blanks, runs of blanks included', () => {
    assert.deepEqual(splitCommandLine('  cat   -u\tfile '), ['cat', '-u', 'file']);
  });

  it('keeps quoted words whole, single quotes literally, double quotes with \\" and \\\\', () => {
    assert.deepEqual(splitCommandLine(`grep -i "hello \\"big\\" world" 'a\\b $X'`), ['grep', '-i', 'hello "big" world', 'a\\b $X']);
  });

  it('joins adjacent quoted and bare parts into one word, and keeps an empty quoted word', () => {
    assert.deepEqual(splitCommandLine(`a"b c"d '' e\\ f`), ['ab cd', '', 'e f']);
  });

  it('passes shell syntax through as plain words (no shell)', () => {
    assert.deepEqual(splitCommandLine('echo $HOME | wc > out'), ['echo', '$HOME', '|', 'wc', '>', 'out']);
  });

  it('rejects an unterminated quote and an empty command', () => {
    assert.throws(() => splitCommandLine(`echo "oops`), RangeError);
    assert.throws(() => splitCommandLine('   '), RangeError);
  });
});
