// Runs every compiled test file with node:test, then prints the hardening totals the tests recorded
// (test/helpers/tally.ts). Test files are I/O-bound (real sockets, child processes), so more run at once
// than there are cores.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

function totals(dir) {
  const sum = { inputs: 0, serversChecked: 0, crashes: 0, lostAcks: 0, acksChecked: 0, lostValues: 0, duplicatedValues: 0, valuesChecked: 0 };
  const faults = new Set();
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line === '') continue;
      const entry = JSON.parse(line);
      for (const key of Object.keys(sum)) sum[key] += entry[key] ?? 0;
      if (entry.fault) faults.add(entry.fault);
    }
  }
  const n = (value) => value.toLocaleString('en-US');
  return [
    `hardening totals: ${n(sum.inputs)} generated/hostile inputs tried, ${faults.size} fault kinds survived,`,
    `  crashes ${sum.crashes} (of ${n(sum.serversChecked)} server processes checked),`,
    `  lost acks ${sum.lostAcks} (of ${n(sum.acksChecked)} acknowledged messages checked),`,
    `  lost counter values ${sum.lostValues}, duplicated counter values ${sum.duplicatedValues} (of ${n(sum.valuesChecked)} checked)`,
    `  fault kinds: ${[...faults].sort().join(', ') || 'none'}`,
  ].join('\n');
}

const files = process.argv.length > 2 ? process.argv.slice(2) : findTests('dist').sort();
const tallyDir = mkdtempSync(join(tmpdir(), 'socklab-tally-'));
const child = spawn(process.execPath, ['--test', '--test-concurrency=4', '--test-timeout=120000', ...files], {
  stdio: 'inherit',
  env: { ...process.env, SOCKLAB_TALLY_DIR: tallyDir },
});
child.on('exit', (code, signal) => {
  console.log(`\n${totals(tallyDir)}`);
  rmSync(tallyDir, { recursive: true, force: true });
  process.exit(code ?? (signal ? 1 : 0));
});
