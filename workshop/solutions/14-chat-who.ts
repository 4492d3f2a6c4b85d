// Solution to chapter 14, exercises 2 and 3: names must be new and short, and /who lists the room.
// Graded by: npx socklab check chat 12345 (and the tests try /who and a taken name)
// Run: node dist/workshop/solutions/14-chat-who.js [port]
import { listenTcp, type SocklabError, type TcpConnection } from 'socklab';

const port = Number(process.argv[2] ?? 12345);
const names = new Map<TcpConnection, string>();
const broadcast = (from: TcpConnection, text: string): void => {
  for (const [conn] of names) if (conn !== from && conn.state === 'open') conn.send(text);
};

const server = await listenTcp({ host: '127.0.0.1', port, framing: 'line', maxMessageBytes: 1024 }).catch((err: SocklabError) => {
  console.log(`${err.message} [${err.code}]`);
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
        if (text === '' || text.length > 20 || [...names.values()].includes(text)) {
          conn.send(text.length > 20 ? 'names have at most 20 characters, try another' : 'that name is taken, try another');
          continue;
        }
        names.set(conn, text);
        conn.send(`hello ${text}, ${names.size - 1} other(s) here`);
        broadcast(conn, `* ${text} joined`);
      } else if (text === 'quit') {
        break;
      } else if (text === '/who') {
        conn.send(`here: ${[...names.values()].join(', ')}`);
      } else {
        broadcast(conn, `[${name}] ${text}`);
      }
    }
    const name = names.get(conn);
    names.delete(conn);
    if (name !== undefined) broadcast(conn, `* ${name} left`);
    await conn.close();
  })();
}
