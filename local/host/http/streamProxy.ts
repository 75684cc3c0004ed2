// HTTP streaming (`app.setup({ enableHttpStream: true })`): the library then runs its own HTTP proxy
// and reports its address as the HttpUri capability. As the host does (DefaultHttpProxyService,
// GrpcMessageConversionExtensions.ToRpcHttp sending an empty RpcHttp), the request is forwarded to
// that proxy with the invocation id, while the invocation itself carries only the headers, query and
// route parameters as trigger metadata; the library writes the response to the proxy, which streams
// it back here. The body streams through under the same limits as a buffered one (size, data rate,
// framing); a body without Content-Length (chunked) is passed on, as the proxy passes it in Azure.
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { type RpcTypedData } from '../coreTypes';
import { type InvocationResult } from '../invoke';
import type { Exchange } from './exchanges';
import type { HostLimits } from './hostLimits';
import { type HostRefusal, writeRefusal } from './refusals';
import { tooLarge, watchBodyRate } from './requestBody';
import { flattenQuery } from './rpcHttp';

const INVOCATION_ID_HEADER = 'x-ms-invocation-id';

export function streamThroughProxy(
  proxyUri: string,
  exchange: Exchange,
  url: URL,
  params: Record<string, string>,
  limits: HostLimits,
  invoke: (invocationId: string, triggerMetadata: Record<string, RpcTypedData>) => Promise<InvocationResult>,
): Promise<void> {
  const { req, res } = exchange;
  const invocationId = randomUUID();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const triggerMetadata: Record<string, RpcTypedData> = {
    Headers: { json: JSON.stringify(headers) },
    Query: { json: JSON.stringify(flattenQuery(url)) },
  };
  for (const [name, value] of Object.entries(params)) triggerMetadata[name] = { string: value };

  return new Promise((resolve) => {
    const upstream = httpRequest(new URL(`${url.pathname}${url.search}`, proxyUri), {
      method: req.method,
      headers: {
        ...req.headers,
        [INVOCATION_ID_HEADER]: invocationId,
        'x-forwarded-host': req.headers.host ?? url.host,
        'x-forwarded-proto': 'http',
      },
    });
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      stopWatching();
      resolve();
    };
    const refuse = (fault: HostRefusal) => {
      if (finished) return;
      upstream.destroy();
      req.unpipe(upstream);
      writeRefusal(req, res, fault);
      finish();
    };
    const fail = () => {
      if (finished) return;
      upstream.destroy();
      if (!res.headersSent) res.statusCode = 500;
      res.end();
      finish();
    };

    let received = 0;
    const stopWatching = watchBodyRate(limits, () => received, refuse);
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxRequestBodyBytes) refuse(tooLarge(limits));
    });
    req.once('end', () => {
      stopWatching();
      exchange.invoked = true;
    });
    exchange.onFault(refuse);

    upstream.on('response', (proxied) => {
      if (finished) return void proxied.resume();
      const { [INVOCATION_ID_HEADER]: _id, ...responseHeaders } = proxied.headers;
      res.writeHead(proxied.statusCode ?? 500, responseHeaders);
      proxied.pipe(res);
      proxied.on('end', finish);
    });
    upstream.on('error', fail);
    req.pipe(upstream);
    invoke(invocationId, triggerMetadata).then((result) => {
      if (!result.succeeded) fail();
    }, fail);
  });
}
