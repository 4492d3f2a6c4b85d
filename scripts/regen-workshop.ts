/**
 * Regenerates the workshop guide's listings (from workshop/steps/) and "Run it" transcripts (from real runs of
 * every scenario). Run: npm run workshop:regen
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { GUIDE_PATH, listing, readGuideBlocks, rewriteGuide, runScenario } from '../workshop/_guide.js';
import { SCENARIOS } from '../workshop/_scenarios.js';

const transcripts = new Map<string, string>();
for (const scenario of SCENARIOS) {
  process.stderr.write(`running ${scenario.id}\n`);
  for (const [key, text] of (await runScenario(scenario.id)).transcripts) transcripts.set(key, text);
}
const guide = readFileSync(GUIDE_PATH, 'utf8');
const used = new Set(readGuideBlocks(guide).filter((block) => block.kind === 'transcript').map((block) => block.key));
const unused = [...transcripts.keys()].filter((key) => !used.has(key));
if (unused.length > 0) process.stderr.write(`warning: no block in the guide for ${unused.join(', ')}\n`);
writeFileSync(
  GUIDE_PATH,
  rewriteGuide(guide, (block) => {
    if (block.kind === 'listing') return listing(block.key);
    const text = transcripts.get(block.key);
    if (text === undefined) throw new Error(`the guide has a transcript block ${block.key} that no scenario produces`);
    return text;
  }),
);
process.stderr.write(`wrote ${GUIDE_PATH}\n`);
