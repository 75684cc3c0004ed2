// Builds the library's own HttpRequest and InvocationContext objects, capturing what handlers log.
import { HttpRequest, InvocationContext, type LogLevel, type TriggerMetadata } from '@azure/functions';

export interface CapturedLog {
  level: LogLevel;
  message: string;
}

export function capturingContext(
  options: { triggerMetadata?: TriggerMetadata; retryCount?: number; maxRetryCount?: number } = {},
): { context: InvocationContext; logs: CapturedLog[] } {
  const logs: CapturedLog[] = [];
  const context = new InvocationContext({
    invocationId: 'test-invocation',
    functionName: 'test',
    triggerMetadata: options.triggerMetadata,
    retryContext:
      options.retryCount === undefined
        ? undefined
        : { retryCount: options.retryCount, maxRetryCount: options.maxRetryCount ?? 8 },
    logHandler: (level, ...args) => logs.push({ level, message: args.map(String).join(' ') }),
  });
  return { context, logs };
}

export interface RequestOptions {
  method?: string;
  /** Query string without the leading `?`, e.g. `partitionKey=a`. */
  query?: string;
  contentType?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * As the Functions host delivers requests, a body comes with its Content-Length header (it passes no
   * body without one); set false to leave the header out, as for a chunked upload.
   */
  contentLength?: boolean;
}

export function eventsRequest(options: RequestOptions = {}): HttpRequest {
  const headers: Record<string, string> = { ...options.headers };
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const declared = Object.keys(headers).some((name) => name.toLowerCase() === 'content-length');
  if (options.body !== undefined && options.contentLength !== false && !declared) {
    headers['content-length'] = String(Buffer.byteLength(options.body));
  }
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? { string: options.body }
        : { bytes: options.body };
  return new HttpRequest({
    method: options.method ?? 'POST',
    url: `http://localhost:7071/api/events${options.query ? `?${options.query}` : ''}`,
    headers,
    body,
  });
}
