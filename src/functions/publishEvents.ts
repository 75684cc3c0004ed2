// POST /api/events: publishes the request's events to Event Hubs in as few batches as possible.
// Request forms, statuses and settings: docs/app.md.
import { app, type HttpHandler, type HttpMethod, type HttpResponseInit } from '@azure/functions';
import { closeSharedProducer, getSharedProducer } from '../lib/publish/eventHubClient';
import { EventHubsDeadline } from '../lib/publish/eventHubsDeadline';
import { HttpError, publishFailure } from '../lib/http/httpErrors';
import { acceptedResponse, errorResponse } from '../lib/http/httpResponses';
import { findUnknownPartition } from '../lib/publish/partitionIds';
import { publishEvents as publish, type EventProducer } from '../lib/publish/publisher';
import { describeError } from '../lib/redact';
import { parsePublishRequest } from '../lib/http/requestParsing';
import { readPublisherSettings, SettingsError, type PublisherSettings } from '../lib/settings';
import { requestTraceContext, stampTraceContext } from '../lib/traceContext';

export interface PublishEventsDependencies {
  readSettings(): PublisherSettings;
  getProducer(): EventProducer;
}

/**
 * Registered for these methods so that the others get a JSON 405 with `Allow: POST`, not the host's bare
 * 404. Not TRACE and CONNECT: the library cannot build a request object for them (the fetch Request
 * constructor refuses both), so the invocation would fail with a 500 before this code runs; unregistered,
 * the host answers them 404 instead.
 */
const ANSWERED_METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

export function createPublishEventsHandler(dependencies: PublishEventsDependencies): HttpHandler {
  const handle = createHandler(dependencies);
  // Never throw: the host would answer an empty 500, and with HTTP streams enabled none at all
  // (azure-functions-nodejs-library #324).
  return async (request, context): Promise<HttpResponseInit> => {
    try {
      return await handle(request, context);
    } catch (error) {
      context.error(
        `PublishFailed ${JSON.stringify({ status: 500, code: 'internal_error', error: describeError(error) })}`,
      );
      const internal = new HttpError(
        500,
        'internal_error',
        "The request failed unexpectedly; see the function's logs.",
      );
      return errorResponse(internal, request.method);
    }
  };
}

function createHandler(dependencies: PublishEventsDependencies): HttpHandler {
  return async (request, context): Promise<HttpResponseInit> => {
    if (request.method !== 'POST') {
      const error = new HttpError(
        405,
        'method_not_allowed',
        `${request.method} is not allowed; publish events with POST.`,
        {},
        { Allow: 'POST' },
      );
      return errorResponse(error, request.method);
    }

    let settings: PublisherSettings;
    let producer: EventProducer;
    let parsed;
    try {
      settings = dependencies.readSettings();
      parsed = await parsePublishRequest(request, settings);
      producer = dependencies.getProducer();
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error, request.method);
      if (error instanceof SettingsError) {
        context.error(`Configuration error: ${error.message}`);
        const configuration = new HttpError(
          500,
          'configuration_error',
          "The app is misconfigured; see the function's logs.",
        );
        return errorResponse(configuration, request.method);
      }
      throw error;
    }

    const { events, routing } = parsed;
    const traceparent = stampTraceContext(
      events,
      requestTraceContext(request.headers.get('traceparent'), context.traceContext?.traceParent),
    );
    const deadline = new EventHubsDeadline(settings.publishTimeoutMs);
    try {
      if (routing.type === 'partitionId') {
        const partitionIds = await findUnknownPartition(producer, routing.partitionId, deadline);
        if (partitionIds !== undefined) {
          const unknown = new HttpError(
            400,
            'unknown_partition_id',
            `The event hub has no partition "${routing.partitionId.slice(0, 100)}"; valid ids: ${partitionIds.join(', ')}.`,
            { partitionIds },
          );
          return errorResponse(unknown, request.method);
        }
      }
      return acceptedResponse(await publish(producer, events, routing, deadline), routing, traceparent);
    } catch (error) {
      const answer = publishFailure(error, routing);
      if (answer.status >= 500) {
        const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
        const log = {
          status: answer.status,
          code: answer.code,
          ...answer.fields,
          error: describeError(cause),
        };
        const line = `PublishFailed ${JSON.stringify(log)}`;
        if (answer.status === 503) context.warn(line);
        else context.error(line);
      }
      return errorResponse(answer, request.method);
    }
  };
}

export const publishEvents = createPublishEventsHandler({
  readSettings: () => readPublisherSettings(process.env),
  getProducer: getSharedProducer,
});

app.http('publishEvents', {
  route: 'events',
  methods: ANSWERED_METHODS,
  authLevel: 'function',
  handler: publishEvents,
});

app.hook.appTerminate(async () => {
  await closeSharedProducer();
});
