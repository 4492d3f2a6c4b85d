/**
 * The workshop guide cannot drift from the code: every listing is the step file itself, every "Run it"
 * transcript is re-recorded from a real run and compared (ports and timings normalised), and every step file is
 * both shown and run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { GUIDE_PATH, listing, readGuideBlocks, runScenario, stepNames } from '../../workshop/_guide.js';
import { SCENARIOS } from '../../workshop/_scenarios.js';
import { comparable } from '../../workshop/_transcripts.js';

const blocks = readGuideBlocks(readFileSync(GUIDE_PATH, 'utf8'));
const transcriptBlocks = new Map(blocks.filter((block) => block.kind === 'transcript').map((block) => [block.key, block.body]));
const stepsRun = new Set<string>();
const keysRecorded = new Set<string>();

describe('workshop guide', () => {
  it('shows every step file verbatim, once', () => {
    const listed = blocks.filter((block) => block.kind === 'listing');
    assert.deepEqual(listed.map((block) => block.key).sort(), stepNames());
    for (const block of listed) assert.equal(block.body, listing(block.key), `listing ${block.key} differs from the file: npm run workshop:regen`);
  });

  for (const scenario of SCENARIOS) {
    it(`"${scenario.id}" runs as its transcripts show`, async () => {
      const run = await runScenario(scenario.id);
      run.stepsRun.forEach((step) => stepsRun.add(step));
      assert.ok(run.transcripts.size > 0);
      for (const [key, text] of run.transcripts) {
        keysRecorded.add(key);
        const shown = transcriptBlocks.get(key);
        assert.ok(shown !== undefined, `the guide has no transcript block for ${key}`);
        const same = scenario.shape ?? comparable;
        assert.equal(same(comparable(text)), same(comparable(shown)), `transcript ${key} differs from a real run (npm run workshop:regen if the change is intended)`);
      }
      scenario.check?.(run.transcripts);
    });
  }

  after(() => {
    // Checked once every scenario ran: nothing in the guide is left unchecked, no step is left unrun.
    const unchecked = [...transcriptBlocks.keys()].filter((key) => !keysRecorded.has(key));
    assert.deepEqual(unchecked, [], 'transcript blocks that no scenario produces');
    assert.deepEqual(stepNames().filter((step) => !stepsRun.has(step)), [], 'step files that no scenario runs');
  });
});
