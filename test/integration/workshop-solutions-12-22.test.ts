/**
 * The exercises of chapters 12-22, solved: each solution program runs here against real peers (socklab's own
 * servers and proxy, redis-server, openssl, Python), and each answer recorded in the guide after an
 * `<!-- answer:CH-N -->` marker is re-run and compared. A solution or an answer that stops being true fails here.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { requirePython, step } from '../helpers/grading.js';
import { RedisServer } from '../helpers/redis.js';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { processState, processUsage } from '../helpers/proc.js';
import { available, CLI, ROOT, start, startCliListener, startCliServer, startPeer, type Child } from '../helpers/processes.js';
import { percentiles } from '../../workshop/_scenarios-lab.js';
import { comparable, normalise } from '../../workshop/_transcripts.js';
import { Probe } from '../../src/check/_probe.js';

const guide = readFileSync(`${ROOT}workshop/README.md`, 'utf8');

/** The console block after `<!-- answer:key -->` in the guide, without its `$ command` lines. */
function answer(key: string): string[] {
  const match = new RegExp(`<!-- answer:${key} -->\\n\`\`\`console\\n([^]*?)\`\`\`\\n`).exec(guide);
  assert.ok(match, `the guide has an answer block ${key}`);
  return match[1]!.split('\n').filter((line) => line !== '' && !line.startsWith('$ '));
}

/** The lines of a run, made comparable with the guide's (the server port as 12345, other ports, timings). */
const lines = (text: string, port = 0): string[] => comparable(normalise(text, port)).split('\n').filter(Boolean);
const recorded = (key: string): string[] => answer(key).map((line) => comparable(line));

/**
 * Waits for `child` to exit and for its last output: 'exit' can come before the final 'data' of stdout (seen on a
 * loaded machine), 'close' comes after both streams ended.
 */
async function ended(child: Child, timeoutMs: number): Promise<number | null> {
  const { code } = await child.finish(timeoutMs);
  if (!(child.proc.stdout.closed && child.proc.stderr.closed)) await once(child.proc, 'close');
  return code;
}

/** `npx socklab args` to its end, fed `stdin`. */
async function cli(t: TestContext, args: string[], stdin = '', timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(t, process.execPath, [CLI, ...args]);
  child.input(stdin, true);
  const code = await ended(child, timeoutMs);
  return { code, stdout: child.stdout, stderr: child.stderr };
}

/** Each recorded line of answer `key` is a line of the run (the run may print more: fingerprints, totals). */
function assertRecorded(key: string, text: string, port: number): void {
  const seen = lines(text, port);
  for (const line of recorded(key)) assert.ok(seen.includes(line), `answer ${key}: "${line}" is not in a real run:\n${seen.join('\n')}`);
}

/** A `socklab bench` against a `socklab serve` stopped (SIGSTOP) for 1 s, 1 s after the bench connects: chapter 22. */
async function stalledBench(t: TestContext, args: string[]): Promise<{ code: number | null; text: string }> {
  const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
  const pid = child.proc.pid!;
  t.after(() => void (child.running && process.kill(pid, 'SIGCONT')));
  const bench = start(t, process.execPath, [CLI, 'bench', 'tcp', '127.0.0.1', String(port), '-d', '3000', '--warmup-ms', '500', ...args]);
  // The stall starts 1 s after the bench connected (0.5 s into the measured 3 s), however long it took to start.
  const deadline = performance.now() + 15_000;
  const established = (): string => execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' }).trim();
  while (established() === '' && performance.now() < deadline) await sleep(10);
  await sleep(1000);
  process.kill(pid, 'SIGSTOP');
  await sleep(1000);
  process.kill(pid, 'SIGCONT');
  const code = await ended(bench, 20_000);
  return { code, text: bench.stdout + bench.stderr };
}

const figure = (text: string, label: string): string => text.split('\n').find((line) => line.startsWith(label)) ?? `no "${label}" line in\n${text}`;

