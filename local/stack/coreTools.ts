// `npm run start:func`: the real Functions host (Core Tools' `func start`) against the same local
// Azurite and Event Hubs emulator, when Core Tools is installed. It is never a dependency of this
// project (its npm package downloads a .NET binary at install time).
import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export const CORE_TOOLS_MISSING =
  'Azure Functions Core Tools (func) is not on PATH. Install it - ' +
  'https://learn.microsoft.com/azure/azure-functions/functions-run-local - or run `npm start`, ' +
  "which uses this project's local host and needs nothing but Node.js.";

export function findOnPath(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const extension of extensions) {
      const candidate = path.join(dir, command + extension.toLowerCase());
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
