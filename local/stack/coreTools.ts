// `npm run start:func`: the real Functions host (Core Tools' `func start`) against the same local
// Azurite and Event Hubs emulator. Which `func`: the project's own, azure-functions-core-tools pinned
// as an optional dependency, when its binary is installed; else a `func` on PATH, saying why. The
// package downloads its binary in an install script; where that download fails npm leaves the package
// out, and where install scripts do not run (npm's install-scripts policy) it is there without a
// binary. Its launcher (node_modules/.bin/func, first on PATH under `npm run`) would then try the
// download at every start, so it is never used. scripts/deploy.sh chooses the same way.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

export const CORE_TOOLS_PACKAGE = 'azure-functions-core-tools';

export const CORE_TOOLS_MISSING =
  'Azure Functions Core Tools (func) is not on PATH. Install it - ' +
  'https://learn.microsoft.com/azure/azure-functions/functions-run-local - or run `npm start`, ' +
  "which uses this project's local host and needs nothing but Node.js.";

export interface CoreToolsChoice {
  /** The func to run; undefined when there is none. */
  path?: string;
  /** What was chosen and why, or why nothing could be: printed as it is. */
  message: string;
}

export function findOnPath(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
  skip: (candidate: string) => boolean = () => false,
): string | undefined {
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const extension of extensions) {
      const candidate = path.join(dir, command + extension.toLowerCase());
      if (skip(candidate)) continue;
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The project's pinned Core Tools if its binary is there, else func on PATH (never the package's launcher). */
export function findCoreTools(appRoot: string, env: NodeJS.ProcessEnv = process.env): CoreToolsChoice {
  const packageDir = path.join(appRoot, 'node_modules', CORE_TOOLS_PACKAGE);
  const binary = path.join(packageDir, 'bin', process.platform === 'win32' ? 'func.exe' : 'func');
  const version = packageVersion(packageDir);
  if (version !== undefined && isExecutable(binary)) {
    return {
      path: binary,
      message: `Core Tools: the project's pinned ${CORE_TOOLS_PACKAGE} ${version} (${binary})`,
    };
  }

  const why =
    version === undefined
      ? `the project's pinned ${CORE_TOOLS_PACKAGE} is not installed (npm leaves out this optional dependency when its download fails)`
      : `${CORE_TOOLS_PACKAGE} ${version} is installed without its binary (its install script did not run or could not download it; ` +
        `to fetch it: node node_modules/${CORE_TOOLS_PACKAGE}/lib/install.js)`;
  const projectBin = path.join(appRoot, 'node_modules', '.bin');
  const onPath = findOnPath(
    'func',
    env,
    (candidate) => isInside(candidate, projectBin) || isInside(candidate, packageDir),
  );
  if (onPath === undefined) return { message: `Core Tools: ${why}. ${CORE_TOOLS_MISSING}` };
  return { path: onPath, message: `Core Tools: ${why}; using func on PATH (${onPath})` };
}

/** Runs `func start` in the app folder, output straight to the terminal, in its own process group. */
export function startCoreTools(funcPath: string, appRoot: string, port: number | undefined): ChildProcess {
  const args = ['start', ...(port === undefined ? [] : ['--port', String(port)])];
  return spawn(funcPath, args, {
    cwd: appRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
    shell: process.platform === 'win32',
  });
}

function packageVersion(packageDir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether a file (or what a link at it points to) is inside a directory. */
function isInside(file: string, dir: string): boolean {
  const within = (candidate: string, parent: string) => {
    const relative = path.relative(parent, candidate);
    return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  };
  if (within(file, dir)) return true;
  if (!existsSync(file) || !existsSync(dir)) return false;
  try {
    return within(realpathSync(file), realpathSync(dir));
  } catch {
    return false;
  }
}
