// One invocation, driven the way the Node.js worker drives it: the library's invocation model turns
// the RPC-shaped request into the handler's arguments, hooks run around the handler, and the library
// turns the result back into an RPC response. The handler is never called around the library.
import { randomUUID } from 'node:crypto';
import { type AppRegistry, type RegisteredFunction } from './coreModule';
import {
  type CoreInvocationContext,
  type HookData,
  type InvocationState,
  type RpcInvocationRequest,
  type RpcInvocationResponse,
  type RpcLogCategory,
  type RpcLogLevel,
} from './coreTypes';
import { type HostLogger } from './logger';
import { type InvocationRecorder } from './recorder';

export interface InvocationInit {
  /** Given when something outside the invocation must know it first (the HTTP streaming proxy). */
  invocationId?: string;
  inputData: NonNullable<RpcInvocationRequest['inputData']>;
  triggerMetadata?: RpcInvocationRequest['triggerMetadata'];
  retryContext?: RpcInvocationRequest['retryContext'];
  /** Shown in the "Executing" line, as the host does (e.g. why the function ran). */
  reason: string;
  /** Extra line after "Executing" (the Event Hubs trigger prints its batch coordinates). */
  details?: string;
  /**
   * The host could not bind the trigger input: the invocation fails before the worker sees it (no
   * hooks, no handler), with this flattened exception text after Core Tools' first line.
   */
  bindingFailure?: string;
}

/** An invocation that failed in the host's binding, before the worker. */
export class HostBindingFailure extends Error {
  override readonly name = 'FunctionInvocationException';
}

export interface InvocationResult {
  invocationId: string;
  /** Wall clock (ms since the epoch) when the invocation began. */
  startedAt: number;
  succeeded: boolean;
  error?: unknown;
  response?: RpcInvocationResponse;
  durationMs: number;
}

export class Invoker {
  private readonly registry: AppRegistry;
  private readonly logger: HostLogger;
  private readonly recorder?: InvocationRecorder;

  constructor(registry: AppRegistry, logger: HostLogger, recorder?: InvocationRecorder) {
    this.registry = registry;
    this.logger = logger;
    this.recorder = recorder;
  }

  async invoke(fn: RegisteredFunction, init: InvocationInit): Promise<InvocationResult> {
    const invocationId = init.invocationId ?? randomUUID();
    const name = fn.metadata.name;
    const startedAt = Date.now();
    const started = process.hrtime.bigint();
    const category = `Function.${name}`;
    this.logger.log(
      'information',
      `Executing 'Functions.${name}' (Reason='${init.reason}', Id=${invocationId})`,
      category,
    );
    if (init.details) this.logger.log('information', init.details, category);

    const invocation = new InvocationRun(this.registry, this.logger, fn, {
      invocationId,
      functionId: name,
      inputData: init.inputData,
      triggerMetadata: init.triggerMetadata ?? {},
      retryContext: init.retryContext,
    });
    let result: InvocationResult;
    try {
      if (init.bindingFailure !== undefined) throw new HostBindingFailure(init.bindingFailure);
      const response = await invocation.run();
      result = { invocationId, startedAt, succeeded: true, response, durationMs: elapsedMs(started) };
    } catch (error) {
      result = { invocationId, startedAt, succeeded: false, error, durationMs: elapsedMs(started) };
    }

    const duration = Math.round(result.durationMs);
    const outcome = result.succeeded ? 'Succeeded' : 'Failed';
    this.logger.log(
      result.succeeded ? 'information' : 'error',
      `Executed 'Functions.${name}' (${outcome}, Id=${invocationId}, Duration=${duration}ms)`,
      category,
    );
    if (!result.succeeded) {
      this.logger.log('error', describeFailure(name, result.error), category);
    }
    this.recorder?.record(
      name,
      result,
      invocation.handlerInputs,
      invocation.invocationContext,
      init.retryContext,
    );
    return result;
  }
}

/** The state of one invocation: the worker's CoreInvocationContext plus the hook contexts. */
class InvocationRun {
  private readonly registry: AppRegistry;
  private readonly logger: HostLogger;
  private readonly fn: RegisteredFunction;
  private readonly request: RpcInvocationRequest & { invocationId: string };
  private readonly hookData: HookData = {};
  private state: InvocationState | undefined;
  invocationContext: unknown;
  handlerInputs: unknown[] = [];

  constructor(
    registry: AppRegistry,
    logger: HostLogger,
    fn: RegisteredFunction,
    request: RpcInvocationRequest & { invocationId: string },
  ) {
    this.registry = registry;
    this.logger = logger;
    this.fn = fn;
    this.request = request;
  }