/** Runs a solution program: `solutions/NAME.js`, compiled to dist/workshop/. */
const node = (t: TestContext, solution: string, args: string[] = []) => start(t, process.execPath, [`dist/workshop/${solution}`, ...args]);
const portOf = (address: string): number => Number(/:(\d+)$/.exec(address)![1]);

describe('workshop solutions, chapters 12-22', { concurrency: 4 }, () => {
  it('12, exercise 1: udp-client --retries against the seed-like server loses every get, and says why', async (t) => {
    await requirePython();
    const { port } = await startPeer(t, 'seed_udp_server.py', ['0', '0']);
    const run = await cli(t, ['udp-client', '127.0.0.1', String(port), '--retries', '3', '--count', '2', '--timeout-ms', '200']);
    assert.equal(run.code, 1);
    assert.deepEqual(lines(run.stdout + run.stderr, port).sort(), recorded('12-1').sort());
  });

  it('12, exercise 2: 12-request-ids gets every value once through a proxy that drops, duplicates and reorders', async (t) => {
    const { port } = await startCliServer(t, ['udp-serve', '--port', '0', '--delay-ms', '0']);
    const proxy = await startCliListener(t, ['proxy', '--udp', '127.0.0.1', String(port), '--port', '0', '--drop', '20%', '--duplicate', '10%', '--reorder', '10%', '--seed', '1']);
    const child = node(t, 'solutions/12-request-ids.js', [String(portOf(proxy.address)), '20']);
    assert.equal(await ended(child, 20_000), 0, child.stderr);
    assert.equal(child.stdout, '20 of 20 gets answered, each value once: true, increasing: true\nretries sent: some; duplicate or late replies dropped: some\n');
  });

  it('13, exercise 1: a "::" listener sees an IPv4 client as ::ffff:127.0.0.1', async (t) => {
    const child = node(t, 'solutions/13-dual-stack.js');
    assert.equal(await ended(child, 10_000), 0, child.stderr);
    assert.match(child.stdout, /^listening on \[::\]:\d+\nover 127\.0\.0\.1 the server sees ::ffff:127\.0\.0\.1 \(IPv6\)\nover ::1 the server sees ::1 \(IPv6\)\n$/);
  });

  it('21, exercise 1: 21-read-deadline gives up on a black hole after its deadline', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0']);
    const proxy = await startCliListener(t, ['proxy', '127.0.0.1', String(port), '--port', '0', '--black-hole']);
    const child = node(t, 'solutions/21-read-deadline.js', [String(portOf(proxy.address)), '500']);
    child.input('hello\n'); // stdin stays open, as a student's terminal does
    assert.equal(await ended(child, 10_000), 0, child.stderr);
    const [, ms] = /^connected\nno reply for 500 ms: giving up \(the read deadline\)\nclosed after (\d+) ms\n$/.exec(child.stdout) ?? [];
    assert.ok(ms !== undefined && Number(ms) >= 500, child.stdout);
  });

  it('21, exercise 2: through 100 ms of latency each way, each line costs a round trip unless pipelined', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    const proxy = await startCliListener(t, ['proxy', '127.0.0.1', String(port), '--port', '0', '--latency-ms', '100']);
    const timed = async (flags: string[]): Promise<number> => {
      const started = performance.now();
      const run = await cli(t, ['client', '127.0.0.1', String(portOf(proxy.address)), ...flags], 'a\nb\nc\nd\ne\n', 30_000);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.match(/got message/g)?.length, 6, run.stdout); // "ack" and the five lines
      return performance.now() - started;
    };
    const oneByOne = await timed([]);
    const pipelined = await timed(['--pipeline']);
    assert.ok(oneByOne >= 6 * 200, `six round trips of 200 ms take at least 1200 ms: ${oneByOne.toFixed(0)} ms`);
    assert.ok(pipelined < oneByOne, `pipelined ${pipelined.toFixed(0)} ms, one by one ${oneByOne.toFixed(0)} ms`);
  });

  it('21, exercise 3: 21-keepalive-stopped: a stopped server process still answers keepalive probes', async (t) => {
    const child = node(t, 'solutions/21-keepalive-stopped.js');
    assert.equal(await ended(child, 15_000), 0, child.stderr);
    assert.match(child.stdout, /connect succeeded anyway[^]*keepalive probes unanswered: 0\n/);
  });

  it('14, exercise 1: an ncat interrupted with Ctrl-C (SIGINT) leaves the room all the same', async (t) => {
    assert.ok(await available('ncat'), 'ncat is not installed: apt-get install -y ncat');
    const { child: server, port } = await step(t, '14-chat-server');
    const alice = await Probe.open('127.0.0.1', port, 3000);
    t.after(() => alice.destroy());
    alice.write('alice\n');
    await server.waitFor(/alice joined\n/);
    const bob = start(t, 'ncat', ['127.0.0.1', String(port)]);
    await bob.waitFor(/your name\?\n/);
    bob.input('bob\n');
    await server.waitFor(/bob joined\n/);
    bob.proc.kill('SIGINT');
    assert.ok(await alice.until(() => alice.received.includes('* bob left\n'), 5000), alice.received.toString());
  });

  it('14, exercise 4: a member that never reads is cut off past maxBufferedBytes, and the room goes on', async (t) => {
    const { port } = await step(t, '14-chat-server');
    const join = async (name: string): Promise<Probe> => {
      const probe = await Probe.open('127.0.0.1', port, 3000);
      t.after(() => probe.destroy());
      probe.write(`${name}\n`);
      assert.ok(await probe.until(() => probe.received.includes(`hello ${name}`), 5000));
      return probe;
    };
    const sleeper = await join('sleeper');
    sleeper.socket.pause(); // ncat after Ctrl-Z: connected, reading nothing
    const talker = await join('talker');
    const listener = await join('listener');
    listener.tailBytes = 4096;
    const line = `${'x'.repeat(1000)}\n`.repeat(64);
    const deadline = performance.now() + 15_000; // bounded: a room stalled by the sleeper would never drain
    for (let sent = 0; sent < 8 * 1024 * 1024 && performance.now() < deadline; sent += line.length) {
      if (!talker.socket.write(line)) await Promise.race([once(talker.socket, 'drain'), sleep(1000)]);
    }
    talker.write('zq-last\n');
    assert.ok(await listener.until(() => listener.received.includes('zq-last'), 10_000), 'the room goes on');
    sleeper.socket.resume(); // fg: it reads what its kernel had buffered, then finds the connection closed
    assert.ok(await sleeper.ended(10_000), 'the sleeper was cut off');
    assert.ok(sleeper.received.length < 8 * 1024 * 1024, `the sleeper got ${sleeper.received.length} bytes, not all 8 MiB`);
  });

  it('15, exercise 1: two instances on one Redis: both rooms are told when Redis goes and comes back, and the outage is lost', async (t) => {
    const redis = await RedisServer.start(t);
    const [one, two] = await Promise.all([step(t, '15-scaling-out', ['0', redis.url]), step(t, '15-scaling-out', ['0', redis.url])]);
    const join = async (port: number, name: string): Promise<Probe> => {
      const probe = await Probe.open('127.0.0.1', port, 3000);
      t.after(() => probe.destroy());
      probe.write(`/nick ${name}\n`);
      assert.ok(await probe.until(() => probe.received.includes(`you are now ${name}`), 5000), probe.received.toString());
      return probe;
    };
    const alice = await join(one.port, 'alice');
    const bob = await join(two.port, 'bob');
    const heard = (probe: Probe, text: string, ms = 10_000) => probe.until(() => probe.received.includes(text), ms);
    alice.write('zq-before\n');
    assert.ok(await heard(bob, 'alice: zq-before'), 'a line crosses from one instance to the other');
    await redis.kill();
    const [lost] = recorded('15-1');
    assert.ok((await heard(alice, lost!)) && (await heard(bob, lost!)), `both clients are told: ${alice.received}`);
    alice.write('zq-during\n');
    await sleep(500);
    await redis.restart();
    const [, restored] = recorded('15-1');
    assert.ok((await heard(alice, restored!, 20_000)) && (await heard(bob, restored!, 20_000)), `both clients are told: ${bob.received}`);
    alice.write('zq-after\n');
    assert.ok(await heard(bob, 'alice: zq-after'), 'the room spans both instances again');
    assert.ok(!bob.received.includes('zq-during'), 'what was said during the outage is not sent again');
    for (const probe of [alice, bob]) {
      const text = probe.received.toString();
      assert.ok(text.indexOf(lost!) < text.indexOf(restored!), 'lost, then restored');
    }
  });

  it('15, exercise 2: udp-serve --state after kill -9 goes on at 1001, past the block in use', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'socklab-state-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const serve = (port: string) => startCliServer(t, ['udp-serve', '--port', port, '--delay-ms', '0', '--state', join(dir, 'counter.state')]);
    const first = await serve('0');
    const before = await cli(t, ['udp-client', '127.0.0.1', String(first.port), '--count', '3']);
    await first.child.stop('SIGKILL');
    const second = await serve(String(first.port));
    const after = await cli(t, ['udp-client', '127.0.0.1', String(second.port), '--count', '1']);
    assert.deepEqual(lines(before.stdout + after.stdout, first.port), recorded('15-2'));
  });

  it('15, exercise 3: udp-serve --workers 2 answers 100 gets sent at once with 100 different values', async (t) => {
    const { port } = await startCliServer(t, ['udp-serve', '--port', '0', '--delay-ms', '0', '--workers', '2'], 15_000);
    const socket = createSocket('udp4');
    t.after(() => socket.close());
    const values: number[] = [];
    socket.on('message', (data) => values.push(Number(/\d+/.exec(data.toString())?.[0])));
    socket.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    for (let i = 0; i < 100; i++) socket.send('get'); // without waiting for the replies
    const deadline = performance.now() + 10_000;
    while (values.length < 100 && performance.now() < deadline) await sleep(20);
    assert.equal(values.length, 100, 'every get answered');
    assert.equal(new Set(values).size, 100, `each value handed out once: ${values.join(' ')}`); // the order is not promised
  });

  it('16, exercise 1: a TCP proxy in front of a socket file shows the same bytes in hex', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'socklab-unix-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await startCliListener(t, ['serve', '--unix', join(dir, 'demo.sock')]);
    const proxy = await startCliListener(t, ['proxy', '--port', '0', '--upstream-unix', join(dir, 'demo.sock'), '--hex']);
    const probe = await Probe.open('127.0.0.1', portOf(proxy.address), 3000);
    t.after(() => probe.destroy());
    probe.write('hello over a file\n');
    assert.ok(await probe.until(() => probe.received.includes('got message'), 5000), probe.received.toString());
    await proxy.child.waitFor(/\|e\.\|\n/, 5000, 'stderr'); // the dump is on stderr, the log on stdout
    assertRecorded('16-1', proxy.child.stderr, 0);
  });

  it('16, exercise 2: bench tcp runs against the same server over a socket file and over TCP', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'socklab-unix-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await startCliListener(t, ['serve', '--unix', join(dir, 'demo.sock'), '--quiet']);
    const { port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
    for (const target of [['--unix', join(dir, 'demo.sock')], ['127.0.0.1', String(port)]]) {
      const run = await cli(t, ['bench', 'tcp', ...target, '-d', '500', '--warmup-ms', '100'], '', 20_000);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /requests +\d+ \(\d+\/s\)\n[^]*failures +none\n/);
    }
  });

  it('16, exercise 3: socat reaches an abstract name bound by Node only with unix-tightsocklen=0', async (t) => {
    assert.ok(await available('socat'), 'socat is not installed: apt-get install -y socat');
    const name = `socklab-abstract-${process.pid}`;
    await startCliListener(t, ['serve', '--unix', `@${name}`]);
    const socat = async (option: string): Promise<string> => {
      const child = start(t, 'socat', ['-t', '1', 'STDIO', `ABSTRACT-CONNECT:${name}${option}`]);
      await child.waitFor(/\n/, 5000, option === '' ? 'stderr' : 'stdout');
      if (child.running) child.proc.stdin.end(); // refused: socat is gone already
      await ended(child, 5000);
      // socat's own prefix (date, time, pid) and our unique name, as the guide shows them.
      return (child.stdout + child.stderr).replace(/^\S+ \S+ socat\[\d+\] /gm, '').replaceAll(name, 'name').replace(/", \d+\)/, '", 5)');
    };
    const refused = await socat('');
    const greeted = await socat(',unix-tightsocklen=0');
    assert.deepEqual([...lines(refused), ...lines(greeted)], recorded('16-3'));
  });

  it('17, exercise 1: a shell loop of rev answers each line at once (each rev exits, and so flushes)', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0', '--sh-exec', 'while read line; do echo "$line" | rev; done']);
    const probe = await Probe.open('127.0.0.1', port, 3000);
    t.after(() => probe.destroy());
    const session = answer('17-1');
    for (let i = 0; i < session.length; i += 2) {
      probe.write(`${session[i]}\n`); // no FIN: the answer must come while the connection stays open
      assert.ok(await probe.until(() => probe.fresh.includes('\n'), 5000), `no answer to "${session[i]}"`);
      assert.equal(probe.take().toString(), `${session[i + 1]}\n`);
    }
  });

  it('17, exercise 2: sleep 100 outlives a FIN, and --idle-timeout-ms ends it', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--sh-exec', 'sleep 100', '--idle-timeout-ms', '2000']);
    const probe = await Probe.open('127.0.0.1', port, 3000);
    t.after(() => probe.destroy());
    const [, pid] = await child.waitFor(/started sh -c "sleep 100" \(pid (\d+)\)/);
    probe.finish(); // the client's FIN: end of sleep's input, which sleep never reads
    await sleep(1000);
    assert.equal(processState(Number(pid)), 'alive', 'the program still runs a second after the FIN');
    await child.waitFor(/closed \(SL_ERR_IDLE_TIMEOUT\)[^\n]*\n/, 10_000);
    assertRecorded('17-2', `$ x\n${child.stdout}`, port);
  });

  it('17, exercise 3: serve --exec yes with a client that never reads: the server does not grow', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--exec', 'yes']);
    const client = connect({ port, host: '127.0.0.1' });
    t.after(() => client.destroy());
    client.pause(); // never reads
    await child.waitFor(/started yes/);
    await sleep(500);
    const before = processUsage(child.proc.pid!).rssKiB;
    await sleep(2500);
    const after = processUsage(child.proc.pid!).rssKiB;
    assert.ok(after - before < 16 * 1024, `the server grew from ${before} KiB to ${after} KiB`);
  });

  it('18, exercise 1: client --tls to a plaintext server: "answered in plaintext"', async (t) => {
    const { port } = await startCliServer(t, ['serve', '--port', '0']);
    const run = await cli(t, ['client', '--tls', '127.0.0.1', String(port)]);
    assert.equal(run.code, 1);
    assertRecorded('18-1', run.stdout + run.stderr, port);
  });

  it('18, exercise 2: openssl s_client -tls1_2 against --tls-min 1.3: a protocol version alert, logged by both', async (t) => {
    assert.ok(await available('openssl'), 'openssl is not installed: apt-get install -y openssl');
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--tls-min', '1.3'], 15_000);
    const openssl = start(t, 'openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2']);
    openssl.input('', true);
    assert.equal(await ended(openssl, 10_000), 1);
    assert.match(openssl.stdout + openssl.stderr, /tlsv1 alert protocol version/);
    await child.waitFor(/SL_ERR_TLS_PROTOCOL_VERSION\]\n/);
    assertRecorded('18-2', child.stdout, port);
  });

  it('18, exercise 3: a client silent after connect is dropped after --handshake-timeout-ms', async (t) => {
    const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--tls', '--handshake-timeout-ms', '2000'], 15_000);
    const probe = await Probe.open('127.0.0.1', port, 3000);
    t.after(() => probe.destroy());
    const started = performance.now();
    assert.ok(await probe.ended(10_000), 'the server never dropped the silent client');
    assert.ok(performance.now() - started >= 1900, 'dropped before the 2 s limit');
    await child.waitFor(/SL_ERR_TLS_HANDSHAKE_TIMEOUT\]\n/);
    assertRecorded('18-3', child.stdout, port);
  });

  it('22, exercise 1: at --rate 50 the corrected p90 and p99 are what S - (1 - p)D predicts, as at 200/s', async (t) => {
    const { code, text } = await stalledBench(t, ['-c', '1', '--rate', '50']);
    assert.equal(code, 0, text);
    const corrected = percentiles(text, 'latency from intended time');
    // The stall as the bench saw it: a loaded machine stretches the 1 s, and a generator running late shortens it.
    const S = corrected.max;
    assert.ok(S >= 800 && S <= 1600, `max ${S} ms\n${text}`);
    assert.ok(Math.abs(corrected.p90 - (S - 300)) <= 200, `p90 ${corrected.p90} ms, predicted ${S - 300}\n${text}`);
    assert.ok(Math.abs(corrected.p99 - (S - 30)) <= 150, `p99 ${corrected.p99} ms, predicted ${S - 30}\n${text}`);
  });

  it('22, exercise 2: --on-behind drop drops what falls due during the stall, counts it, and fails the run', async (t) => {
    const { code, text } = await stalledBench(t, ['-c', '1', '--rate', '200', '--on-behind', 'drop']);
    assert.equal(code, 1, text);
    const [, scheduled, completed, warmSent, warmPlanned] = /scheduled \/ sent \/ completed +(\d+) \/ \d+ \/ (\d+) \(warm-up (\d+) of (\d+)/.exec(text) ?? [];
    const [, dropped] = /failures +dropped (\d+)/.exec(text) ?? [];
    assert.equal(scheduled, '600', figure(text, 'scheduled'));
    assert.ok(Number(dropped) >= 100 && Number(dropped) <= 350, `about 200 (1 s at 200/s) dropped: ${figure(text, 'failures')}`);
    // Every request planned was answered or dropped: the dropped count includes the warm-up's.
    assert.equal(Number(completed) + Number(dropped), 600 + Number(warmPlanned) - Number(warmSent), `completed + dropped = all planned\n${text}`);
    assert.match(text, /SL_ERR_BENCH_FAILED/);
    // The guide's recording, by shape: every figure differs from run to run.
    const shape = (line: string): string => line.replace(/\d+(\.\d+)?/g, '#');
    const seen = lines(text).map(shape);
    for (const line of recorded('22-2').map(shape)) assert.ok(seen.includes(line), `answer 22-2: "${line}" is not in a real run:\n${text}`);
  });

  it('22, exercise 3: with -c 4 the stall costs the same (all four connections wait on the one stopped process)', async (t) => {
    const { code, text } = await stalledBench(t, ['-c', '4', '--rate', '200']);
    assert.equal(code, 0, text);
    const corrected = percentiles(text, 'latency from intended time');
    const S = corrected.max;
    assert.ok(S >= 800 && S <= 1600, `max ${S} ms\n${text}`);
    assert.ok(Math.abs(corrected.p90 - (S - 300)) <= 200, `p90 ${corrected.p90} ms, predicted ${S - 300}\n${text}`);
  });
});
