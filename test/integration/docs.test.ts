/**
 * The documentation runs as written. The API reference builds with typedoc without a warning; every value the
 * package exports has an @example; and every @example of the exported API (members included), every TypeScript
 * block of the README's library section and of docs/library-guide.md is compiled (strict) against the built
 * package, as `socklab`, and run in its own process with a deadline: an example that hangs (a loop waiting for a
 * FIN that never comes, a server left open) fails.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RedisServer } from '../helpers/redis.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'node_modules', '.bin');
const DEADLINE_MS = 20_000;

interface Reflection {
  name: string;
  kind: number;
  comment?: { summary?: { text: string }[]; blockTags?: { tag: string; content: { text: string }[] }[] };
  signatures?: Reflection[];
  getSignature?: Reflection;
  children?: Reflection[];
}
const KIND = { variable: 32, function: 64, class: 128 } as const;

interface Example {
  where: string;
  code: string;
}

/** Builds the API reference as JSON (the same typedoc.json, warnings are errors) and reads it back. */
function buildApi(dir: string): { root: Reflection; output: string } {
  const out = join(dir, 'api.json');
  const run = spawnSync(join(BIN, 'typedoc'), ['--json', out, '--out', join(dir, 'html')], { cwd: ROOT, encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  assert.equal(run.status, 0, `typedoc failed:\n${output}`);
  const project = JSON.parse(readFileSync(out, 'utf8')) as Reflection;
  return { root: project.children![0]!, output };
}

function examplesOf(reflection: Reflection, path: string[] = []): Example[] {
  const comments = [reflection.comment, ...(reflection.signatures ?? []).map((s) => s.comment), reflection.getSignature?.comment];
  const found: Example[] = [];
  for (const comment of comments) {
    for (const tag of comment?.blockTags ?? []) {
      if (tag.tag !== '@example') continue;
      const text = tag.content.map((part) => part.text).join('');
      const code = /```(?:ts|typescript)?\n([\s\S]*?)```/.exec(text)?.[1] ?? text;
      found.push({ where: `@example of ${path.join('.') || 'the package'}`, code });
    }
  }
  for (const child of reflection.children ?? []) found.push(...examplesOf(child, [...path, child.name]));
  // Overloads repeat one comment: one run each is enough.
  return found.filter((example, i) => found.findIndex((other) => other.code === example.code) === i);
}

/** The ```ts blocks of a markdown file, or of one `## ` section of it. */
function markdownBlocks(file: string, section?: string): Example[] {
  let text = readFileSync(join(ROOT, file), 'utf8');
  if (section !== undefined) {
    const start = text.indexOf(`\n## ${section}\n`);
    assert.ok(start >= 0, `${file} has a "## ${section}" section`);
    const end = text.indexOf('\n## ', start + 1);
    text = text.slice(start, end === -1 ? undefined : end);
  }
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match, i) => ({ where: `${file}${section ? ` ("${section}")` : ''}, TypeScript block ${i + 1}`, code: match[1]! }));
}

/** An example as a module: every export of the package in scope, the fixtures it may use, the example in a block. */
function moduleFor(example: Example, values: string[], types: string[]): string {
  const lines = example.code.split('\n');
  const imports = lines.filter((line) => /^import .* from '(?!socklab')[^']+';$/.test(line));
  const body = lines.filter((line) => !/^import /.test(line));
  return `// ${example.where}
import { ${values.join(', ')} } from 'socklab';
import type { ${types.join(', ')} } from 'socklab';
${imports.join('\n')}
// Fixtures the member examples use: \`port\` and \`conn\` (a line server that answers "echo <message>"),
// \`server\` (a bound UDP endpoint) and \`client\` (connected to it), \`redisUrl\`.
const tcpEcho = await listenTcp({ port: 0 });
tcpEcho.on('connection', (c) => c.on('message', (m) => c.send(\`echo \${m}\`)));
const port = tcpEcho.address().port;
const conn = await connectTcp({ host: '127.0.0.1', port });
const server = await bindUdp({ port: 0 });
const client = await connectUdp({ host: '127.0.0.1', port: server.address().port });
const redisUrl = process.env['SOCKLAB_DOC_REDIS'] ?? 'redis://127.0.0.1:1/0';
void [port, conn, server, client, redisUrl];
{
${body.join('\n')}
}
await conn.close();
await tcpEcho.close();
await client.close();
await server.close();
`;
}

function run(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, DEADLINE_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, hung });
    });
  });
}

describe('the documentation runs as written', () => {
  it('the API reference builds without warnings, every export is documented and every exported value has an @example; every example and README/guide block compiles and ends by itself', { timeout: 240_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'socklab-docs-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { root, output } = buildApi(dir);
    assert.doesNotMatch(output, /\[warning\]/, 'typedoc warned');

    const exports = root.children ?? [];
    const values = exports.filter((r) => r.kind === KIND.function || r.kind === KIND.class || r.kind === KIND.variable).map((r) => r.name);
    const types = exports.filter((r) => !values.includes(r.name)).map((r) => r.name);
    const hasExample = (r: Reflection): boolean =>
      [r.comment, ...(r.signatures ?? []).map((s) => s.comment)].some((c) => c?.blockTags?.some((tag) => tag.tag === '@example'));
    assert.deepEqual(exports.filter((r) => values.includes(r.name) && !hasExample(r)).map((r) => r.name), [], 'exported values without an @example');
    assert.ok(values.includes('connectTcp') && values.includes('listenTcp') && values.includes('bindUdp'), `values found: ${values.join(', ')}`);

    const examples = [...examplesOf(root), ...markdownBlocks('README.md', 'The library'), ...markdownBlocks('docs/library-guide.md')];
    assert.ok(examples.length >= 50, `${examples.length} examples found`);

    // A project that sees the package as an installed copy would: node_modules/socklab is the package root.
    mkdirSync(join(dir, 'project', 'node_modules', '@types'), { recursive: true });
    symlinkSync(ROOT, join(dir, 'project', 'node_modules', 'socklab'));
    symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(dir, 'project', 'node_modules', '@types', 'node'));
    writeFileSync(join(dir, 'project', 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(dir, 'project', 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'], module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], skipLibCheck: false },
        include: ['*.ts'],
      }),
    );
    const files = examples.map((example, i) => {
      const name = `example-${String(i).padStart(3, '0')}`;
      writeFileSync(join(dir, 'project', `${name}.ts`), moduleFor(example, values, types));
      return { example, js: join(dir, 'project', `${name}.js`) };
    });
    const tsc = spawnSync(join(BIN, 'tsc'), ['-p', join(dir, 'project')], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, `examples do not compile against the package:\n${tsc.stdout}${tsc.stderr}`);

    const needsRedis = examples.some((example) => example.code.includes('redisUrl'));
    const redis = needsRedis ? await RedisServer.start(t) : undefined;
    const env = redis ? { SOCKLAB_DOC_REDIS: redis.url } : {};
    const failures: string[] = [];
    // Four at a time: each is a process of its own, and a shared machine is slow enough already.
    for (let i = 0; i < files.length; i += 4) {
      const batch = files.slice(i, i + 4);
      const results = await Promise.all(batch.map(({ js }) => run(js, env)));
      results.forEach((result, j) => {
        if (result.hung) failures.push(`${batch[j]!.example.where}: still running after ${DEADLINE_MS} ms\n${result.output}`);
        else if (result.code !== 0) failures.push(`${batch[j]!.example.where}: exit ${result.code}\n${result.output}`);
      });
    }
    assert.deepEqual(failures, [], `${failures.length} of ${files.length} examples failed`);
  });
});
