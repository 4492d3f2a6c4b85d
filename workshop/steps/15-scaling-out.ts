// Step 15: scaling out. Two chat server instances share one room through a shared-state backend. Here the
// backend is this process's memory; give a Redis URL and it is Redis, and each copy of this program you start
// (on any machine) joins the same room.
// Run: node dist/workshop/steps/15-scaling-out.js [port] [redis://host:port/db]
import { MemoryState, connectRedisState, formatChatEvent, parseRedisUrl, startChatServer, type SharedState } from 'socklab';

const port = Number(process.argv[2] ?? 12345);
const redisUrl = process.argv[3];

// The one line that decides how far the room reaches: this process, or every process on one Redis.
const state: SharedState = redisUrl ? await connectRedisState(parseRedisUrl(redisUrl)) : new MemoryState();
state.on('status', (status) => console.log(`shared state ${state.location} is ${status}`));

// Without Redis, two instances in this process show the idea. With Redis, run one per process or machine.
const ports = redisUrl ? [port] : [port, 0];
const servers = await Promise.all(
  ports.map((instancePort, index) =>
    startChatServer({
      port: instancePort,
      mode: 'chat',
      state,
      logMessages: false,
      onEvent: (event) => console.log(`instance ${index + 1}: ${formatChatEvent(event)}`),
    }),
  ),
);
for (const [index, server] of servers.entries()) console.log(`instance ${index + 1} listening on 127.0.0.1:${server.address().port}`);

process.once('SIGINT', async () => {
  await Promise.all(servers.map((server) => server.close()));
  await state.close();
});
