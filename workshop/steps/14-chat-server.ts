// Step 14 (closing exercise): a chat server on the socklab library. The first line a client sends is its
// name; every later line goes to everyone else.
// Run: node dist/workshop/steps/14-chat-server.js [port]
import { listenTcp, type SocklabError, type TcpConnection } from 'socklab';

const port = Number(process.argv[2] ?? 12345);
const names = new Map<TcpConnection, string>();

function broadcast(from: TcpConnection, text: string): void {
  for (const [conn] of names) if (conn !== from && conn.state === 'open') conn.send(text);
}

const server = await listenTcp({ host: '127.0.0.1', port, framing: 'line', maxMessageBytes: 1024 }).catch((err: SocklabError) => {
  console.log(`${err.message} [${err.code}]`); // e.g. the port is taken: one line, not a stack trace
  process.exit(1);
});
console.log(`listening on 127.0.0.1:${server.address().port}`);

for await (const conn of server) {
  conn.send('welcome! your name?');
  void (async () => {
    for await (const message of conn.messages()) {
      const text = message.toString().trim();
      const name = names.get(conn);
      if (name === undefined) {
        names.set(conn, text);
        console.log(`${text} joined`);
        conn.send(`hello ${text}, ${names.size - 1} other(s) here`);
        broadcast(conn, `* ${text} joined`);
      } else if (text === 'quit') {
        break; // leaving the loop closes the connection
      } else {
        broadcast(conn, `[${name}] ${text}`);
      }
    }
    const name = names.get(conn);
    names.delete(conn);
    if (name !== undefined) {
      // Tell the room first: close() sends our FIN and then waits for the client's, which a client such as
      // ncat sends only when its user presses Ctrl-D (or after a grace period).
      console.log(`${name} left`);
      broadcast(conn, `* ${name} left`);
    }
    await conn.close();
  })();
}
