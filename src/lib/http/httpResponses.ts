// The response shapes of POST /api/events.
import type { HttpResponseInit } from '@azure/functions';
import type { HttpError } from './httpErrors';
import type { PublishResult, Routing } from '../publish/publisher';

export function acceptedResponse(
  result: PublishResult,
  routing: Routing,
  traceparent: string,
): HttpResponseInit {
  return { status: 202, jsonBody: { ...result, routing, traceparent } };
}

/** `{"error": {"code", "message", ...fields}}`; HEAD answers carry no body. */
export function errorResponse(error: HttpError, method: string): HttpResponseInit {
  const headers = error.headers;
  if (method === 'HEAD') return { status: error.status, headers };
  return {
    status: error.status,
    headers,
    jsonBody: { error: { code: error.code, message: error.message, ...error.fields } },
  };
}
