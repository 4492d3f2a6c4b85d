/**
 * The figures render on GitHub and offline: every figure the READMEs link to is in the repository (relative
 * link), is well-formed SVG, and is what scripts/_figures.ts draws today (npm run figures).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { renderFigures } from '../../scripts/_figures.js';
import { ROOT } from '../helpers/processes.js';

/** A small well-formedness check: one root <svg> with the SVG namespace, every tag closed in order. */
function assertWellFormedSvg(text: string, name: string): void {
  assert.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]* viewBox="[\d. ]+"/, `${name} starts with a namespaced <svg> root`);
  const open: string[] = [];
  for (const match of text.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, closing, tag, , selfClosing] = match;
    if (selfClosing) continue;
    if (closing) assert.equal(open.pop(), tag, `${name}: </${tag}> closes the last open tag`);
    else open.push(tag!);
  }
  assert.deepEqual(open, [], `${name}: every tag is closed`);
  assert.doesNotMatch(text.replace(/<[^>]*>/g, ''), /[<>]|&(?!amp;|lt;|gt;|quot;)/, `${name}: text is escaped`);
}

describe('figures', () => {
  it('the committed SVGs are what scripts/_figures.ts draws', () => {
    for (const [name, svg] of renderFigures()) {
      assertWellFormedSvg(svg, name);
      assert.equal(readFileSync(join(ROOT, 'docs/figures', name), 'utf8'), svg, `docs/figures/${name} is stale: npm run figures`);
    }
  });

  for (const doc of ['README.md', 'workshop/README.md']) {
    it(`every figure ${doc} links to exists and is well-formed SVG`, () => {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      const links = [...text.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((match) => match[1]!);
      assert.ok(links.length > 0, `${doc} shows at least one figure`);
      for (const link of links) {
        assert.doesNotMatch(link, /^(https?:|\/)/, `${link} is relative, so it renders on GitHub and offline`);
        const path = join(ROOT, dirname(doc), link);
        assert.ok(existsSync(path), `${doc} links to ${link}, which is missing`);
        assertWellFormedSvg(readFileSync(path, 'utf8'), link);
      }
    });
  }
});
