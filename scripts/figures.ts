/** Writes the workshop's figures to docs/figures/ (see scripts/_figures.ts). Run: npm run figures */
import { mkdirSync, writeFileSync } from 'node:fs';
import { ROOT } from '../test/helpers/processes.js';
import { renderFigures } from './_figures.js';

mkdirSync(`${ROOT}docs/figures`, { recursive: true });
for (const [name, svg] of renderFigures()) {
  writeFileSync(`${ROOT}docs/figures/${name}`, svg);
  process.stderr.write(`wrote docs/figures/${name}\n`);
}
