// Supplies `@azure/functions-core` to the app, as the Node.js worker does: the worker answers
// `require('@azure/functions-core')` itself (the module is not on npm). @azure/functions asks for it
// once, lazily, on the app's first `app.*` call; without it the library silently enters "test mode"
// and registers nothing. So this must be installed before the app's entry point is loaded.
import Module from 'node:module';
import {
  type FunctionCallback,
  type FunctionMetadata,
  HOOK_NAMES,
  type HookCallback,
  type HookData,
  type HookName,
  type ProgrammingModel,
  type RpcLogCategory,
  type RpcLogLevel,
} from './coreTypes';

export const CORE_MODULE_NAME = '@azure/functions-core';
/** Reported as `hostVersion`; the library only uses it for diagnostics. */
export const LOCAL_HOST_VERSION = '4.0.0-local';

export interface RegisteredFunction {
  metadata: FunctionMetadata;
  callback: FunctionCallback;
}

export class Disposable {
  private callOnDispose: () => unknown;

  constructor(callOnDispose: () => unknown) {
    this.callOnDispose = callOnDispose;
  }

  static from(...disposables: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => disposables.forEach((d) => d.dispose()));
  }

  dispose(): unknown {
    return this.callOnDispose();
  }
}

/** Everything the app hands to the host while it loads. */
export class AppRegistry {
  programmingModel?: ProgrammingModel;
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks: Record<HookName, HookCallback[]> = {
    appStart: [],
    appTerminate: [],
    preInvocation: [],
    postInvocation: [],
    log: [],
  };
  /** Shared by every hook of the app (`appHookData`). */
  readonly appHookData: HookData = {};
  /** `hookData` of the app-level hooks (appStart / appTerminate). */
  readonly appLevelHookData: HookData = {};
  startupFinished = false;
  /** Receives logs written outside any invocation (`coreApi.log`). */
  systemLog: (level: RpcLogLevel, category: RpcLogCategory, message: string) => void = () => {};

  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
    if (this.startupFinished) throw new Error('A function can only be registered during app startup.');
    const name = metadata.name;
    if (this.functions.has(name)) throw new Error(`A function named "${name}" is already registered.`);
    this.functions.set(name, { metadata, callback });
    return new Disposable(() => {
      if (this.startupFinished) throw new Error('A function can only be disposed during app startup.');
      this.functions.delete(name);
    });
  }

  registerHook(hookName: string, callback: HookCallback): Disposable {
    if (!HOOK_NAMES.includes(hookName as HookName)) throw new RangeError(`Unrecognized hook "${hookName}"`);
    const callbacks = this.hooks[hookName as HookName];
    callbacks.push(callback);
    return new Disposable(() => {
      const index = callbacks.indexOf(callback);
      if (index >= 0) callbacks.splice(index, 1);
    });
  }
}

/** The object `require('@azure/functions-core')` returns. */
export function createCoreApi(registry: AppRegistry) {
  return {
    version: LOCAL_HOST_VERSION,
    hostVersion: LOCAL_HOST_VERSION,
    Disposable,
    setProgrammingModel(programmingModel: ProgrammingModel): void {
      registry.programmingModel = programmingModel;
    },
    getProgrammingModel(): ProgrammingModel | undefined {
      return registry.programmingModel;
    },
    registerFunction: (metadata: FunctionMetadata, callback: FunctionCallback) =>
      registry.registerFunction(metadata, callback),
    registerHook: (hookName: string, callback: HookCallback) => registry.registerHook(hookName, callback),
    log: (level: RpcLogLevel, category: RpcLogCategory, message: string) =>
      registry.systemLog(level, category, message),
  };
}

let installed = false;

/** Makes `require('@azure/functions-core')` return the core API everywhere in this process. */
export function installCoreModule(registry: AppRegistry): void {
  if (installed) throw new Error(`${CORE_MODULE_NAME} is already installed in this process`);
  installed = true;
  const coreApi = createCoreApi(registry);
  Module.prototype.require = new Proxy(Module.prototype.require, {
    apply(target, thisArg, args: [string]) {
      return args[0] === CORE_MODULE_NAME ? coreApi : Reflect.apply(target, thisArg, args);
    },
  }) as typeof Module.prototype.require;
}
