import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { generateSelfSigned, parseFingerprint, selfSignedNames } from './certificate.js';

test('parseFingerprint accepts the printed form, bare hex and lower case alike, and rejects anything else', () => {
  const printed = `sha256:${'AB:'.repeat(31)}AB`;
  assert.equal(parseFingerprint(printed), printed);
  assert.equal(parseFingerprint('ab'.repeat(32)), printed);
  assert.equal(parseFingerprint(printed.toLowerCase()), printed);
  for (const bad of ['', 'sha256:', 'ab'.repeat(31), 'ab'.repeat(33), `sha256:${'zz:'.repeat(31)}zz`]) {
    assert.throws(() => parseFingerprint(bad), RangeError, bad);
  }
});

test('a self-signed certificate carries the names asked for, and its fingerprint is the DER SHA-256', async () => {
  const { cert, key, summary } = await generateSelfSigned(['localhost', '127.0.0.1', '::1']);
  assert.match(key, /BEGIN PRIVATE KEY/);
  assert.deepEqual(summary.names, ['localhost', '127.0.0.1', '::1']);
  assert.equal(summary.subject, 'CN=localhost');
  assert.equal(summary.selfSigned, true);
  assert.equal(summary.fingerprint256, `sha256:${new X509Certificate(cert).fingerprint256}`);
  assert.ok(summary.validTo.getTime() - summary.validFrom.getTime() > 29 * 86_400_000);
});

test('selfSignedNames adds the bound host, and this machine\'s names for a wildcard', () => {
  assert.deepEqual(selfSignedNames('10.1.2.3'), ['localhost', '127.0.0.1', '::1', '10.1.2.3']);
  assert.ok(selfSignedNames('0.0.0.0').length > 3);
});
