// Solution to chapter 21, exercise 3: keepalive probes are answered by the peer's kernel, not by the program. A
// server process stopped with SIGSTOP runs no code at all, yet its kernel completes our handshake (the listen
// queue) and answers every probe, so "unanswered probes: 0" says the host is up, nothing about the program.
// Run: node dist/workshop/solutions/21-keepalive-stopped.js   (needs ss, from iproute2)
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// The server: another process, which prints its port and is then stopped.
const server = spawn(process.execPath, ['-e', "require('net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port) })"]);
const [line] = (await once(server.stdout, 'data')) as [Buffer];
server.kill('SIGSTOP');
console.log('the server process is stopped (SIGSTOP): it runs no code');

const client = connect({ port: Number(line.toString()), host: '127.0.0.1' });
await once(client, 'connect');
console.log('connect succeeded anyway: its kernel completed the handshake');
client.setKeepAlive(true, 1000); // a probe after 1 s idle, then every 1 s (Node's TCP_KEEPINTVL)
await sleep(3500);
const timer = execFileSync('ss', ['-Htno', `( sport = :${client.localPort} )`], { encoding: 'utf8' });
const [, probes] = /timer:\(keepalive,[^,]*,(\d+)\)/.exec(timer) ?? [];
console.log(`after 3.5 s idle, keepalive probes unanswered: ${probes ?? 'no timer'}`);
console.log('so the probes were answered by the kernel: keepalive finds a dead host, never a stuck program');
client.destroy();
server.kill('SIGKILL');
