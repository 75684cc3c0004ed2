// infra/ as the real Bicep compiler produces it, for the content checks of templates.test.ts and
// templateServices.test.ts: `bicep build` of main.bicep and main.bicepparam (for expressions) and
// `bicep snapshot` (for evaluated names and ids), with and without a developer principal. Without a
// compiler those checks are skipped (describeCompiled); CI restores one, so there its absence fails.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Json } from './arm';
import { copyInfra, findBicep, repoRoot, runBicep } from './bicep';

export const compiler = findBicep();
// CI restores the compiler (.ci/run -> scripts/install-bicep.sh); there, its absence is a failure.
export const compilerRequired = process.env.CI === 'true';

export const describeCompiled = compiler === undefined ? describe.skip : describe;
export const COMPILED_TITLE = `infra/ compiled with Bicep ${compiler?.version ?? '(none)'} from ${compiler?.origin ?? '-'}`;

// Built-in role definitions (the same ids in every tenant).
export const ROLES = {
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975',
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
} as const;

export const SNAPSHOT_CONTEXT = {
  subscriptionId: '00000000-0000-0000-0000-00000000aaaa',
  tenantId: '00000000-0000-0000-0000-00000000bbbb',
  resourceGroup: 'rg-demo',
  location: 'swedencentral',
};
export const DEVELOPER_ID = '11111111-2222-3333-4444-555555555555';

export function bicepFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.bicep(param)?$/.test(entry.name))
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)))
    .sort();
}

export interface CompiledInfra {
  /** A copy of infra/ the compiler wrote into (tests may write more there). */
  work: string;
  build: ReturnType<typeof runBicep>;
  buildParams: ReturnType<typeof runBicep>;
  /** main.json; undefined when the build failed. */
  template: Json;
  snapshot: Json;
  snapshotWithoutDeveloper: Json;
}

export function runSnapshot(
  work: string,
  namePrefix: string,
  developerId: string,
): ReturnType<typeof runBicep> {
  return runBicep(
    compiler!,
    [
      'snapshot',
      'main.bicepparam',
      '--subscription-id',
      SNAPSHOT_CONTEXT.subscriptionId,
      '--tenant-id',
      SNAPSHOT_CONTEXT.tenantId,
      '--resource-group',
      SNAPSHOT_CONTEXT.resourceGroup,
      '--location',
      SNAPSHOT_CONTEXT.location,
    ],
    { cwd: work, env: { NAME_PREFIX: namePrefix, DEVELOPER_PRINCIPAL_ID: developerId } },
  );
}

function takeSnapshot(work: string, developerId: string): Json {
  const run = runSnapshot(work, 'demo', developerId);
  if (run.status !== 0) throw new Error(`bicep snapshot failed:\n${run.stderr}`);
  const result = JSON.parse(readFileSync(path.join(work, 'main.snapshot.json'), 'utf8'));
  expect(result.diagnostics).toEqual([]);
  return result;
}

/** For a beforeAll (it takes tens of seconds: give it 180 s). */
export function compileInfra(): CompiledInfra {
  const work = copyInfra();
  const build = runBicep(
    compiler!,
    ['build', 'main.bicep', '--outfile', 'main.json', '--diagnostics-format', 'sarif'],
    {
      cwd: work,
    },
  );
  const buildParams = runBicep(
    compiler!,
    ['build-params', 'main.bicepparam', '--outfile', 'main.parameters.json', '--diagnostics-format', 'sarif'],
    { cwd: work, env: { NAME_PREFIX: 'demo', DEVELOPER_PRINCIPAL_ID: '' } },
  );
  const compiled = { work, build, buildParams } as CompiledInfra;
  if (build.status === 0) compiled.template = JSON.parse(readFileSync(path.join(work, 'main.json'), 'utf8'));
  if (build.status === 0) {
    compiled.snapshot = takeSnapshot(work, DEVELOPER_ID);
    compiled.snapshotWithoutDeveloper = takeSnapshot(work, '');
  }
  return compiled;
}
