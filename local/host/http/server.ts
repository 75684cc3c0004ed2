// The HTTP front door: routes requests to HTTP-triggered functions and answers with exactly what
// the function returned. Binds 127.0.0.1 unless told otherwise.
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegisteredFunction } from '../coreModule';
import { RpcTypedData } from '../coreTypes';
import { InvocationResult, Invoker } from '../invoke';
import { HostLogger } from '../logger';
import { resolveSettingReferences } from '../settings';
import { compileRoute, findRoute, HttpRoute } from './routes';
import { toRpcHttpRequest, writeRpcHttpResponse } from './rpcHttp';
import { streamThroughProxy } from './streamProxy';

/** The host's default limit for request bodies (100 MB). */
export const MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;
const HTTP_REASON = 'This function was programmatically called via the host APIs.';

export class PortInUseError extends Error {
  readonly code = 'PortInUse';
  constructor(
    readonly port: number,
    readonly host: string,
  ) {
    super(
      `Port ${port} on ${host} is already in use. Stop whatever is listening there, or choose another port ` +
        `with Host.LocalHttpPort in local.settings.json or --port.`,
    );
  }
}

export interface HttpFunction {
  fn: RegisteredFunction;
  route: HttpRoute;
  triggerName: string;
  /** Where the HTTP response comes from: `$return` or a named http output binding. */
  outputName?: string;
}

export interface RunningHttpServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

export function describeHttpFunctions(functions: RegisteredFunction[], routePrefix: string): HttpFunction[] {
  return functions.flatMap((fn) => {
    const bindings = Object.entries(fn.metadata.bindings);
    const trigger = bindings.find(([, b]) => b.type?.toLowerCase() === 'httptrigger');
    if (!trigger) return [];
    const [triggerName, binding] = trigger;
    const output = bindings.find(([, b]) => b.type?.toLowerCase() === 'http' && b.direction === 'out');
    const route = resolveSettingReferences(String(binding.route ?? fn.metadata.name));
    const methods = Array.isArray(binding.methods) ? binding.methods.map(String) : undefined;
    return [
      {
        fn,
        triggerName,
        outputName: output?.[0],
        route: compileRoute(fn.metadata.name, routePrefix, route, methods),
      },
    ];
  });
}

export function startHttpServer(options: {
  host: string;
  port: number;
  functions: HttpFunction[];
  invoker: Invoker;
  capabilities: Record<string, string>;
  logger: HostLogger;
  hostVersion: string;
}): Promise<RunningHttpServer> {
  const routes = options.functions.map((f) => f.route);
  const byName = new Map(options.functions.map((f) => [f.fn.metadata.name, f]));

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      options.logger.log(
        'error',
        `HTTP request ${req.method} ${req.url} failed in the host: ${String(error)}`,
      );
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = decodePathname(req.url ?? '/');
    if (path.toLowerCase() === '/admin/host/status' && method === 'GET') {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ state: 'Running', version: options.hostVersion, processId: process.pid }));
      return;
    }
    const found = findRoute(routes, method, path);
    if (!found) {
      req.resume();
      res.statusCode = 404;
      res.end();
      return;
    }
    const target = byName.get(found.route.functionName)!;
    const proxyUri = options.capabilities.HttpUri;
    if (proxyUri) {
      await streamThroughProxy(proxyUri, req, res, found.params, (invocationId, triggerMetadata) =>
        options.invoker.invoke(target.fn, {
          invocationId,
          inputData: [{ name: target.triggerName, data: { http: {} } }],
          triggerMetadata,
          reason: HTTP_REASON,
        }),
      );
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      res.statusCode = 413;
      res.end();
      return;
    }
    const result = await options.invoker.invoke(target.fn, {
      inputData: [
        { name: target.triggerName, data: toRpcHttpRequest(req, body, found.params, options.capabilities) },
      ],
      triggerMetadata: {},
      reason: HTTP_REASON,
    });
    if (!result.succeeded) {
      res.statusCode = 500;
      res.end();
      return;
    }
    writeRpcHttpResponse(res, httpOutput(target, result), method === 'HEAD');
  }

  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(options.port, options.host) : error);
    });
    server.listen(options.port, options.host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        host: options.host,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}

function httpOutput(target: HttpFunction, result: InvocationResult): RpcTypedData | null | undefined {
  if (!target.outputName) return undefined;
  if (target.outputName === '$return') return result.response?.returnValue;
  return result.response?.outputData?.find((o) => o.name === target.outputName)?.data;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decodePathname(url: string): string {
  const pathname = url.split('?')[0] ?? '/';
  return pathname.replace(/\/{2,}/g, '/');
}
