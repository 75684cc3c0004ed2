// The deployment scripts, as far as they can run without Azure: syntax, shellcheck, usage, argument
// checks, and the messages a user gets when a tool is missing or the Azure CLI is signed out. The
// signed-out CLI and an installed Core Tools are played by two-line stand-ins: those states cannot be
// produced for real on a machine without Azure.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './support/bicep';
import { type TempDir, tempDir } from '../support/tempDir';

const scripts = ['deploy.sh', 'teardown.sh', 'install-bicep.sh'];

function which(command: string): string | undefined {
  const found = spawnSync('bash', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

const bash = which('bash')!;
const shellcheck = which('shellcheck');

/** A PATH with only the named real commands (and optional stand-ins), nothing else. */
function restrictedPath(dir: string, real: string[], standIns: Record<string, string> = {}): string {
  for (const command of real) {
    const target = which(command);
    if (target !== undefined) symlinkSync(target, path.join(dir, command));
  }
  for (const [command, body] of Object.entries(standIns)) {
    writeFileSync(path.join(dir, command), `#!${bash}\n${body}\n`);
    chmodSync(path.join(dir, command), 0o755);
  }
  return dir;
}

function run(script: string, args: string[], pathValue?: string) {
  const result = spawnSync(bash, [path.join(repoRoot, 'scripts', script), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: pathValue === undefined ? process.env : { ...process.env, PATH: pathValue },
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const basicTools = ['dirname', 'cat', 'tr', 'sed', 'grep', 'uname', 'mktemp', 'rm', 'head'];

describe('scripts/', () => {
  let folder: TempDir;
  let tmp: string;
  beforeEach(() => {
    folder = tempDir('scripts-test');
    tmp = folder.path;
  });
  afterEach(() => folder.remove());

  test.each(scripts)('%s is valid bash', (script) => {
    const result = spawnSync(bash, ['-n', path.join(repoRoot, 'scripts', script)], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  // CI installs shellcheck (.ci/run); there its absence is a failure, elsewhere a skip.
  (shellcheck || process.env.CI === 'true' ? test : test.skip)(
    `shellcheck finds nothing${shellcheck ? '' : ' (shellcheck not installed: skipped)'}`,
    () => {
      if (shellcheck === undefined)
        throw new Error('shellcheck is not installed; .ci/run installs it with apt-get');
      const result = spawnSync(
        shellcheck!,
        scripts.map((script) => path.join(repoRoot, 'scripts', script)),
        {
          encoding: 'utf8',
        },
      );
      expect(result.stdout).toBe('');
      expect(result.status).toBe(0);
    },
  );

  describe('deploy.sh', () => {
    test('--help explains the usage and exits 0', () => {
      const result = run('deploy.sh', ['--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('Usage: npm run deploy -- <name-prefix> <location> [options]');
      expect(result.stdout).toContain('--developer-access');
      expect(result.stdout).toContain('bash scripts/teardown.sh <name-prefix>');
    });

    test.each([
      [[], 'expected <name-prefix> and <location>, got 0 argument(s)'],
      [['demo'], 'expected <name-prefix> and <location>, got 1 argument(s)'],
      [['Demo', 'westeurope'], "invalid name prefix 'Demo'"],
      [['demo_1', 'westeurope'], "invalid name prefix 'demo_1'"],
      [['a', 'westeurope'], "invalid name prefix 'a'"],
      [['demo-', 'westeurope'], "invalid name prefix 'demo-'"],
      [['thirteen-char', 'westeurope'], "invalid name prefix 'thirteen-char'"],
      [['demo', 'West Europe'], "invalid location 'West Europe'"],
      [['demo', 'westeurope', '--bogus'], 'unknown option: --bogus'],
      [['demo', 'westeurope', '-g'], '-g needs a value'],
    ])('rejects %j with usage and exit code 2', (args, message) => {
      const result = run('deploy.sh', args);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain('Usage:');
    });

    test('says how to install the Azure CLI when az is missing', () => {
      const result = run('deploy.sh', ['demo', 'westeurope'], restrictedPath(tmp, basicTools));
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('the Azure CLI (az) is not installed or not on PATH');
      expect(result.stderr).toContain('https://learn.microsoft.com/cli/azure/install-azure-cli');
    });

    test('says how to install Node.js when node is missing', () => {
      const result = run(
        'deploy.sh',
        ['demo', 'westeurope'],
        restrictedPath(tmp, basicTools, { az: 'exit 0' }),
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('Node.js is not on PATH; install Node.js 20 or later');
    });

    test('says how to install Core Tools when func is missing, and that --infra-only needs none', () => {
      const pathValue = restrictedPath(tmp, [...basicTools, 'node'], { az: 'exit 0' });
      const result = run('deploy.sh', ['demo', 'westeurope'], pathValue);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('Azure Functions Core Tools (func) is not available');
      expect(result.stderr).toContain('no func is on PATH');
      expect(result.stderr).toContain('--infra-only');
    });

    // Flex Consumption publishing exists from 4.0.5274 (core-tools commit "Flex Deployment (#3404)").
    test.each(['3.0.3904', '4.0.5198', '4.0.5273', 'not a version'])(
      'refuses Core Tools %j with the version found',
      (version) => {
        const pathValue = restrictedPath(tmp, [...basicTools, 'node'], {
          az: 'exit 0',
          func: `echo '${version}'`,
        });
        const result = run('deploy.sh', ['demo', 'westeurope'], pathValue);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(
          `Azure Functions Core Tools 4.0.5274 or later is required to publish to Flex Consumption; found '${version}'`,
        );
      },
    );

    test.each(['4.0.5274', '4.0.7512', '4.13.2', '4.1.0-preview1'])('accepts Core Tools %j', (version) => {
      // Signed out: the check after the Core Tools one, so reaching it means the version passed.
      const pathValue = restrictedPath(tmp, [...basicTools, 'node', 'npm'], {
        az: 'exit 1',
        func: `printf '%s\\r\\n' '${version}'`,
      });
      const result = run('deploy.sh', ['demo', 'westeurope'], pathValue);
      expect(result.stderr).toContain('the Azure CLI is not signed in');
    });

    describe("chooses the project's pinned Core Tools when its binary is installed, else func on PATH", () => {
      // The package's binary cannot be downloaded here: a copy of the scripts in a throwaway project
      // gets a stand-in package (package.json) and, where the install script would put it, a stand-in
      // binary that records its calls.
      let project: string;
      const packageDir = () => path.join(project, 'node_modules', 'azure-functions-core-tools');
      const funcStandIn = (file: string, name: string) => {
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, `#!${bash}\necho "${name} $*" >> '${project}/calls'\necho 4.13.2\n`);
        chmodSync(file, 0o755);
      };
      const runInProject = (pathValue: string) => {
        const result = spawnSync(bash, [path.join(project, 'scripts', 'deploy.sh'), 'demo', 'westeurope'], {
          cwd: project,
          encoding: 'utf8',
          env: { ...process.env, PATH: pathValue },
          timeout: 30_000,
        });
        const calls = existsSync(path.join(project, 'calls'))
          ? readFileSync(path.join(project, 'calls'), 'utf8')
          : '';
        return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
      };

      beforeEach(() => {
        project = path.join(tmp, 'project');
        mkdirSync(path.join(tmp, 'bin'));
        mkdirSync(path.join(packageDir(), 'lib'), { recursive: true });
        cpSync(path.join(repoRoot, 'scripts'), path.join(project, 'scripts'), { recursive: true });
        writeFileSync(path.join(packageDir(), 'package.json'), JSON.stringify({ version: '4.13.2' }));
        // npm's link to the package's launcher, first on PATH under `npm run`.
        funcStandIn(path.join(project, 'node_modules', '.bin', 'func'), 'launcher');
      });

      test('the pinned binary, with its version', () => {
        funcStandIn(path.join(packageDir(), 'bin', 'func'), 'pinned');
        const bin = restrictedPath(path.join(tmp, 'bin'), [...basicTools, 'node', 'npm'], { az: 'exit 1' });
        const result = runInProject(`${path.join(project, 'node_modules', '.bin')}${path.delimiter}${bin}`);
        expect(result.stdout).toContain(
          "Core Tools:     the project's pinned azure-functions-core-tools 4.13.2",
        );
        expect(result.calls).toBe('pinned --version\n');
        expect(result.stderr).toContain('the Azure CLI is not signed in');
      });

      test('the package without its binary: func on PATH, skipping the launcher in node_modules/.bin', () => {
        const bin = restrictedPath(path.join(tmp, 'bin'), [...basicTools, 'node', 'npm'], { az: 'exit 1' });
        funcStandIn(path.join(bin, 'func'), 'global');
        const result = runInProject(`${path.join(project, 'node_modules', '.bin')}${path.delimiter}${bin}`);
        expect(result.stdout).toContain(
          'azure-functions-core-tools 4.13.2 is installed without its binary (its install script did not run or could not download it; to fetch it: node node_modules/azure-functions-core-tools/lib/install.js); using ' +
            path.join(bin, 'func'),
        );
        expect(result.calls).toBe('global --version\n');
      });
    });

    test('asks for az login when the Azure CLI is signed out, before touching anything', () => {
      const signedOut = 'echo "ERROR: Please run \'az login\' to setup account." >&2; exit 1';
      const pathValue = restrictedPath(tmp, [...basicTools, 'node', 'npm'], {
        az: signedOut,
        func: 'echo 4.0.7030',
      });
      const result = run('deploy.sh', ['demo', 'westeurope'], pathValue);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('the Azure CLI is not signed in. Run: az login');
      // Only the Core Tools it found was printed; nothing was asked of Azure.
      expect(result.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^Core Tools: /)]);
    });

    test('refuses a region without Flex Consumption and names those that have it', () => {
      const signedIn = [
        'case "$*" in',
        "  'account show'*) printf 'Test\\t0000\\tdev@example.com\\n' ;;",
        "  'provider show'*) echo Registered ;;",
        "  'functionapp list-flexconsumption-locations'*) printf 'East US\\nswedencentral\\n' ;;",
        '  *) echo "unexpected: az $*" >&2; exit 3 ;;',
        'esac',
      ].join('\n');
      const pathValue = restrictedPath(tmp, [...basicTools, 'node', 'npm'], {
        az: signedIn,
        func: 'echo 4.0.7030',
      });
      const result = run('deploy.sh', ['demo', 'westus9'], pathValue);
      expect(result.stderr).toContain(
        "Flex Consumption is not offered in 'westus9'. Regions that offer it: eastus swedencentral",
      );
      expect(result.status).toBe(1);
    });
  });

  describe('teardown.sh', () => {
    test('--help explains the usage and exits 0', () => {
      const result = run('teardown.sh', ['--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('Usage: bash scripts/teardown.sh <name-prefix> [options]');
    });

    test.each([
      [[], 'expected <name-prefix> or -g <resource-group>'],
      [['Bad_Prefix'], "invalid name prefix 'Bad_Prefix'"],
      [['demo', '-g', 'rg-other'], 'give either <name-prefix> or -g <resource-group>, not both'],
    ])('rejects %j with exit code 2', (args, message) => {
      const result = run('teardown.sh', args);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(message);
    });

    test('says how to install the Azure CLI when az is missing', () => {
      const result = run('teardown.sh', ['demo'], restrictedPath(tmp, basicTools));
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('the Azure CLI (az) is not installed or not on PATH');
    });

    test('asks for az login when the Azure CLI is signed out', () => {
      const result = run('teardown.sh', ['demo', '--yes'], restrictedPath(tmp, basicTools, { az: 'exit 1' }));
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('the Azure CLI is not signed in. Run: az login');
    });
  });

  describe('install-bicep.sh', () => {
    test('fails with an honest message when the .NET SDK is missing', () => {
      // A version that is not installed forces a restore; without dotnet on PATH it cannot happen.
      const result = spawnSync(bash, [path.join(repoRoot, 'scripts', 'install-bicep.sh')], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, PATH: restrictedPath(tmp, basicTools), BICEP_VERSION: '0.0.1' },
        timeout: 30_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('the .NET SDK (dotnet) is not installed');
      expect(result.stderr).toContain('test/infra checks Bicep syntax only');
    });
  });
});
