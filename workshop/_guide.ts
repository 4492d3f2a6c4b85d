/**
 * The guide (workshop/README.md) holds two kinds of generated blocks, each between markers:
 *
 *   <!-- listing:07-byte-stream -->      the step file workshop/steps/07-byte-stream.ts, verbatim
 *   <!-- transcript:udp:client -->       what terminal "client" of scenario "udp" showed
 *
 * `renderGuide` fills them from files and runs; `scripts/regen-workshop` writes the result, and the workshop test
 * checks that the committed guide matches.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { ROOT } from '../test/helpers/processes.js';
import { SCENARIOS } from './_scenarios.js';
import { Session, normalise } from './_transcripts.js';

export const GUIDE_PATH = `${ROOT}workshop/README.md`;
export const STEPS_DIR = `${ROOT}workshop/steps/`;

const BLOCK = /<!-- (listing|transcript):([^\s]+) -->\n```[a-z]*\n([^]*?)```\n/g;

export interface GuideBlock {
  kind: 'listing' | 'transcript';
  key: string;
  body: string;
}

export function readGuideBlocks(text: string): GuideBlock[] {
  return [...text.matchAll(BLOCK)].map((match) => ({ kind: match[1] as GuideBlock['kind'], key: match[2]!, body: match[3]! }));
}

/** Step names (file names without .ts), sorted. */
export function stepNames(): string[] {
  return readdirSync(STEPS_DIR)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => name.replace(/\.ts$/, ''))
    .sort();
}

export function listing(step: string): string {
  return readFileSync(`${STEPS_DIR}${step}.ts`, 'utf8');
}

/** Runs one scenario; returns each terminal's normalised text by `scenario:terminal` key, and the steps it ran. */
export async function runScenario(id: string): Promise<{ transcripts: Map<string, string>; stepsRun: Set<string> }> {
  const scenario = SCENARIOS.find((candidate) => candidate.id === id);
  if (!scenario) throw new Error(`no scenario ${id}`);
  const session = new Session();
  try {
    await scenario.run(session);
  } finally {
    await session.close();
  }
  const transcripts = new Map<string, string>();
  for (const [name, terminal] of session.terminals) {
    transcripts.set(`${id}:${name.replaceAll(' ', '-')}`, normalise(terminal.text, session.port));
  }
  return { transcripts, stepsRun: session.stepsRun };
}

/** Replaces every block's body with `fill(block)`. */
export function rewriteGuide(text: string, fill: (block: GuideBlock) => string): string {
  return text.replace(BLOCK, (_whole, kind: GuideBlock['kind'], key: string, body: string) => {
    const fence = kind === 'listing' ? 'ts' : 'console';
    return `<!-- ${kind}:${key} -->\n\`\`\`${fence}\n${fill({ kind, key, body })}\`\`\`\n`;
  });
}
