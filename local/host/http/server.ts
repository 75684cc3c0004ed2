// The HTTP front door: checks each request as the host's web server does (Host header, framing, body
// size and data rate), routes it to an HTTP-triggered function and answers with exactly what the
// function returned. Binds 127.0.0.1 unless told otherwise. Rules and their sources: docs/fidelity.md.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type RegisteredFunction } from '../coreModule';
import { type RpcTypedData } from '../coreTypes';
import { type InvocationResult, type Invoker } from '../invoke';
import { type HostLogger } from '../logger';
import { resolveSettingReferences } from '../settings';
import { type Exchange, ExchangeTracker } from './exchanges';
import { type HostLimits, readHostLimits } from './hostLimits';
import { refusal, writeRawRefusal, writeRefusal } from './refusals';
import { declaredLength, readDeclaredBody, tooLarge } from './requestBody';
import { checkHostHeader, requestUrl } from './requestHead';
import { compileRoute, findRoute, type HttpRoute } from './routes';
import { toRpcHttpRequest, writeRpcHttpResponse } from './rpcHttp';
import { streamThroughProxy } from './streamProxy';

const NO_BODY: Buffer = Buffer.alloc(0);
/** The category of the web server's own log lines in the real host. */
const KESTREL = 'Microsoft.AspNetCore.Server.Kestrel';
const HTTP_REASON = 'This function was programmatically called via the host APIs.';

export class HostPortInUseError extends Error {
  override readonly name = 'HostPortInUseError';
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
  /** Default: the host's (hostLimits.ts), with FUNCTIONS_REQUEST_BODY_SIZE_LIMIT from the environment. */
  limits?: HostLimits;
}): Promise<RunningHttpServer> {
  const routes = options.functions.map((f) => f.route);
  const byName = new Map(options.functions.map((f) => [f.fn.metadata.name, f]));
  const limits = options.limits ?? readHostLimits();
  const exchanges = new ExchangeTracker();
  let fallbackHost = options.host;

  const server: Server = createServer(
    {
      // Host headers are checked below, to answer as Kestrel does (400) with a reason.
      requireHostHeader: false,
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      // No deadline for a whole request (Kestrel has none); slow bodies are caught by their data rate.
      requestTimeout: 0,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
    },
    (req, res) => {
      const exchange = exchanges.begin(req, res);
      handle(exchange).catch((error) => {
        options.logger.log(
          'error',
          `HTTP request ${req.method} ${req.url} failed in the host: ${String(error)}`,
        );
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    options.logger.log('debug', `Bad request data on a connection: ${error.code ?? error.message}`, KESTREL);
    exchanges.handleClientError(error, socket, answerUnknownMethod);
  });
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    answerConnect(req, socket).catch(() => socket.destroy());
  });

  async function handle(exchange: Exchange): Promise<void> {
    const { req, res } = exchange;
    const method = (req.method ?? 'GET').toUpperCase();
    const refusedHead = checkHostHeader(req);
    if (refusedHead) return writeRefusal(req, res, refusedHead);
    const url = requestUrl(req, fallbackHost);
    if (!url)
      return writeRefusal(
        req,
        res,
        refusal(400, 'invalid_request_target', 'The request target is not a valid URL.'),
      );
    const path = collapseSlashes(url.pathname);
    if (path.toLowerCase() === '/admin/host/status' && method === 'GET') {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ state: 'Running', version: options.hostVersion, processId: process.pid }));
      return;
    }
    const found = findRoute(routes, method, path);
    if (!found) {
      // The host's router matches nothing: ASP.NET Core's 404 with an empty body.
      req.resume();
      res.statusCode = 404;
      res.end();
      return;
    }
    const length = declaredLength(req);
    if (length !== undefined && length > limits.maxRequestBodyBytes) {
      return writeRefusal(req, res, tooLarge(limits));
    }
    const target = byName.get(found.route.functionName)!;
    const proxyUri = options.capabilities.HttpUri;
    if (proxyUri) {
      await streamThroughProxy(
        proxyUri,
        exchange,
        url,
        found.params,
        limits,
        (invocationId, triggerMetadata) =>
          options.invoker.invoke(target.fn, {
            invocationId,
            inputData: [{ name: target.triggerName, data: { http: {} } }],
            triggerMetadata,
            reason: HTTP_REASON,
          }),
      );
      return;
    }
    let body = NO_BODY;
    if (length !== undefined && length > 0) {
      const read = await readDeclaredBody(exchange, length, limits);
      if (read.kind === 'gone') return void res.destroy();
      if (read.kind === 'refused') return writeRefusal(req, res, read.refusal);
      body = read.body;
    } else {
      // No Content-Length (a chunked upload): the host passes no body; the bytes are read and dropped.
      req.resume();
    }
    if (exchange.fault) return writeRefusal(req, res, exchange.fault);
    exchange.invoked = true;
    const result = await options.invoker.invoke(target.fn, {
      inputData: [
        {
          name: target.triggerName,
          data: toRpcHttpRequest(req, url, body, found.params, options.capabilities),
        },
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

  /**
   * A method llhttp does not know (Node's parser refuses it). Kestrel accepts any method token, and the
   * host routes it like any other: 404 unless a function accepts every method, which Azure would run.
   */
  function answerUnknownMethod(socket: Socket, method: string, path: string): void {
    const found = findRoute(routes, method, collapseSlashes(path.split('?')[0]));
    if (!found) return writeRawRefusal(socket, { status: 404 });
    writeRawRefusal(
      socket,
      refusal(
        501,
        'method_not_supported_locally',
        `Node's HTTP parser does not accept the method ${method}; in Azure the host would run function '${found.route.functionName}'.`,
      ),
    );
  }

  /**
   * CONNECT, which Node hands over as a tunnel request. Kestrel treats `CONNECT host:port` as a request
   * with an empty path (no route matches: 404) and routes `CONNECT /path` like other methods; a
   * function that accepts CONNECT then fails, because the library's Request constructor refuses the
   * method, so the invocation runs and fails as it does in Azure (500).
   */
  async function answerConnect(req: IncomingMessage, socket: Socket): Promise<void> {
    const refusedHead = checkHostHeader(req);
    if (refusedHead) return writeRawRefusal(socket, refusedHead);
    const url = requestUrl(req, fallbackHost);
    const found =
      url && (req.url ?? '').startsWith('/')
        ? findRoute(routes, 'CONNECT', collapseSlashes(url.pathname))
        : undefined;
    if (!url || !found) return writeRawRefusal(socket, { status: 404 });
    const target = byName.get(found.route.functionName)!;
    const result = await options.invoker.invoke(target.fn, {
      inputData: [
        {
          name: target.triggerName,
          data: toRpcHttpRequest(req, url, NO_BODY, found.params, options.capabilities),
        },
      ],
      triggerMetadata: {},
      reason: HTTP_REASON,
    });
    writeRawRefusal(socket, { status: result.succeeded ? 200 : 500 });
  }

  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new HostPortInUseError(options.port, options.host) : error);
    });
    server.listen(options.port, options.host, () => {
      const { port } = server.address() as AddressInfo;
      fallbackHost = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
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

/** The host's router sees repeated slashes as one. */
function collapseSlashes(pathname: string): string {
  return pathname.replace(/\/{2,}/g, '/');
}
