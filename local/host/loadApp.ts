// Loads the app's entry points (package.json `main`, a glob) the way the worker does, after the
// core module is in place, then asks the programming model for its capabilities (which also locks
// `app.setup`) and runs the appStart hooks.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AppRegistry } from './coreModule';
import { expandGlob } from './glob';

/** What the worker tells the host it supports; the library may add to it (`app.setup`). */
export const DEFAULT_WORKER_CAPABILITIES: Readonly<Record<string, string>> = {
  RawHttpBodyBytes: 'true',
  RpcHttpTriggerMetadataRemoved: 'true',
  RpcHttpBodyOnly: 'true',
  IgnoreEmptyValuedRpcHttpHeaders: 'true',
  UseNullableValueDictionaryForHttp: 'true',
  WorkerStatus: 'true',
  TypedDataCollection: 'true',
  HandlesWorkerTerminateMessage: 'true',
};

export class AppLoadError extends Error {
  override readonly name = 'AppLoadError';
  readonly code = 'AppLoadFailed';
}

export interface LoadedApp {
  appRoot: string;
  entryPoints: string[];
  capabilities: Record<string, string>;
}

export async function loadApp(appRoot: string, registry: AppRegistry): Promise<LoadedApp> {
  const packageJsonFile = path.join(appRoot, 'package.json');
  let packageJson: { main?: string; type?: string };
  try {
    packageJson = JSON.parse(readFileSync(packageJsonFile, 'utf8'));
  } catch (error) {
    throw new AppLoadError(`Cannot read ${packageJsonFile}: ${(error as Error).message}`);
  }
  if (!packageJson.main)
    throw new AppLoadError(`${packageJsonFile} has no "main" naming the app's entry points`);

  const entryPoints = expandGlob(packageJson.main, appRoot);
  if (entryPoints.length === 0) {
    throw new AppLoadError(
      `No file matches package.json "main" (${packageJson.main}) in ${appRoot}. Build the app first (npm run build).`,
    );
  }
  for (const file of entryPoints) {
    try {
      if (file.endsWith('.mjs') || (packageJson.type === 'module' && file.endsWith('.js'))) {
        await import(pathToFileURL(file).href);
      } else {
        // CommonJS entry points are required, as the worker does, so they share the module cache.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(file);
      }
    } catch (error) {
      const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
      throw new AppLoadError(`Loading entry point ${path.relative(appRoot, file)} failed: ${reason}`);
    }
  }
  registry.startupFinished = true;

  if (!registry.programmingModel) {
    throw new AppLoadError(
      'The app registered nothing: no entry point called app.http/app.eventHub/... from @azure/functions v4.',
    );
  }
  const defaults = { ...DEFAULT_WORKER_CAPABILITIES };
  const capabilities = (await registry.programmingModel.getCapabilities?.(defaults)) ?? defaults;

  const appStartContext = {};
  Object.defineProperty(appStartContext, 'hookData', {
    get: () => registry.appLevelHookData,
    enumerable: true,
  });
  Object.defineProperty(appStartContext, 'appHookData', {
    get: () => registry.appHookData,
    enumerable: true,
  });
  Object.defineProperty(appStartContext, 'functionAppDirectory', { value: appRoot, enumerable: true });
  for (const callback of [...registry.hooks.appStart]) await callback(appStartContext);

  return { appRoot, entryPoints, capabilities };
}

/** Runs the appTerminate hooks (graceful shutdown). */
export async function terminateApp(registry: AppRegistry): Promise<void> {
  const context = {};
  Object.defineProperty(context, 'hookData', { get: () => registry.appLevelHookData, enumerable: true });
  Object.defineProperty(context, 'appHookData', { get: () => registry.appHookData, enumerable: true });
  for (const callback of [...registry.hooks.appTerminate]) await callback(context);
}
