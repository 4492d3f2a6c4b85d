import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksLikeTlsHandshake, looksLikeTlsRecord } from './sniff.js';

test('a ClientHello record start is recognised, text and other binary are not', () => {
  assert.equal(looksLikeTlsHandshake(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])), true);
  assert.equal(looksLikeTlsHandshake(Buffer.from([0x16, 0x03])), true);
  assert.equal(looksLikeTlsHandshake(Buffer.from([0x16, 0x03, 0x09])), false, 'no such TLS version');
  assert.equal(looksLikeTlsHandshake(Buffer.from('hello\n')), false);
  assert.equal(looksLikeTlsHandshake(Buffer.from('GET / HTTP/1.1\r\n')), false);
  assert.equal(looksLikeTlsHandshake(Buffer.from([0x16])), false, 'one byte is not enough to tell');
  assert.equal(looksLikeTlsHandshake(Buffer.alloc(0)), false);
});

test('an alert record is a TLS record but not a handshake', () => {
  const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
  assert.equal(looksLikeTlsRecord(alert), true);
  assert.equal(looksLikeTlsHandshake(alert), false);
  assert.equal(looksLikeTlsRecord(Buffer.from('connected to server\n')), false);
});
