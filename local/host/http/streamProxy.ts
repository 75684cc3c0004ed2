// HTTP streaming (`app.setup({ enableHttpStream: true })`): the library then runs its own HTTP proxy
// and reports its address as the HttpUri capability. As the host does, the request is forwarded to
// that proxy with the invocation id, while the invocation itself carries only the headers, query and
// route parameters as trigger metadata; the library writes the response to the proxy, which streams
// it back here.
import { randomUUID } from 'node:crypto';
import { IncomingMessage, request as httpRequest, ServerResponse } from 'node:http';
import { RpcTypedData } from '../coreTypes';
import { InvocationResult } from '../invoke';
import { flattenQuery } from './rpcHttp';

const INVOCATION_ID_HEADER = 'x-ms-invocation-id';

export function streamThroughProxy(
  proxyUri: string,
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
  invoke: (invocationId: string, triggerMetadata: Record<string, RpcTypedData>) => Promise<InvocationResult>,
): Promise<void> {
  const invocationId = randomUUID();
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query = flattenQuery(url);
  const triggerMetadata: Record<string, RpcTypedData> = {
    Headers: { json: JSON.stringify(headers) },
    Query: { json: JSON.stringify(query) },
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
    upstream.on('response', (proxied) => {
      const { [INVOCATION_ID_HEADER]: _id, ...responseHeaders } = proxied.headers;
      res.writeHead(proxied.statusCode ?? 500, responseHeaders);
      proxied.pipe(res);
      proxied.on('end', resolve);
    });
    const fail = () => {
      upstream.destroy();
      if (!res.headersSent) res.statusCode = 500;
      res.end();
      resolve();
    };
    upstream.on('error', fail);
    req.pipe(upstream);
    invoke(invocationId, triggerMetadata).then((result) => {
      if (!result.succeeded) fail();
    }, fail);
  });
}
