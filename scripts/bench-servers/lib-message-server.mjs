// socklab's message server from the library with no event log at all (no connected/closed lines): beside
// `socklab serve --quiet`, what those two lines per connection cost. Usage: lib-message-server.mjs <port>.
// Prints "listening <port>".
import { startMessageServer } from '../../dist/src/apps/message-server.js';

const server = await startMessageServer({ port: Number(process.argv[2] ?? 0), logMessages: false, maxConnections: 20_000 });
console.log(`listening ${server.address().port}`);
