/**
 * The "Run it" sessions of chapters 20-22 (HTTP by hand, TCP under loss, coordinated omission), appended to
 * SCENARIOS in _scenarios.ts. Chapter 22's figures are timings: its transcripts are compared by shape and its
 * numbers checked against the arithmetic of the schedule (`check`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Scenario, Session, Terminal } from './_transcripts.js';

/** What a real HTTP server's answer carries that changes on every run: dates, and the Python version. */
function steady(terminal: Terminal): void {
  terminal.text = terminal.text
    .replaceAll('\r', '') // CRLF on the wire; a terminal shows the line break only
    .replace(/(Date|Last-Modified): \w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT/g, '$1: Fri, 04 Dec 2026 10:00:00 GMT')
    .replace(/\[\d\d\/\w{3}\/\d{4} [\d:]{8}\]/g, '[04/Dec/2026 10:00:00]')
    .replace(/Python\/\d+\.\d+\.\d+/g, 'Python/3.11.7');
}

/** Starts python's http.server on a free port (shown as 12345) serving workshop/www/. */
async function httpServer(s: Session): Promise<{ server: Terminal; port: string }> {
  const args = ['-m', 'http.server', '--bind', '127.0.0.1', '--protocol', 'HTTP/1.1', '--directory', 'workshop/www'];
  const server = s.terminal('server').start(`python3 ${args.join(' ')} 12345`, 'python3', ['-u', ...args, '0']);
  const [, port] = await server.waitFor(/Serving HTTP on \S+ port (\d+)/);
  s.port = Number(port);
  return { server, port: port! };
}

/** Waits (up to 10 s) until the terminal shows `pattern`, on stdout or stderr. */
async function shown(terminal: Terminal, pattern: RegExp): Promise<void> {
  for (let tries = 0; tries < 1000 && !pattern.test(terminal.text); tries++) await sleep(10);
  assert.match(terminal.text, pattern);
}

/** Waits (up to 10 s) until a client holds an established connection to `port` (the server logs nothing). */
async function connected(port: string): Promise<void> {
  const established = (): string => execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' }).trim();
  for (let tries = 0; tries < 1000 && established() === ''; tries++) await sleep(10);
  assert.notEqual(established(), '', `no client connected to ${port}`);
}

/** `printf '<request>' | npx socklab nc [flags] 127.0.0.1 <port>`, as typed, run through sh. */
function printfNc(terminal: Terminal, request: string, flags: string[], port: string, shownPort = '12345'): Terminal {
  const nc = (p: string): string => ['npx socklab nc', ...flags, '127.0.0.1', p].join(' ');
  return terminal.start(`printf '${request}' | ${nc(shownPort)}`, 'sh', ['-c', `printf '${request}' | ${nc(port).replace('npx socklab', `"${process.execPath}" bin/socklab.cjs`)}`]);
}

/** Numbers as `#` and warning lines left out: what a timing transcript must keep from run to run is its shape. */
export function shape(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('warning'))
    .join('\n')
    .replace(/\d+(?:[.,]\d+)*/g, '#')
    .replace(/# (?:ms|µs|s)\b/g, '# t');
}

/** Milliseconds of a `p50 / p90 / p99 / p99.9 / max  a ms / b ms / …` line, by percentile. */
export function percentiles(text: string, label: string): Record<'p50' | 'p90' | 'p99' | 'max', number> {
  const line = text.split('\n').find((candidate) => candidate.startsWith(label));
  assert.ok(line, `no "${label}" line in\n${text}`);
  const values = line.slice(line.lastIndexOf('max') + 3).split('/').map((part) => {
    const [, n, unit] = /([\d.]+) (ms|µs|s)/.exec(part)!;
    return Number(n) * (unit === 's' ? 1000 : unit === 'µs' ? 0.001 : 1);
  });
  return { p50: values[0]!, p90: values[1]!, p99: values[2]!, max: values[4]! };
}

const between = (value: number, low: number, high: number, what: string): void =>
  assert.ok(value >= low && value <= high, `${what}: ${value} ms, expected ${low} … ${high} ms`);

