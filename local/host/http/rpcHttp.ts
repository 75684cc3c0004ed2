// Conversions between a real HTTP exchange and the RPC shapes the worker protocol uses, following
// what the Functions host sends for the capabilities the Node.js worker declares (raw body bytes,
// nullable dictionaries) and how it writes the function's response back.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type RpcHttpCookie,
  type RpcHttpData,
  type RpcNullableString,
  type RpcTypedData,
} from '../coreTypes';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length']);

export function toRpcHttpRequest(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  params: Record<string, string>,
  capabilities: Record<string, string>,
): RpcTypedData {
  const nullable = Boolean(capabilities.UseNullableValueDictionaryForHttp);
  // Empty header values are dropped only on the older, non-nullable path.
  const headers = groupHeaders(
    req.rawHeaders,
    !nullable && Boolean(capabilities.IgnoreEmptyValuedRpcHttpHeaders),
  );
  const query = flattenQuery(url);

  const http: RpcHttpData = { method: req.method ?? 'GET', url: url.href };
  if (nullable) {
    http.nullableHeaders = toNullable(headers);
    http.nullableQuery = toNullable(query);
    http.nullableParams = toNullable(params);
  } else {
    http.headers = headers;
    http.query = query;
    http.params = params;
  }
  if (body.length > 0)
    http.body = capabilities.RawHttpBodyBytes ? { bytes: body } : { string: body.toString('utf8') };
  return { http };
}

/**
 * Writes the function's HTTP output. No output at all is 200 with an empty body, as the host answers:
 * WorkerFunctionInvoker.BindOutputsAsync skips a null output, and FunctionInvocationMiddleware then
 * returns an OkResult.
 */
export function writeRpcHttpResponse(
  res: ServerResponse,
  output: RpcTypedData | null | undefined,
  head: boolean,
): void {
  const http = output?.http;
  if (!http) {
    res.statusCode = 200;
    res.setHeader('content-length', 0);
    res.end();
    return;
  }
  res.statusCode = Number.parseInt(http.statusCode ?? '200', 10) || 200;
  for (const [name, value] of Object.entries(http.headers ?? {})) {
    if (!HOP_BY_HOP.has(name.toLowerCase())) res.setHeader(name, value);
  }
  const cookies = (http.cookies ?? []).map(formatCookie);
  if (cookies.length > 0) {
    const existing = res.getHeader('set-cookie');
    const previous = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
    res.setHeader('set-cookie', [...previous, ...cookies]);
  }
  const body = typedDataToBuffer(http.body);
  const bodyless = head || res.statusCode === 204 || res.statusCode === 304;
  if (!bodyless) res.setHeader('content-length', body.length);
  res.end(bodyless ? undefined : body);
}

function typedDataToBuffer(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (typeof data.string === 'string') return Buffer.from(data.string, 'utf8');
  if (typeof data.json === 'string') return Buffer.from(data.json, 'utf8');
  if (typeof data.int === 'number') return Buffer.from(String(data.int));
  if (typeof data.double === 'number') return Buffer.from(String(data.double));
  return Buffer.alloc(0);
}

/** Set-Cookie as ASP.NET Core writes it (name and value escaped, path defaults to "/"). */
export function formatCookie(cookie: RpcHttpCookie): string {
  const parts = [`${escapeDataString(cookie.name ?? '')}=${escapeDataString(cookie.value ?? '')}`];
  const expires = cookie.expires?.value;
  if (expires) {
    const ms = Number(expires.seconds ?? 0) * 1000 + Math.floor(Number(expires.nanos ?? 0) / 1e6);
    parts.push(`expires=${new Date(ms).toUTCString()}`);
  }
  const maxAge = cookie.maxAge?.value;
  if (typeof maxAge === 'number') parts.push(`max-age=${Math.trunc(maxAge)}`);
  if (cookie.domain?.value) parts.push(`domain=${cookie.domain.value}`);
  parts.push(`path=${cookie.path?.value || '/'}`);
  if (cookie.secure?.value) parts.push('secure');
  const sameSite = ({ lax: 'lax', strict: 'strict', explicitNone: 'none' } as Record<string, string>)[
    cookie.sameSite ?? 'none'
  ];
  if (sameSite) parts.push(`samesite=${sameSite}`);
  if (cookie.httpOnly?.value) parts.push('httponly');
  return parts.join('; ');
}

/** Header names lower-cased; repeated headers joined with "," as ASP.NET's StringValues. */
function groupHeaders(rawHeaders: string[], dropEmpty: boolean): Record<string, string> {
  const grouped: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1];
    if (value === '' && dropEmpty) continue;
    (grouped[name] ??= []).push(value);
  }
  return Object.fromEntries(Object.entries(grouped).map(([name, values]) => [name, values.join(',')]));
}

function toNullable(values: Record<string, string>): Record<string, RpcNullableString> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, { value }]));
}

/** .NET's Uri.EscapeDataString: everything but unreserved characters is percent-encoded. */
function escapeDataString(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Query values as the host passes them: one string per name, repeated names joined with commas. */
export function flattenQuery(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
  return query;
}
