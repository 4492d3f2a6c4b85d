import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { artifactPath, launchBrowser, watchPage } from '../helpers/browser.js';
import { runCli, startCliServer } from '../helpers/processes.js';

// DOM names the in-page predicates use (compiled without the DOM library).
declare const document: { body: { dataset: Record<string, string | undefined> }; querySelectorAll(selector: string): { length: number } };

test('bench --report, udp-serve and proxy dashboards render in a real browser, offline, without errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
  const file = join(dir, 'bench.html');
  const bench = await runCli(t, ['bench', 'tcp', '127.0.0.1', String(port), '-c', '4', '--duration-ms', '2500', '--warmup-ms', '200', '--report', file]);
  assert.equal(bench.code, 0, bench.stderr);
  const html = readFileSync(file, 'utf8');
  assert.doesNotMatch(html, /\s(src|href)=/i, 'nothing is loaded from outside the file');
  assert.match(html, /Content-Security-Policy/);

  const context = await launchBrowser(t);
  // The report must open with no network at all: any request leaving the page fails the test.
  const requests: string[] = [];
  context.on('request', (request) => {
    if (!request.url().startsWith('file:') && !request.url().startsWith('http://127.0.0.1') && !request.url().startsWith('data:')) requests.push(request.url());
  });
  const report = await context.newPage();
  const reportSeen = watchPage(report);
  await report.goto(pathToFileURL(file).href);
  await report.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 5000 });
  assert.equal(await report.locator('#rate canvas').count(), 1, 'the rate-over-time chart');
  assert.equal(await report.locator('#latency canvas').count(), 1, 'the HDR percentile plot');
  assert.match((await report.textContent('#percentiles')) ?? '', /99%.*max/s);
  await report.screenshot({ path: artifactPath('bench-report.png'), fullPage: true });
  console.log(`# screenshot: ${artifactPath('bench-report.png')}`);
  assert.deepEqual([...reportSeen.errors], [], 'no console errors in the report');

  // udp-serve: drops by reason show up, as text.
  const udp = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--delay-ms', '0', '--dashboard', '0']);
  const [, udpUrl] = await udp.child.waitFor(/dashboard on (http:\/\/\S+\/) /);
  const socket = createSocket('udp4');
  t.after(() => socket.close());
  for (const datagram of ['get', 'get', 'nope <b>', 'get']) socket.send(datagram, udp.port, '127.0.0.1');
  const udpPage = await context.newPage();
  const udpSeen = watchPage(udpPage);
  await udpPage.goto(udpUrl!);
  await udpPage.locator('#sections td', { hasText: 'malformed' }).waitFor({ timeout: 3000 });
  assert.match((await udpPage.textContent('#cards')) ?? '', /pending replies/);
  await udpPage.screenshot({ path: artifactPath('dashboard-udp.png'), fullPage: true });

  // proxy: the relayed connection is listed and the configured faults are shown.
  const proxy = await startCliServer(t, ['proxy', '127.0.0.1', String(port), '--latency-ms', '5', '--quiet', '--dashboard', '0']);
  const [, proxyUrl] = await proxy.child.waitFor(/dashboard on (http:\/\/\S+\/) /);
  const client = connect({ host: '127.0.0.1', port: proxy.port });
  t.after(() => client.destroy());
  const proxyPage = await context.newPage();
  const proxySeen = watchPage(proxyPage);
  await proxyPage.goto(proxyUrl!);
  await proxyPage.waitForFunction(() => document.querySelectorAll('#connections tbody tr').length === 1, undefined, { timeout: 3000 });
  assert.match((await proxyPage.textContent('#sections')) ?? '', /latency-ms\s*5/);
  await proxyPage.screenshot({ path: artifactPath('dashboard-proxy.png'), fullPage: true });

  assert.deepEqual([...udpSeen.errors, ...proxySeen.errors], [], 'no console errors on the dashboards');
  assert.deepEqual([...reportSeen.dialogs, ...udpSeen.dialogs, ...proxySeen.dialogs], []);
  assert.deepEqual(requests, [], 'no request left loopback');
});
