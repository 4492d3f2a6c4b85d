import assert from 'node:assert/strict';
import { get } from 'node:http';
import { test } from 'node:test';
import { artifactPath, launchBrowser, watchPage } from '../helpers/browser.js';
import { startCliServer } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';

// The few DOM names the in-page predicates use (this project compiles without the DOM library). Predicates are
// functions, not strings: the page's CSP forbids eval, and playwright would eval a string.
declare const document: { body: { dataset: Record<string, string | undefined> }; querySelectorAll(selector: string): { length: number } };

const INJECTION = '<img src=x onerror=alert(1)>';

test('serve --dashboard: a live page lists clients as they come and go, and shows what they send as text', async (t) => {
  const { child, port } = await startCliServer(t, ['serve', '--port', '0', '--quiet', '--dashboard', '0']);
  const [, url] = await child.waitFor(/dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/);
  const context = await launchBrowser(t);
  const page = await context.newPage();
  const seen = watchPage(page);
  const response = await page.goto(url!);
  assert.equal(response?.status(), 200);
  assert.match(response!.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, undefined, { timeout: 5000 });
  assert.match((await page.textContent('#address')) ?? '', new RegExp(`127\\.0\\.0\\.1:${port}`));

  const clients = await Promise.all([0, 1, 2].map(() => RawClient.connect(t, port)));
  const peers = clients.map((client) => `127.0.0.1:${client.socket.localPort}`);
  const rows = page.locator('#connections tbody tr');
  // "Within 2 s": the page updates every 500 ms; the margin is for a loaded machine.
  await page.waitForFunction(() => document.querySelectorAll('#connections tbody tr').length === 3, undefined, { timeout: 2000 });
  const shownPeers = await rows.locator('td.peer').allTextContents();
  assert.deepEqual(shownPeers.sort(), [...peers].sort());

  clients[0]!.socket.write(`${INJECTION}\n`);
  const lastCell = page.locator(`#connections tbody tr[data-peer="${peers[0]}"] td.last`);
  await lastCell.filter({ hasText: INJECTION }).waitFor({ timeout: 3000 });
  assert.equal(await lastCell.textContent(), INJECTION, 'the message is shown as the text it is');
  assert.equal(await page.locator('#connections img').count(), 0, 'no element was made from it');
  await page.screenshot({ path: artifactPath('dashboard.png'), fullPage: true });
  console.log(`# screenshot: ${artifactPath('dashboard.png')}`);

  for (const client of clients) client.socket.end('quit\n');
  await page.waitForFunction(() => document.querySelectorAll('#connections tbody tr').length === 0, undefined, { timeout: 3000 });
  assert.deepEqual(seen.dialogs, [], 'no dialog opened');
  assert.deepEqual(seen.errors, [], 'no console errors');
});

test('the dashboard is read-only and answers only its own host names', async (t) => {
  const { child } = await startCliServer(t, ['serve', '--port', '0', '--quiet', '--dashboard', '127.0.0.1:0']);
  const [, url] = await child.waitFor(/dashboard on (http:\/\/\S+\/) /);
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await fetch(url!, { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  }
  // fetch() will not send a Host header of our choosing; node:http will.
  const rebound = await new Promise<number>((resolve, reject) => {
    get(url!, { headers: { host: 'attacker.example' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
  assert.equal(rebound, 421, 'a request for another host name (DNS rebinding) is refused');
  for (const asset of ['', 'app.js', 'charts.js', 'uplot.js', 'app.css', 'uplot.css']) {
    const res = await fetch(`${url}${asset}`);
    assert.equal(res.status, 200, asset);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.doesNotMatch(await res.text(), /https?:\/\/(?!github\.com\/leeoniya)/, `${asset || 'page'} loads nothing remote`);
  }
  const page = await (await fetch(url!)).text();
  assert.doesNotMatch(page, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
});

test('--dashboard refuses a malformed address with a usage error, and a host other than loopback is noted', async (t) => {
  const { runCli } = await import('../helpers/processes.js');
  const bad = await runCli(t, ['serve', '--port', '0', '--dashboard', 'example.com:80']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--dashboard/);
  const { child } = await startCliServer(t, ['udp-serve', '--port', '0', '--quiet', '--dashboard', '0.0.0.0:0']);
  await child.waitFor(/note: the dashboard listens on 0\.0\.0\.0/, 5000, 'stderr');
  // A dashboard port already taken fails the command like any other bind failure, and the server goes too.
  const [, taken] = await child.waitFor(/dashboard on http:\/\/\S+:(\d+)\//);
  const clash = await runCli(t, ['serve', '--port', '0', '--dashboard', taken!]);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /SL_ERR_BIND/);
});
