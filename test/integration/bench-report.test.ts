import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { launchBrowser, watchPage } from '../helpers/browser.js';
import { runCli, startCliServer } from '../helpers/processes.js';

// DOM names the in-page predicates use (compiled without the DOM library).
declare const document: { body: { dataset: Record<string, string | undefined> } };

test('bench --report says what was run and shows latency over time and both percentile curves; bench compare sets runs side by side', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { port } = await startCliServer(t, ['serve', '--port', '0', '--quiet']);
  const target = ['127.0.0.1', String(port), '-c', '2', '-d', '1200', '--warmup-ms', '200', '--interval-ms', '200'];
  const open = await runCli(t, ['bench', 'tcp', ...target, '--rate', '500', '--report', join(dir, 'open.html'), '--json']);
  assert.equal(open.code, 0, open.stderr);
  writeFileSync(join(dir, 'open.json'), open.stdout);
  const closed = await runCli(t, ['bench', 'tcp', ...target, '--json']);
  assert.equal(closed.code, 0, closed.stderr);
  writeFileSync(join(dir, 'closed.json'), closed.stdout);
  const compare = await runCli(t, ['bench', 'compare', join(dir, 'open.json'), join(dir, 'closed.json'), '--report', join(dir, 'cmp.html')]);
  assert.equal(compare.code, 0, compare.stderr);
  assert.match(compare.stdout, /requests\/s\s+500\s+[\d,]+ \([\d.]+×\)/);

  const context = await launchBrowser(t);
  await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
  const page = await context.newPage();
  const seen = watchPage(page);
  await page.goto(pathToFileURL(join(dir, 'open.html')).href);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 5000 });
  assert.match((await page.textContent('#run')) ?? '', /command.*--rate 500.*socklab\d|plan.*"fromPerSec":500/s);
  assert.match((await page.textContent('#run')) ?? '', /machine.*Node v\d+/s);
  assert.equal(await page.locator('#over-time canvas').count(), 1, 'latency over time');
  assert.equal(await page.locator('#errors canvas').count(), 1, 'failures over time');
  assert.match((await page.textContent('#latency')) ?? '', /corrected.*uncorrected/s, 'both curves on one plot');
  // Every legend value says something: no bare "requests/s:" with nothing after it.
  const values = await page.locator('.u-legend .u-value').allTextContents();
  assert.ok(values.length >= 8 && values.every((v) => v.trim() !== ''), `legend values: ${JSON.stringify(values)}`);
  assert.doesNotMatch((await page.textContent('#counts')) ?? '', /warmupScheduled|connectionsAtEnd/, 'counts have readable labels');

  const cmp = await context.newPage();
  const cmpSeen = watchPage(cmp);
  await cmp.goto(pathToFileURL(join(dir, 'cmp.html')).href);
  await cmp.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 5000 });
  assert.match((await cmp.textContent('#comparison')) ?? '', /closed\.json \(× first\)/);
  assert.match((await cmp.textContent('#latency')) ?? '', /open\.json.*closed\.json/s);
  assert.deepEqual([...seen.errors, ...cmpSeen.errors], [], 'no console errors');
});

test('bench compare refuses a file that holds no result', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'socklab-bench-compare-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.json'), '{"hello":1}\n');
  const { code, stderr } = await runCli(t, ['bench', 'compare', join(dir, 'a.json'), join(dir, 'a.json')]);
  assert.equal(code, 2);
  assert.match(stderr, /no bench result in it: save a run with `socklab bench … --json > run.json`/);
});