export const LAB_SCENARIOS: readonly Scenario[] = [
  {
    id: 'http-by-hand',
    async run(s) {
      const { server, port } = await httpServer(s);
      const client = s.terminal('client');
      const get = 'GET /hello.txt HTTP/1.1\\r\\nHost: localhost\\r\\n';
      await printfNc(client, `${get}Connection: close\\r\\n\\r\\n`, [], port).exited();
      // Without "Connection: close" the server keeps the connection for the next request; --no-shutdown keeps
      // ours open too (no FIN at the end of input), so only the idle timeout ends the session.
      await printfNc(client, `${get}\\r\\n`, ['--no-shutdown', '-i', '1s'], port).exited();
      await printfNc(client, 'GET /hello.txt HTTP/1.1\\nHost: localhost\\nConnection: close\\n\\n', ['-C'], port).exited();
      await client.step('20-http-client', [port, '/hello.txt'], ['12345', '/hello.txt']).exited();
      await shown(server, /(HTTP\/1\.1" 200[^]*){5}/); // python logs each request to stderr
      await server.interrupt();
      for (const terminal of s.terminals.values()) steady(terminal);
    },
  },
  {
    id: 'http-chunked',
    async run(s) {
      const server = s.terminal('server').start('python3 test/peers/http_keepalive.py', 'python3', ['-u', 'test/peers/http_keepalive.py']);
      const [, port] = await server.waitFor(/listening (\d+)/);
      s.port = Number(port);
      const client = s.terminal('client');
      await printfNc(client, 'GET /chunked HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n', [], port!).exited();
      // The peer's ^C is a Python traceback: it is left running here, and ended (not shown) when the session closes.
      for (const terminal of s.terminals.values()) steady(terminal);
    },
  },
  { id: 'under-loss', run: async (s) => s.terminal('terminal').step('21-under-loss').exited() },
  {
    id: 'proxy-black-hole',
    async run(s) {
      const server = s.terminal('server').socklab(['serve', '--mode', 'echo', '--port', '0'], ['serve', '--mode', 'echo']);
      const port = String(await s.server(server));
      const proxy = s.terminal('proxy').socklab(['proxy', '127.0.0.1', port, '--port', '0', '--black-hole', '--seed', '1'], ['proxy', '127.0.0.1', '12345', '--black-hole', '--seed', '1']);
      const [, proxyPort] = await proxy.waitFor(/listening on \S+:(\d+)/);
      // The proxy terminal shows its port normalised as 50001 (the first port after an address), so the client shows the same.
      const client = s.terminal('client').socklab(['nc', '-i', '1s', '127.0.0.1', proxyPort!], ['nc', '-i', '1s', '127.0.0.1', '50001']);
      await proxy.waitFor(/#1 \S+ connected\n/);
      client.type('hello');
      await client.exited();
      await proxy.waitFor(/#1 closed: .*\n/); // the proxy's log is batched: its last line may come after nc exited
      await proxy.interrupt();
      await server.interrupt();
    },
  },
  {
    id: 'coordinated-omission',
    shape,
    async run(s) {
      const server = s.terminal('server').socklab(['serve', '--port', '0', '--quiet'], ['serve', '--quiet']);
      const port = String(await s.server(server));
      const pid = String(server.child.proc.pid);
      const stall = s.terminal('stall');
      const bench = s.terminal('bench');
      for (const rate of [['--rate', '200'], []]) {
        bench.socklab(['bench', 'tcp', '127.0.0.1', port, '-c', '1', ...rate, '-d', '3000', '--warmup-ms', '500'], ['bench', 'tcp', '127.0.0.1', '12345', '-c', '1', ...rate, '-d', '3000', '--warmup-ms', '500']);
        await connected(port); // the stall starts 1 s after the bench connected: 0.5 s into the measured 3 s
        stall.start('sleep 1; kill -STOP $SERVER; sleep 1; kill -CONT $SERVER', 'sh', ['-c', `sleep 1; kill -STOP ${pid}; sleep 1; kill -CONT ${pid}`]);
        const stopped = stall.child;
        await bench.exited();
        assert.equal((await stopped.finish(5000)).code, 0, 'the stall (kill -STOP, kill -CONT) failed');
      }
      await server.interrupt();
    },
    check(transcripts) {
      // D = 3 s measured at R = 200/s: N = 600 due; the ≈ 200 due in the S ≈ 1 s stall wait S − k/R, so the
      // p-th corrected percentile is S − (1 − p)·D: p90 ≈ 1000 − 300 = 700 ms, p99 ≈ 1000 − 30 = 970 ms, max ≈ S.
      const text = transcripts.get('coordinated-omission:bench')!;
      const [open, closed] = text.split('$ npx socklab bench').slice(1) as [string, string];
      assert.match(open, /requests +600 \(200\/s\)/);
      assert.match(open, /scheduled \/ sent \/ completed +600 \/ \d+ \/ 600 /);
      const corrected = percentiles(open, 'latency from intended time');
      // S is taken as the corrected max (the request due as the stall began waited all of it); a loaded machine
      // stretches `sleep 1` a little, and the prediction follows S.
      const S = corrected.max;
      between(S, 950, 1600, `corrected max (S)\n${open}`);
      between(corrected.p90, S - 300 - 150, S - 300 + 150, `corrected p90 (S − 0.1·D = ${S - 300})\n${open}`);
      between(corrected.p99, S - 30 - 100, S - 30 + 100, `corrected p99 (S − 0.01·D = ${S - 30})\n${open}`);
      assert.ok(corrected.p50 < 250, `corrected p50 ${corrected.p50} ms: two thirds of the run never met the stall (a busy generator adds its own lag)\n${open}`);
      const service = percentiles(open, 'service time from write');
      assert.ok(service.p90 < 50 && service.p99 < 100, `uncorrected p90 ${service.p90} ms, p99 ${service.p99} ms hide the stall`);
      between(service.max, S - 100, S + 50, 'uncorrected max (the one request written into the stopped server)');
      const loop = percentiles(closed, 'latency');
      assert.ok(loop.p99 < 50, `closed loop p99 ${loop.p99} ms: it sent nothing during the stall`);
      between(loop.max, 950, 1600, `closed-loop max\n${closed}`);
    },
  },
];
