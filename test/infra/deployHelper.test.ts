// scripts/deploy-helper.mjs, the Node.js half of deploy.sh: the same answers from POSIX npm paths and
// from the C:\... paths a Windows npm prints under Git Bash (the staging step found no production
// dependency there when bash stripped a /c/... prefix off C:\... lines).
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './support/bicep';

function helper(args: string[], input: string) {
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'deploy-helper.mjs'), ...args], {
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const expectedPackages = 'node_modules/@azure/functions\nnode_modules/@azure/identity\nnode_modules/tslib\n';

describe('scripts/deploy-helper.mjs', () => {
  test('production-packages: POSIX paths, nested packages left to their parent', () => {
    const listing = [
      '/home/dev/app',
      '/home/dev/app/node_modules/@azure/functions',
      '/home/dev/app/node_modules/@azure/identity',
      '/home/dev/app/node_modules/@azure/identity/node_modules/@azure/core-auth',
      '/home/dev/app/node_modules/tslib',
    ].join('\n');
    expect(helper(['production-packages'], listing)).toMatchObject({ status: 0, stdout: expectedPackages });
  });

  test('production-packages: the C:\\ paths and CRLF line ends of a Windows npm under Git Bash', () => {
    const listing = [
      'C:\\Users\\dev\\app',
      'C:\\Users\\dev\\app\\node_modules\\@azure\\functions',
      'C:\\Users\\dev\\app\\node_modules\\@azure\\identity',
      'C:\\Users\\dev\\app\\node_modules\\@azure\\identity\\node_modules\\@azure\\core-auth',
      'C:\\Users\\dev\\app\\node_modules\\tslib',
      '',
    ].join('\r\n');
    expect(helper(['production-packages'], listing)).toMatchObject({ status: 0, stdout: expectedPackages });
  });

  test('production-packages ships nothing of the emulator workspace: not it, nor what only it needs', () => {
    // The real npm on this checkout, as deploy.sh runs it: npm ls lists the workspace (linked to
    // local/emulator) and its dependencies among the production packages; the helper drops them.
    const listing = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(listing).toContain(path.join('node_modules', '@local', 'eventhubs-emulator'));
    const result = helper(['production-packages'], listing);
    expect(result.status).toBe(0);
    const packages = result.stdout.split('\n').filter(Boolean);
    for (const runtime of ['@azure/event-hubs', '@azure/functions', '@azure/identity', '@azure/storage-blob'])
      expect(packages).toContain(`node_modules/${runtime}`);
    // rhea stays: @azure/event-hubs needs it too.
    expect(packages).toContain('node_modules/rhea');
    for (const emulatorOnly of ['@local/eventhubs-emulator', 'selfsigned', 'ws', '@types/ws'])
      expect(packages).not.toContain(`node_modules/${emulatorOnly}`);
  }, 60_000);

  test('output: one deployment output, and a clear error for a missing one', () => {
    const outputs = JSON.stringify({ functionAppName: { type: 'String', value: 'func-demo-abcd1234' } });
    expect(helper(['output', 'functionAppName'], outputs)).toMatchObject({
      status: 0,
      stdout: 'func-demo-abcd1234\n',
    });
    const missing = helper(['output', 'nope'], outputs);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("the deployment has no output 'nope'");
  });

  test('query-rows: the rows of an Application Insights query result', () => {
    const result = JSON.stringify({
      tables: [
        {
          name: 'PrimaryResult',
          columns: [
            { name: 'timestamp', type: 'datetime' },
            { name: 'message', type: 'string' },
          ],
          rows: [['2026-01-01T00:00:00Z', 'EventProcessed {"partitionId":"0"}']],
        },
      ],
    });
    expect(helper(['query-rows'], result)).toMatchObject({
      status: 0,
      stdout: '2026-01-01T00:00:00Z\tEventProcessed {"partitionId":"0"}\n',
    });
    expect(helper(['query-rows'], JSON.stringify({ tables: [{ rows: [] }] })).stdout).toBe('');
  });
});
