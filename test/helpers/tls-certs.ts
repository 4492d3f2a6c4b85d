import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { generate } from 'selfsigned';

/** A PEM certificate and key, and the files they were written to. */
export interface CertFiles {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

const DAY = 86_400_000;

function altNames(names: readonly string[]): Array<{ type: 2; value: string } | { type: 7; ip: string }> {
  return names.map((name) => (isIP(name) === 0 ? { type: 2 as const, value: name } : { type: 7 as const, ip: name }));
}

/**
 * The certificates the TLS tests need, made fresh in a temp dir (removed after the test): a CA, and leaves it
 * signed that are good, expired, not yet valid, or for another name; and a second CA nobody trusts.
 */
export async function makeCertificates(t: TestContext): Promise<{
  dir: string;
  ca: CertFiles;
  good: CertFiles;
  expired: CertFiles;
  future: CertFiles;
  wrongName: CertFiles;
  unknownCa: CertFiles;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const save = (name: string, cert: string, key: string): CertFiles => {
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    writeFileSync(certFile, cert);
    writeFileSync(keyFile, key);
    return { cert, key, certFile, keyFile };
  };
  const makeCa = async (name: string): Promise<CertFiles> => {
    const pems = await generate([{ name: 'commonName', value: name }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate: new Date(Date.now() - 10 * DAY),
      notAfterDate: new Date(Date.now() + 3650 * DAY),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    return save(name, pems.cert, pems.private);
  };
  const makeLeaf = async (name: string, issuer: CertFiles, names: readonly string[], fromDays: number, toDays: number): Promise<CertFiles> => {
    const pems = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate: new Date(Date.now() + fromDays * DAY),
      notAfterDate: new Date(Date.now() + toDays * DAY),
      ca: { cert: issuer.cert, key: issuer.key },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: altNames(names) },
      ],
    });
    return save(name, pems.cert, pems.private);
  };
  const ca = await makeCa('socklab test CA');
  const other = await makeCa('nobody trusts this CA');
  const local = ['localhost', '127.0.0.1', '::1'];
  const [good, expired, future, wrongName, unknownCa] = await Promise.all([
    makeLeaf('good', ca, local, -1, 30),
    makeLeaf('expired', ca, local, -30, -2),
    makeLeaf('future', ca, local, 5, 30),
    makeLeaf('wrong-name', ca, ['other.example', '192.0.2.1'], -1, 30),
    makeLeaf('unknown-ca', other, local, -1, 30),
  ]);
  return { dir, ca, good, expired, future, wrongName, unknownCa };
}