  async run(): Promise<RpcInvocationResponse> {
    const programmingModel = this.registry.programmingModel;
    if (!programmingModel)
      throw new Error('The app did not set a programming model (@azure/functions not loaded?)');
    const model = await programmingModel.getInvocationModel(this.coreContext());

    const args = await model.getArguments();
    this.invocationContext = args.context;
    const pre = {
      ...this.sharedHookFields(),
      inputs: args.inputs,
      functionCallback: this.fn.callback,
    };
    await this.inState('preInvocationHooks', () => this.runHooks('preInvocation', pre));
    this.handlerInputs = pre.inputs;

    const post = {
      ...this.sharedHookFields(),
      inputs: pre.inputs,
      result: null as unknown,
      error: null as unknown,
    };
    await this.inState('invocation', async () => {
      try {
        post.result = await model.invokeFunction(args.context, pre.inputs, pre.functionCallback);
      } catch (error) {
        post.error = error;
      }
    });
    await this.inState('postInvocationHooks', () => this.runHooks('postInvocation', post));
    if (post.error !== null && post.error !== undefined) throw post.error;
    return model.getResponse(args.context, post.result);
  }

  private coreContext(): CoreInvocationContext {
    const getState = () => this.state;
    const setState = (state: InvocationState | undefined) => (this.state = state);
    return {
      invocationId: this.request.invocationId,
      request: this.request,
      metadata: this.fn.metadata,
      get state() {
        return getState();
      },
      set state(value) {
        setState(value);
      },
      log: (level, category, message) => this.log(level, category, message),
    };
  }

  /** hookData, appHookData and invocationContext are read-only on hook contexts, as in the worker. */
  private sharedHookFields() {
    const fields = {};
    readOnly(fields, 'hookData', () => this.hookData);
    readOnly(fields, 'appHookData', () => this.registry.appHookData);
    readOnly(fields, 'invocationContext', () => this.invocationContext);
    return fields;
  }

  private async inState(state: InvocationState, action: () => Promise<void>): Promise<void> {
    this.state = state;
    try {
      await action();
    } finally {
      this.state = undefined;
    }
  }

  private async runHooks(name: 'preInvocation' | 'postInvocation', context: object): Promise<void> {
    for (const callback of [...this.registry.hooks[name]]) await callback(context);
  }

  private log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
    const entry = runLogHooks(this.registry, level, category, message, {
      hookData: this.hookData,
      invocationContext: this.invocationContext,
    });
    const name = this.fn.metadata.name;
    this.logger.log(
      entry.level,
      entry.message,
      category === 'user' ? `Function.${name}.User` : `Function.${name}`,
    );
  }
}

/**
 * Gives the app's `log` hooks a look at a log entry. Hooks may change the level and message of the
 * app's own (user) logs only; a hook that throws cannot suppress a log.
 */
export function runLogHooks(
  registry: AppRegistry,
  level: RpcLogLevel,
  category: RpcLogCategory,
  message: string,
  invocation?: { hookData: HookData; invocationContext: unknown },
): { level: RpcLogLevel; message: string } {
  // Nobody to look at the entry: no context to build (a consumer logs a line per event).
  if (registry.hooks.log.length === 0) return { level, message };
  const context = { level, message };
  readOnly(context, 'category', () => category);
  readOnly(context, 'hookData', () => invocation?.hookData ?? {});
  readOnly(context, 'appHookData', () => registry.appHookData);
  readOnly(context, 'invocationContext', () => invocation?.invocationContext);
  try {
    for (const callback of registry.hooks.log) callback(context);
  } catch {
    // A faulty log hook must not hide the log itself.
  }
  return category === 'user' ? { level: context.level, message: context.message } : { level, message };
}

export function readOnly(target: object, property: string, get: () => unknown): void {
  Object.defineProperty(target, property, {
    enumerable: true,
    get,
    set() {
      throw new TypeError(`Cannot assign to read only property '${property}'`);
    },
  });
}

function describeFailure(name: string, error: unknown): string {
  // Utility.FlattenException of FunctionInvocationException -> binding exceptions, as Core Tools shows it.
  if (error instanceof HostBindingFailure) {
    return `System.Private.CoreLib: Exception while executing function: Functions.${name}. ${error.message}`;
  }
  const message =
    error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
  const stack = error instanceof Error && error.stack ? `\nStack: ${error.stack}` : '';
  return `Exception while executing function: Functions.${name}. Result: Failure\nException: ${message}${stack}`;
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}
