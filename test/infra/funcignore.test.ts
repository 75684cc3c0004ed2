// What `func azure functionapp publish` would upload, decided the way Core Tools decides it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './support/bicep';

/**
 * Core Tools' own matcher (Azure.Functions.Cli.Common.GitIgnoreParser, a port of codemix's
 * gitignore-parser), ported line for line: each pattern is matched from the START of the path relative
 * to the project root, "*" does not cross "/", "**" does, and a word boundary must follow.
 */
function coreToolsIgnoreParser(content: string): (file: string) => boolean {
  const lines = content
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const positive: string[] = [];
  const negative: string[] = [];
  for (let line of lines) {
    const isNegative = line.startsWith('!');
    if (isNegative) line = line.slice(1);
    if (line.startsWith('/')) line = line.slice(1);
    (isNegative ? negative : positive).push(line);
  }
  const prepare = (pattern: string) =>
    pattern
      .replace(/[-[\]/{}()+?.\\^$|]/g, '\\$&')
      .replace(/\*\*/g, '(.+)')
      .replace(/\*/g, '([^\\/]+)');
  const compile = (patterns: string[]) =>
    patterns.length === 0 ? /$^/ : new RegExp(`^((${[...patterns].sort().map(prepare).join(')|(')}))\\b`);
  const denied = compile(positive);
  const allowed = compile(negative);
  // Core Tools also skips these whatever .funcignore says.
  const alwaysIgnored = (file: string) =>
    /(^|\/)(\.git|\.vscode)\//.test(file) ||
    ['.funcignore', '.gitignore', 'local.settings.json', 'project.lock.json'].includes(
      path.posix.basename(file),
    );
  return (file) => !alwaysIgnored(file) && (allowed.test(file) || !denied.test(file));
}

const accepts = coreToolsIgnoreParser(readFileSync(path.join(repoRoot, '.funcignore'), 'utf8'));

describe('.funcignore (as Core Tools applies it when publishing)', () => {
  test.each([
    'host.json',
    'package.json',
    'dist/src/functions/publishEvents.js',
    'dist/src/functions/processEvents.js',
    'dist/src/lib/settings.js',
    'node_modules/@azure/event-hubs/dist/commonjs/index.js',
    'node_modules/@azure/functions/package.json',
    // Folders of dependencies that share a name with the project's own excluded folders.
    'node_modules/some-package/src/index.js',
    'node_modules/some-package/test/helper.js',
    'node_modules/some-package/scripts/setup.js',
    'node_modules/some-package/local/strings.js',
    'node_modules/some-package/docs/index.js',
  ])('ships %s', (file) => {
    expect(accepts(file)).toBe(true);
  });

  test.each([
    'src/functions/publishEvents.ts',
    'src/lib/settings.ts',
    'dist/src/functions/publishEvents.js.map',
    'local/azurite.ts',
    'local/emulator/cli.ts',
    'local/emulator/package.json',
    'local/emulator/CHANGELOG.md',
    'local/explorer/server.ts',
    'local/explorer/page/index.html',
    'test/infra/templates.test.ts',
    'bench/e2e.ts',
    'infra/main.bicep',
    'scripts/deploy.sh',
    'docs/deploy.md',
    '.github/workflows/ci.yml',
    '.ci/run',
    '.data/azurite/__blobstorage__/x',
    '.tools/bicep/bicep',
    'coverage/lcov.info',
    'local.settings.json',
    'local.settings.example.json',
    'tsconfig.json',
    'tsconfig.tools.json',
    'jest.config.js',
    'eslint.config.mjs',
    '.prettierrc.json',
    'README.md',
  ])('leaves out %s', (file) => {
    expect(accepts(file)).toBe(false);
  });

  test("ships the files package.json's main points at", () => {
    const main: string = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).main;
    expect(main).toBe('dist/src/functions/*.js');
    expect(accepts(main.replace('*', 'publishEvents'))).toBe(true);
  });

  test('of the files in git, only host.json, package.json and package-lock.json would be uploaded', () => {
    // dist/ and node_modules/ are not in git; everything that is must be excluded or be one of these,
    // so a new top-level folder or file cannot slip into the package unnoticed.
    const tracked = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\n')
      .filter((file) => file !== '');
    expect(tracked.length).toBeGreaterThan(10);
    expect(tracked.filter(accepts).sort()).toEqual(['host.json', 'package-lock.json', 'package.json']);
  });
});
