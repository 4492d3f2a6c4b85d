/**
 * The "Run it" sessions of the guide. Each scenario drives one or more terminals step by step, waiting for
 * output before typing, so the recording comes out the same on every run (up to ports and timings). Servers
 * run on port 0 (shown without it, as 12345), so runs in parallel never collide.
 */
import type { Scenario } from './_transcripts.js';
export type { Scenario } from './_transcripts.js';
import { LAB_SCENARIOS } from './_scenarios-lab.js';

/** A step that runs on its own in one terminal (it plays both ends itself). */
function singleProgram(id: string, step: string): Scenario {
  return { id, run: async (s) => s.terminal('terminal').step(step).exited() };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'probe',
    async run(s) {
      const server = s.terminal('server').socklab(['serve', '--port', '0', '--quiet'], ['serve']);
      const port = String(await s.server(server));
      const probe = s.terminal('probe').step('01-probe', ['localhost', port]);
      await probe.exited();
      await probe.step('01-probe', ['127.0.0.1', '1']).exited();
      await probe.step('01-probe', ['no-such-host.invalid']).exited();
      await probe.socklab(['probe', '127.0.0.1', port]).exited();
      await server.waitFor(/closed \([^)]*\)\n[\s\S]*closed \([^)]*\)\n/); // both probes that connected
      await server.interrupt();
    },
  },
  {
    id: 'greeting-server',
    async run(s) {
      const server = s.terminal('server').step('02-greeting-server', ['0'], []);
      const port = String(await s.server(server));
      const client = s.terminal('client').start('ncat 127.0.0.1 12345', 'ncat', ['127.0.0.1', port]);
      await client.waitFor(/connecting\n/);
      await client.eof().exited();
      await server.exited();
    },
  },
  {
    id: 'message-server',
    async run(s) {
      const server = s.terminal('server').step('03-message-server', ['0'], []);
      const port = String(await s.server(server));
      const client = s.terminal('client').start('ncat 127.0.0.1 12345', 'ncat', ['127.0.0.1', port]);
      await client.waitFor(/connecting\n/);
      client.type('hello world');
      await client.waitFor(/got your message\n/);
      client.type('quit');
      await client.waitFor(/(got your message\n){2}/);
      await client.eof().exited();
      await server.exited();
    },
  },
  {
    id: 'client',
    async run(s) {
      const server = s.terminal('server').step('03-message-server', ['0'], []);
      const port = String(await s.server(server));
      const client = s.terminal('client').step('04-client', [port], []);
      await client.waitFor(/connecting\ngot your message\n/);
      client.type('hello world');
      await client.waitFor(/(got your message\n){2}/);
      client.type('quit');
      await client.exited();
      await server.exited();
    },
  },
  {
    id: 'sequential-server',
    async run(s) {
      const server = s.terminal('server').step('05-sequential-server', ['0'], []);
      const port = String(await s.server(server));
      const first = s.terminal('first client').step('04-client', [port], []);
      await first.waitFor(/got your message\n/);
      const second = s.terminal('second client').step('04-client', [port], []);
      await server.waitFor(/waits \(1 in line\)/);
      second.type('hello? anyone?');
      first.type('hello world');
      await first.waitFor(/(got your message\n){2}/);
      first.type('quit');
      await first.exited();
      await second.waitFor(/(got your message\n){2}/);
      second.type('quit');
      await second.exited();
      await server.waitFor(/(left\n[^]*){2}/);
      await server.interrupt();
    },
  },
  {
    id: 'concurrent-server',
    async run(s) {
      const server = s.terminal('server').step('06-concurrent-server', ['0'], []);
      const port = String(await s.server(server));
      const first = s.terminal('first client').step('04-client', [port], []);
      await first.waitFor(/got message\n/);
      const second = s.terminal('second client').socklab(['client', '127.0.0.1', port, '--greeting-wait-ms', '100'], ['client', '127.0.0.1', '12345']);
      await second.waitFor(/got message\n/);
      first.type('hello world');
      await first.waitFor(/(got message\n){2}/);
      second.type('how are you');
      await second.waitFor(/(got message\n){2}/);
      first.type('quit');
      await first.exited();
      second.type('quit');
      await second.exited();
      await server.waitFor(/(closed: [^]*){2}/);
      await server.interrupt();
    },
  },
  singleProgram('byte-stream', '07-byte-stream'),
  singleProgram('half-close', '08-half-close'),
  singleProgram('errors', '09-errors'),
  {
    id: 'udp',
    async run(s) {
      const server = s.terminal('server').step('10-udp-counter-server', ['0'], []);
      const port = String(await s.server(server));
      await s.terminal('client').step('11-udp-client', [port, '3'], ['12345', '3']).exited();
      await server.interrupt();
    },
  },
  {
    id: 'udp-cli',
    async run(s) {
      const server = s.terminal('server').socklab(['udp-serve', '--port', '0'], ['udp-serve']);
      const port = String(await s.server(server));
      const client = s.terminal('client');
      await client.socklab(['udp-client', '127.0.0.1', port, '--count', '2', '--interval-ms', '0'], ['udp-client', '--count', '2', '--interval-ms', '0']).exited();
      await server.waitFor(/sending 2/);
      await server.interrupt();
    },
  },
  singleProgram('udp-realities', '12-udp-realities'),
  singleProgram('ipv6', '13-ipv6'),
  singleProgram('tls', '18-tls'),
  {
    id: 'chat',
    async run(s) {
      const server = s.terminal('server').step('14-chat-server', ['0'], []);
      const port = String(await s.server(server));
      const alice = s.terminal('alice').start('ncat 127.0.0.1 12345', 'ncat', ['127.0.0.1', port]);
      await alice.waitFor(/your name\?\n/);
      alice.type('alice');
      await alice.waitFor(/0 other\(s\) here\n/);
      const bob = s.terminal('bob').start('ncat 127.0.0.1 12345', 'ncat', ['127.0.0.1', port]);
      await bob.waitFor(/your name\?\n/);
      bob.type('bob');
      await alice.waitFor(/\* bob joined\n/);
      alice.type('hi bob');
      await bob.waitFor(/\[alice\] hi bob\n/);
      bob.type('hi alice, bye');
      await alice.waitFor(/\[bob\] hi alice, bye\n/);
      bob.type('quit');
      await bob.eof().exited();
      await alice.waitFor(/\* bob left\n/);
      alice.type('quit');
      await alice.eof().exited();
      await server.waitFor(/alice left\n/);
      await server.interrupt();
    },
  },
  {
    id: 'scaling-out',
    async run(s) {
      const server = s.terminal('server').step('15-scaling-out', ['0'], []);
      const port = String(await s.server(server));
      const [, second] = await server.waitFor(/instance 2 listening on \S+:(\d+)/);
      const alice = s.terminal('alice').start('ncat 127.0.0.1 12345', 'ncat', ['127.0.0.1', port]);
      await alice.waitFor(/\* you are .*\n/);
      alice.type('/nick alice');
      await alice.waitFor(/you are now alice\n/);
      // Instance 2 listens on a free port; the server terminal shows it normalised as 50001, so bob's shows the same.
      const bob = s.terminal('bob').start('ncat 127.0.0.1 50001', 'ncat', ['127.0.0.1', second!]);
      await bob.waitFor(/\* you are .*\n/);
      await alice.waitFor(/joined\n/);
      bob.type('/nick bob');
      await alice.waitFor(/is now bob\n/);
      alice.type('hi bob, from instance 1');
      await bob.waitFor(/alice: hi bob, from instance 1\n/);
      bob.type('hi alice, from instance 2');
      await alice.waitFor(/bob: hi alice, from instance 2\n/);
      bob.type('quit');
      await bob.eof().exited();
      await alice.waitFor(/\* bob left\n/);
      alice.type('quit');
      await alice.eof().exited();
      await server.waitFor(/instance 1: \S+ left/);
      await server.interrupt();
    },
  },
  singleProgram('unix-socket', '16-unix-socket'),
  {
    id: 'unix-cli',
    async run(s) {
      // A path inside the checkout: unique to it, and short enough for sun_path (108 bytes).
      const server = s.terminal('server').socklab(['serve', '--unix', 'dist/demo.sock']);
      await server.waitFor(/listening on unix:/);
      const client = s.terminal('client').start('ncat -U dist/demo.sock', 'ncat', ['-U', 'dist/demo.sock']);
      await client.waitFor(/connected to server\n/);
      client.type('hello over a file');
      await client.waitFor(/got message\n/);
      await client.eof().exited();
      await server.waitFor(/closed/);
      await server.interrupt();
    },
  },
  singleProgram('inetd', '17-inetd'),
  {
    id: 'time-wait',
    // Once more if the step saw no TIME-WAIT: on a machine whose table of them is full, the kernel keeps none.
    async run(s) {
      for (let attempt = 1; ; attempt++) {
        const terminal = s.terminal('terminal').step('19-time-wait');
        await terminal.exited();
        if (attempt === 2 || !terminal.text.includes('after 5 s;')) return;
      }
    },
  },
  {
    id: 'inetd-cli',
    async run(s) {
      const server = s.terminal('server').socklab(['serve', '--port', '0', '--exec', 'tr a-z A-Z'], ['serve', '--exec', "'tr a-z A-Z'"]);
      const port = String(await s.server(server));
      const client = s.terminal('client').start('ncat 127.0.0.1 12345', 'ncat', ['127.0.0.1', port]);
      client.type('shout this');
      // tr writes to a pipe, so it buffers: the answer comes when its input ends (our Ctrl-D, carried as FIN).
      client.eof();
      await client.waitFor(/SHOUT THIS\n/);
      await client.exited();
      await server.waitFor(/closed \(program exited\)/);
      await server.interrupt();
    },
  },
  ...LAB_SCENARIOS, // chapters 20-22
  // chapters 23-25 (DNS, under the event loop, multicast)
  singleProgram('dns', '23-dns'),
  singleProgram('readiness', '24-readiness'),
  {
    id: 'selectors-echo',
    async run(s) {
      const server = s.terminal('server').start('python3 workshop/solutions/24_selectors_echo.py', 'python3', ['-u', 'workshop/solutions/24_selectors_echo.py', '0']);
      const port = String(await s.server(server));
      await s.terminal('check').socklab(['check', 'echo', port], ['check', 'echo', '12345']).exited();
      await server.interrupt();
    },
  },
  singleProgram('multicast', '25-multicast'),
];
