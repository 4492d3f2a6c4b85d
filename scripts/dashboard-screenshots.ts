/**
 * Regenerates the README's screenshots (docs/dashboard.png, docs/bench-report.png) with headless Chromium:
 * a `serve --dashboard` with a few chatty clients, and a `bench --report` file.
 *
 * Run: npm run build && node dist/scripts/dashboard-screenshots.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CLI, ROOT, startSocklab } from './bench/_harness.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const profile = mkdtempSync(join(tmpdir(), 'socklab-shots-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1200, height: 900 },
});
const children: ChildProcess[] = [];
try {
  const serve = await startSocklab(['serve', '--port', '0', '--quiet', '--dashboard', '0'], { until: /listening on \S+:(\d+)[\s\S]*dashboard on (\S+)/ });
  children.push(serve.child);
  const { port } = serve;
  const page = await context.newPage();
  await page.goto(serve.match[2]!);
  const texts = ['hello', 'ping', '<img src=x onerror=alert(1)>', 'the quick brown fox', 'quit soon'];
  const clients = texts.map(() => connect({ host: '127.0.0.1', port }));
  // A rising, steady load: 120 ticks of 100 ms, each client sending a little more than the one before.
  for (let tick = 0; tick < 120; tick++) {
    for (const [i, client] of clients.entries()) {
      for (let n = 0; n < 2 * (i + 1) + Math.floor(tick / 10); n++) client.write(`${texts[i]}\n`);
    }
    await sleep(100);
  }
  await page.screenshot({ path: join(ROOT, 'docs/dashboard.png'), fullPage: true });
  for (const client of clients) client.destroy();

  const dir = mkdtempSync(join(tmpdir(), 'socklab-report-'));
  const file = join(dir, 'bench.html');
  const bench = spawn(process.execPath, [CLI, 'bench', 'tcp', '127.0.0.1', String(port), '-c', '20', '--duration-ms', '8000', '--report', file], { stdio: 'inherit' });
  await new Promise((resolve) => bench.on('exit', resolve));
  const report = await context.newPage();
  await report.goto(pathToFileURL(file).href);
  await report.waitForSelector('#latency canvas');
  await report.screenshot({ path: join(ROOT, 'docs/bench-report.png'), fullPage: true });
  rmSync(dir, { recursive: true, force: true });
  console.log('wrote docs/dashboard.png and docs/bench-report.png');
} finally {
  for (const child of children) child.kill('SIGTERM');
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
