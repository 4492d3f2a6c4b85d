import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestAuthorization, parseChallenges } from './_http-digest.js';

test('parseChallenges: several challenges in one field and across fields, quoted values unescaped', () => {
  const challenges = parseChallenges(['Basic realm="Ncat", Digest realm="a \\"b\\"", nonce="n1", qop="auth,auth-int"', 'Digest realm=r2, nonce=n2']);
  assert.deepEqual(challenges, [
    { scheme: 'basic', params: { realm: 'Ncat' } },
    { scheme: 'digest', params: { realm: 'a "b"', nonce: 'n1', qop: 'auth,auth-int' } },
    { scheme: 'digest', params: { realm: 'r2', nonce: 'n2' } },
  ]);
});

test('digestAuthorization: RFC 2617 section 3.5 example response', () => {
  const [challenge] = parseChallenges(['Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"']);
  const value = digestAuthorization(challenge!, 'Mufasa', 'Circle Of Life', 'GET', '/dir/index.html', '0a4f113b');
  assert.match(value!, /response="6629fae49393a05397450978507c4ef1"/);
  assert.match(value!, /^Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="\/dir\/index.html", qop=auth, cnonce="0a4f113b", nc=00000001, /);
  assert.match(value!, /opaque="5ccc069c403ebaf9f0171e9517f40e41"$/);
});

test('digestAuthorization: no nonce, or an algorithm other than MD5, cannot be answered', () => {
  assert.equal(digestAuthorization({ scheme: 'digest', params: { realm: 'r' } }, 'u', 'p', 'CONNECT', 'h:1'), undefined);
  assert.equal(digestAuthorization({ scheme: 'digest', params: { realm: 'r', nonce: 'n', algorithm: 'SHA-256' } }, 'u', 'p', 'CONNECT', 'h:1'), undefined);
});
