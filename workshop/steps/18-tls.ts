// Step 18: TLS on top of TCP. One TLS server with a certificate made at start, and four clients: one that
// trusts nothing it was not told to, one that pins the certificate, one that pins the wrong one, and one that
// forgets TLS altogether. Each shows what the handshake proves, or why it refused.
// Run: node dist/workshop/steps/18-tls.js
import { connectTcp, generateSelfSigned, listenTcp, SocklabError } from 'socklab';

// The server's identity: a key pair, and a certificate binding the public key to names. Self-signed, so no
// authority vouches for it; a client can only trust it if it was told about it (the fingerprint).
const { cert, key, summary } = await generateSelfSigned(['localhost', '127.0.0.1']);
console.log(`certificate for ${summary.names.join(', ')}, self-signed: ${summary.selfSigned}`);

const server = await listenTcp({ port: 0, framing: 'line', tls: { cert, key } });
/** The server's side of a failed handshake: it arrives a moment after the client gave up. */
const serverSaw = (): Promise<string> =>
  new Promise((resolve) => server.once('tlsError', (error) => resolve(`   the server logged: ${error.code}`)));
server.on('connection', (conn) => conn.on('message', (m) => conn.send(`echo ${m.toString()}`)));
const port = server.address().port;

async function attempt(label: string, tls: Parameters<typeof connectTcp>[0]['tls']): Promise<void> {
  try {
    await using conn = await connectTcp({ host: 'localhost', port, tls });
    const socket = conn.socket as import('node:tls').TLSSocket;
    conn.send('hello');
    for await (const reply of conn.messages()) {
      console.log(`${label}: ${socket.getProtocol()}, got "${reply.toString()}"`);
      break;
    }
  } catch (err) {
    const logged = serverSaw();
    console.log(`${label}: refused, ${(err as SocklabError).code}`);
    console.log(await logged);
  }
}

// 1. Verification on (the default): the chain must lead to a CA this machine trusts. Ours leads nowhere.
await attempt('1. verify against the CA list', true);
// 2. Pinning: "I know this exact certificate". The pin replaces the CA and name checks.
await attempt('2. pinned fingerprint', { fingerprint: summary.fingerprint256 });
// 3. A wrong pin: the certificate is fine, but it is not the one we expected. Someone may be in between.
await attempt('3. wrong pin', { fingerprint: `sha256:${'00:'.repeat(31)}00` });
// 4. No TLS at all: the server reads our "hello" where it expected a ClientHello, and hangs up.
const logged = serverSaw();
const plain = await connectTcp({ host: 'localhost', port });
plain.send('hello');
for await (const reply of plain.messages()) console.log(`never: ${reply.toString()}`);
console.log('4. plaintext client: the server closed the connection without a word');
console.log(await logged);
await server.close();
