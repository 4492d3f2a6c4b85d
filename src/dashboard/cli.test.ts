import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SocklabError } from '../errors.js';
import { parseDashboardAddress } from './cli.js';

test('parseDashboardAddress keeps a bare port on loopback and takes other hosts only when written out', () => {
  assert.deepEqual(parseDashboardAddress('9000'), { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(parseDashboardAddress('0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseDashboardAddress('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseDashboardAddress('[::1]:9000'), { host: '::1', port: 9000 });
  assert.deepEqual(parseDashboardAddress('localhost:9000'), { host: 'localhost', port: 9000 });
  for (const bad of ['', 'x', '9000x', '70000', 'example.com:80', '::1:9000', '1.2.3.4:']) {
    assert.throws(() => parseDashboardAddress(bad), (err: unknown) => err instanceof SocklabError && err.code === 'SL_ERR_USAGE', bad);
  }
});
