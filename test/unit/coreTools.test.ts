// Which func `npm run start:func` runs. The Core Tools binary cannot be downloaded on this machine, so
// the installed package and its binary are played by stand-ins in a throwaway project: a package.json
// with the pinned version, and a two-line executable where the install script would put `bin/func`.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CORE_TOOLS_MISSING, findCoreTools } from '../../local/stack/coreTools';
import { type TempDir, tempDir } from '../support/tempDir';

function executable(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\necho 4.13.2\n');
  chmodSync(file, 0o755);
  return file;
}

describe('findCoreTools (npm run start:func)', () => {
  let project: string;
  let packageDir: string;
  let elsewhere: string;

  let folder: TempDir;

  beforeEach(() => {
    folder = tempDir('core-tools');
    project = folder.path;
    packageDir = path.join(project, 'node_modules', 'azure-functions-core-tools');
    elsewhere = path.join(project, 'global-bin');
    mkdirSync(elsewhere);
  });
  afterEach(() => folder.remove());

  const installPackage = () => {
    mkdirSync(path.join(packageDir, 'lib'), { recursive: true });
    writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify({ version: '4.13.2' }));
    writeFileSync(
      path.join(packageDir, 'lib', 'main.js'),
      '// the launcher: downloads the binary when missing\n',
    );
    // What npm links into node_modules/.bin, first on PATH under `npm run`.
    mkdirSync(path.join(project, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(path.join(packageDir, 'lib', 'main.js'), path.join(project, 'node_modules', '.bin', 'func'));
    chmodSync(path.join(packageDir, 'lib', 'main.js'), 0o755);
  };
  const pathWith = (...dirs: string[]) => ({ PATH: dirs.join(path.delimiter) });

  test("uses the project's pinned binary when it is installed", () => {
    installPackage();
    const binary = executable(path.join(packageDir, 'bin', 'func'));
    executable(path.join(elsewhere, 'func'));
    const choice = findCoreTools(project, pathWith(path.join(project, 'node_modules', '.bin'), elsewhere));
    expect(choice.path).toBe(binary);
    expect(choice.message).toBe(
      `Core Tools: the project's pinned azure-functions-core-tools 4.13.2 (${binary})`,
    );
  });

  test('a package present without its binary: func on PATH, never the launcher in node_modules/.bin', () => {
    installPackage();
    const global = executable(path.join(elsewhere, 'func'));
    const choice = findCoreTools(project, pathWith(path.join(project, 'node_modules', '.bin'), elsewhere));
    expect(choice.path).toBe(global);
    expect(choice.message).toBe(
      'Core Tools: azure-functions-core-tools 4.13.2 is installed without its binary (its install script did not ' +
        'run or could not download it; to fetch it: node node_modules/azure-functions-core-tools/lib/install.js); ' +
        `using func on PATH (${global})`,
    );
  });

  test('the package left out by npm (its download failed): func on PATH, saying so', () => {
    const global = executable(path.join(elsewhere, 'func'));
    const choice = findCoreTools(project, pathWith(elsewhere));
    expect(choice.path).toBe(global);
    expect(choice.message).toContain(
      "the project's pinned azure-functions-core-tools is not installed (npm leaves out this optional dependency when its download fails)",
    );
  });

  test('no func anywhere: no path, and the message says what to do', () => {
    installPackage();
    const choice = findCoreTools(project, pathWith(path.join(project, 'node_modules', '.bin')));
    expect(choice.path).toBeUndefined();
    expect(choice.message).toContain('installed without its binary');
    expect(choice.message).toContain(CORE_TOOLS_MISSING);
  });
});
