import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatEndpoint } from '../address.js';
import { formatSocketPath, isAbstract, toSocketPath } from './socket-path.js';

describe('socket paths', () => {
  it('maps @name to a Linux abstract name and back, and leaves file paths alone', () => {
    assert.equal(toSocketPath('/tmp/a.sock'), '/tmp/a.sock');
    assert.equal(toSocketPath('rel/a.sock'), 'rel/a.sock');
    if (process.platform === 'linux') {
      assert.equal(toSocketPath('@socklab'), '\0socklab');
      assert.equal(isAbstract(toSocketPath('@socklab')), true);
      assert.equal(formatSocketPath(toSocketPath('@socklab')), '@socklab');
    }
    assert.equal(isAbstract('/tmp/a.sock'), false);
  });

  it('rejects an empty path and an empty abstract name', () => {
    assert.throws(() => toSocketPath(''), RangeError);
    assert.throws(() => toSocketPath('@'), RangeError);
  });

  it('formats UNIX endpoints without a port', () => {
    assert.equal(formatEndpoint({ address: '/run/x.sock', port: 0, family: 'unix' }), 'unix:/run/x.sock');
    assert.equal(formatEndpoint({ address: '\0x', port: 0, family: 'unix' }), 'unix:@x');
    assert.equal(formatEndpoint({ address: '', port: 0, family: 'unix' }), 'unix:(unnamed)');
    assert.equal(formatEndpoint({ address: '::1', port: 80 }), '[::1]:80');
  });
});
