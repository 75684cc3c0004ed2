// The layout's boundaries are lint errors, not conventions: the project's own ESLint config, run
// on deliberately bad imports placed where they would do harm. ESLint runs once, in a child
// process (its config is an ES module, which jest's module system cannot load).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

const LINT = `
const { ESLint } = require('eslint');
const path = require('node:path');
let input = '';
process.stdin.on('data', (chunk) => (input += chunk)).on('end', async () => {
  const eslint = new ESLint();
  const found = [];
  for (const { file, code } of JSON.parse(input)) {
    const [result] = await eslint.lintText(code, { filePath: path.resolve(file) });
    found.push(result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message));
  }
  process.stdout.write(JSON.stringify(found));
});
`;

interface Case {
  file: string;
  code: string;
}

const importing = (file: string, from: string): Case => ({
  file,
  code: `import { x } from '${from}';\nexport { x };\n`,
});

/** The emulator's folder as a relative import from `file`. */
const emulatorFrom = (file: string) => {
  const relative = path.relative(path.dirname(path.join(ROOT, file)), path.join(ROOT, 'local/emulator'));
  return relative.startsWith('.') ? relative : `./${relative}`;
};

const FROM_SRC: [string, string][] = [
  ['local runs', '../../local/emulator'],
  ['tests', '../../test/e2e/support/waitFor'],
  ['benchmarks', '../../bench/lib/processStats'],
  ['scripts', '../../scripts/lib/checkpoints'],
  ['a devDependency', 'rhea'],
  ['the emulator package', '@local/eventhubs-emulator'],
];
const EMULATOR = '@local/eventhubs-emulator';
const OUTSIDE_EMULATOR = [
  'local/x.ts',
  'local/host/x.ts',
  'local/stack/x.ts',
  'scripts/x.ts',
  'bench/x.ts',
  'test/integration/emulator/x.test.ts',
  'test/e2e/x.test.ts',
];

const OUTSIDE_HOST = ['local/stack/x.ts', 'local/explorer/x.ts', 'scripts/lib/x.ts', 'bench/x.ts'];
/** The local host's folder as a relative import from `file`. */
const hostFrom = (file: string) => {
  const relative = path.relative(path.dirname(path.join(ROOT, file)), path.join(ROOT, 'local/host'));
  return relative.startsWith('.') ? relative : `./${relative}`;
};

const cases: Record<string, Case> = {
  ...Object.fromEntries(FROM_SRC.map(([what, from]) => [`src ${what}`, importing('src/lib/x.ts', from)])),
  'src itself': importing('src/lib/x.ts', './settings'),
  'src a dependency': importing('src/lib/x.ts', '@azure/functions'),
  'host app': importing('local/host/x.ts', '../../src/lib/settings'),
  ...Object.fromEntries(
    OUTSIDE_EMULATOR.flatMap((file) => [
      [`${file} internal`, importing(file, `${emulatorFrom(file)}/amqp/codec`)],
      [`${file} entry by path`, importing(file, `${emulatorFrom(file)}/index`)],
      [`${file} folder by path`, importing(file, emulatorFrom(file))],
      [`${file} package subpath`, importing(file, `${EMULATOR}/amqp/codec`)],
      [`${file} package`, importing(file, EMULATOR)],
    ]),
  ),
  'emulator test internal': importing('local/emulator/test/x.test.ts', '../amqp/codec'),
  'test a sibling named emulator': importing('test/e2e/x.test.ts', '../support/emulator'),
  'bench a sibling named emulator': importing('bench/x.ts', './emulator'),
  ...Object.fromEntries(
    OUTSIDE_HOST.flatMap((file) => [
      [`${file} host internal`, importing(file, `${hostFrom(file)}/settings`)],
      [`${file} host entry`, importing(file, hostFrom(file))],
    ]),
  ),
  'host unit test internal': importing('test/unit/host/x.test.ts', '../../../local/host/settings'),
};

let found: Record<string, string[]>;

beforeAll(() => {
  const names = Object.keys(cases);
  const output = execFileSync(process.execPath, ['-e', LINT], {
    cwd: ROOT,
    input: JSON.stringify(names.map((name) => cases[name])),
    encoding: 'utf8',
  });
  const messages = JSON.parse(output) as string[][];
  found = Object.fromEntries(names.map((name, i) => [name, messages[i]]));
}, 120_000);

describe('import boundaries', () => {
  test.each(FROM_SRC.map(([what]) => what))('src/ may not import %s', (what) => {
    expect(found[`src ${what}`]).toHaveLength(1);
  });

  test('src/ may import its dependencies and itself', () => {
    expect(found['src itself']).toEqual([]);
    expect(found['src a dependency']).toEqual([]);
  });

  test('the local host may not import the app', () => {
    expect(found['host app']).toHaveLength(1);
  });

  test.each(OUTSIDE_EMULATOR)('in %s, the emulator is imported by its package name only', (file) => {
    expect(found[`${file} internal`]).toHaveLength(1);
    expect(found[`${file} entry by path`]).toHaveLength(1);
    expect(found[`${file} folder by path`]).toHaveLength(1);
    expect(found[`${file} package subpath`]).toHaveLength(1);
    expect(found[`${file} package`]).toEqual([]);
  });

  test('the emulator’s own tests may reach inside it; other files named emulator are not it', () => {
    expect(found['emulator test internal']).toEqual([]);
    expect(found['test a sibling named emulator']).toEqual([]);
    expect(found['bench a sibling named emulator']).toEqual([]);
  });

  test.each(OUTSIDE_HOST)('in %s, the local host is imported through its index only', (file) => {
    expect(found[`${file} host internal`]).toHaveLength(1);
    expect(found[`${file} host entry`]).toEqual([]);
  });

  test('the local host’s own unit tests may reach inside it', () => {
    expect(found['host unit test internal']).toEqual([]);
  });
});
