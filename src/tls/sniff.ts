/**
 * Recognising TLS from its first bytes. Every TLS record starts with a content type (22 handshake, 21 alert)
 * and a legacy version whose major byte is 3 (RFC 8446 §5.1), so 0x16 0x03 opens every ClientHello and
 * ServerHello, and 0x15 0x03 an alert. Text protocols never start that way: 0x16 is a control character.
 */
const HANDSHAKE = 0x16;
const ALERT = 0x15;
const MAJOR = 0x03;

/** True when `bytes` begin like a TLS handshake record (a ClientHello on a plaintext port). */
export function looksLikeTlsHandshake(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === HANDSHAKE && bytes[1] === MAJOR && (bytes.length < 3 || bytes[2]! <= 0x04);
}

/** True when `bytes` begin like any TLS record a server sends first (a handshake or an alert). */
export function looksLikeTlsRecord(bytes: Uint8Array): boolean {
  return looksLikeTlsHandshake(bytes) || (bytes.length >= 2 && bytes[0] === ALERT && bytes[1] === MAJOR);
}
