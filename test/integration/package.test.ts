/**
 * The package as a user gets it: `npm pack`, then a fresh project that installs only the tarball, typescript and
 * @types/node (from npm's cache or registry), type-checks a strict program against it and runs it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../../../', import.meta.url).pathname;

function sh(command: string, args: string[], cwd: string, timeoutMs = 180_000): string {
  const run = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.equal(run.status, 0, `${command} ${args.join(' ')} failed (${run.signal ?? run.status}):\n${run.stdout}\n${run.stderr}`);
  return `${run.stdout}${run.stderr}`;
}

const version = (name: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

const PROGRAM = `import { bindUdp, connectTcp, connectUdp, listenTcp, SocklabError, type TcpConnection } from 'socklab';

await using server = await listenTcp({ port: 0 });
server.on('connection', async (conn: TcpConnection) => {
  for await (const m of conn.messages()) conn.send(\`echo \${m}\`);
});
const conn = await connectTcp({ host: '127.0.0.1', port: server.address().port });
conn.send('one');
const first = await conn.receive({ timeoutMs: 2000 });
conn.send('two');
conn.end();
const rest: string[] = [];
for await (const m of conn.messages({ throwOnError: true })) rest.push(m.toString());
const closed: SocklabError | undefined = await conn.closed;

await using udpServer = await bindUdp({ port: 0 });
udpServer.on('message', ({ data, from }) => void udpServer.send(\`ok \${data}\`, from));
await using udp = await connectUdp({ host: '127.0.0.1', port: udpServer.address().port });
const reply = await udp.request('get', { timeoutMs: 500, retries: 2 });
let code = '';
try {
  await listenTcp({ port: 0, framing: 'lines' as 'line' });
} catch (err) {
  code = err instanceof RangeError ? 'RangeError' : String(err);
}
console.log(JSON.stringify({ first: first.toString(), rest, closed: closed?.code ?? null, reply: reply.data.toString(), code }));
`;

describe('the packed package', () => {
  it('installs from its tarball into a project with only typescript and @types/node, type-checks strict and runs', { timeout: 300_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'socklab-pack-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // --ignore-scripts: `npm test` has built dist already; prepare's rebuild would rewrite it under running tests.
    const packed = JSON.parse(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)) as [{ filename: string; files: { path: string }[] }];
    const files = packed[0].files.map((file) => file.path);
    assert.ok(files.includes('LICENSE') && files.includes('README.md') && files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts'), files.join(' '));
    assert.deepEqual(files.filter((file) => file.endsWith('.map') || /\.test\.|^src\/|^test\//.test(file)), [], 'no source maps, sources or tests in the tarball');
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(manifest['repository'] && manifest['homepage'] && manifest['bugs'], 'repository, homepage and bugs are set');
    // `prepare` builds a clone on `npm install` (the README's set-up); npm never runs it for a tarball or registry
    // install, so only the install-time hooks would surprise people who install the package.
    const scripts = manifest['scripts'] as Record<string, string>;
    assert.deepEqual(['preinstall', 'install', 'postinstall'].filter((hook) => hook in scripts), [], 'no script runs when the package is installed');

    const project = join(dir, 'project');
    sh('mkdir', ['-p', project], dir);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-socklab', private: true, type: 'module' }));
    sh(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed[0].filename), `typescript@${version('typescript')}`, `@types/node@${version('@types/node')}`],
      project,
    );
    writeFileSync(join(project, 'main.ts'), PROGRAM);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'], module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], skipLibCheck: false, noUncheckedIndexedAccess: true },
        files: ['main.ts'],
      }),
    );
    sh(join(project, 'node_modules', '.bin', 'tsc'), ['-p', project], project);
    const out = sh(process.execPath, [join(project, 'main.js')], project, 20_000);
    assert.deepEqual(JSON.parse(out.trim()), { first: 'echo one', rest: ['echo two'], closed: null, reply: 'ok get', code: 'RangeError' });
    // An import that is not the entry point is refused: the package exports its surface only.
    const deep = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('socklab/dist/src/tcp/connection.js')"], { cwd: project, encoding: 'utf8' });
    assert.match(deep.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});
