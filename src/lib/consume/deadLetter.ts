// Keeps failed events for replay: one JSON blob per event in the AzureWebJobsStorage account (the
// account the host already uses for checkpoints). Blob names are deterministic, so a retried batch
// overwrites its earlier dead letters instead of duplicating them. The body is kept exactly (UTF-8 text
// as it is, other bytes in base64) with its content type, so a replay can publish it unchanged.
import { isUtf8 } from 'node:buffer';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { createCredential } from '../credentials';
import { safeJson, type LoggableEvent } from './eventLog';
import { readStorageSettings, SettingsError, SETTING_NAMES, type Environment } from '../settings';
import { coordinateFields, type EventCoordinates } from './triggerEvents';

export interface DeadLetter {
  eventHubName: string;
  consumerGroup: string;
  /** Position of the event in the delivered batch; names the blob when the sequence number is unknown. */
  batchIndex: number;
  /** The batch's sequence number range (from the trigger metadata), for events without their own. */
  batchFirstSequenceNumber: number | null;
  batchLastSequenceNumber: number | null;
  event: LoggableEvent;
  error: string;
  invocationId: string;
  failedAtUtc: string;
}

/** The JSON of a dead-letter blob (what deadLetterDocument writes and operators read back). */
export interface DeadLetterDocument extends EventCoordinates {
  eventHubName: string;
  consumerGroup: string;
  bodyEncoding: 'utf8' | 'base64';
  body: string;
  error: string;
  failedAtUtc: string;
  invocationId: string;
}

export interface DeadLetterStore {
  /** Stores the dead letter and returns `<container>/<blob name>`; rejects when storage is unavailable. */
  save(letter: DeadLetter): Promise<string>;
}

/**
 * `<eventHubName>/<consumerGroup>/<partitionId>/<sequenceNumber>.json`. When the host dropped empty events
 * and the event's own sequence number is unknown: `.../<partitionId>/batch-<first>-<last>-<index>.json`.
 */
export function deadLetterBlobName(letter: DeadLetter): string {
  const { eventHubName, consumerGroup, event } = letter;
  const partition = event.partitionId ?? 'unknown-partition';
  const file =
    event.sequenceNumber !== null
      ? `${event.sequenceNumber}.json`
      : `batch-${letter.batchFirstSequenceNumber ?? 'unknown'}-${letter.batchLastSequenceNumber ?? 'unknown'}-${letter.batchIndex}.json`;
  return `${deadLetterPrefix(eventHubName, consumerGroup)}${partition}/${file}`;
}

/** Where one hub's and consumer group's dead letters are, inside the container. */
export function deadLetterPrefix(eventHubName: string, consumerGroup: string): string {
  return `${eventHubName}/${consumerGroup}/`;
}

/** The blob's JSON: coordinates, content type and the whole body, `utf8` text or `base64`. */
export function deadLetterDocument(letter: DeadLetter): DeadLetterDocument {
  const { event } = letter;
  const utf8 = isUtf8(event.rawBody);
  return {
    eventHubName: letter.eventHubName,
    consumerGroup: letter.consumerGroup,
    ...coordinateFields(event),
    contentType: event.contentType,
    bodyEncoding: utf8 ? 'utf8' : 'base64',
    body: event.rawBody.toString(utf8 ? 'utf8' : 'base64'),
    error: letter.error,
    failedAtUtc: letter.failedAtUtc,
    invocationId: letter.invocationId,
  };
}

/** A dead-letter blob's content, checked field by field; throws on anything else. */
export function parseDeadLetterDocument(text: string): DeadLetterDocument {
  const json: unknown = JSON.parse(text);
  const doc = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const field = (key: string, nullable: boolean) => {
    const value = doc[key];
    if (typeof value === 'string' || (nullable && value === null)) return value;
    throw new Error(`Not a dead letter: "${key}" is missing or not a string`);
  };
  const sequenceNumber = doc.sequenceNumber;
  if (sequenceNumber !== null && !Number.isSafeInteger(sequenceNumber)) {
    throw new Error('Not a dead letter: "sequenceNumber" is not an integer');
  }
  const properties = doc.properties;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    throw new Error('Not a dead letter: "properties" is not an object');
  }
  const bodyEncoding = doc.bodyEncoding;
  if (bodyEncoding !== 'utf8' && bodyEncoding !== 'base64') {
    throw new Error('Not a dead letter: "bodyEncoding" is neither utf8 nor base64');
  }
  return {
    eventHubName: field('eventHubName', false) as string,
    consumerGroup: field('consumerGroup', false) as string,
    partitionId: field('partitionId', true),
    sequenceNumber: sequenceNumber as number | null,
    offset: field('offset', true),
    enqueuedTimeUtc: field('enqueuedTimeUtc', true),
    partitionKey: field('partitionKey', true),
    properties: properties as Record<string, unknown>,
    contentType: field('contentType', true),
    bodyEncoding,
    body: field('body', false) as string,
    error: field('error', false) as string,
    failedAtUtc: field('failedAtUtc', false) as string,
    invocationId: field('invocationId', false) as string,
  };
}

/** The event's exact body bytes. */
export function deadLetterBody(document: Pick<DeadLetterDocument, 'body' | 'bodyEncoding'>): Buffer {
  return Buffer.from(document.body, document.bodyEncoding);
}

/** Storage retries kept short: a failed save fails the invocation, and the trigger's retry policy takes over. */
const STORAGE_RETRY: StoragePipelineOptions['retryOptions'] = {
  maxTries: 3,
  tryTimeoutInMs: 10_000,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 4_000,
};

export function createBlobServiceClient(env: Environment): BlobServiceClient {
  const settings = readStorageSettings(env);
  const options: StoragePipelineOptions = { retryOptions: STORAGE_RETRY };
  if (settings.kind === 'identity') {
    return new BlobServiceClient(settings.blobServiceUri, createCredential(settings.identity), options);
  }
  try {
    return BlobServiceClient.fromConnectionString(settings.connectionString, options);
  } catch {
    // Never pass the SDK's message on: it may quote the connection string.
    throw new SettingsError(
      SETTING_NAMES.storageConnection,
      `${SETTING_NAMES.storageConnection} is not a valid Azure Storage connection string`,
    );
  }
}

export function createBlobDeadLetterStore(
  service: BlobServiceClient,
  containerName: string,
): DeadLetterStore {
  const container = service.getContainerClient(containerName);
  let containerReady: Promise<unknown> | undefined;
  const ensureContainer = () => {
    containerReady ??= container.createIfNotExists().catch((error: unknown) => {
      containerReady = undefined;
      throw error;
    });
    return containerReady;
  };
  return {
    async save(letter) {
      await ensureContainer();
      const blobName = deadLetterBlobName(letter);
      // Never throws for an odd event (see safeJson): whatever save() throws is storage's failure.
      const content = safeJson({ ...deadLetterDocument(letter) });
      const upload = () =>
        container.getBlockBlobClient(blobName).upload(content, Buffer.byteLength(content), {
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
      try {
        await upload();
      } catch (error) {
        // The container was deleted after this instance created it: create it again, once.
        if ((error as { statusCode?: unknown }).statusCode !== 404) throw error;
        containerReady = undefined;
        await ensureContainer();
        await upload();
      }
      return `${containerName}/${blobName}`;
    },
  };
}

let shared: { key: string; store: DeadLetterStore } | undefined;

/** The instance's store, created on first use; rebuilt only if the storage settings change. */
export function getSharedDeadLetterStore(env: Environment, containerName: string): DeadLetterStore {
  const suffixes = ['', '__blobServiceUri', '__accountName', '__credential', '__clientId'];
  const key = JSON.stringify([
    containerName,
    ...suffixes.map((suffix) => env[`${SETTING_NAMES.storageConnection}${suffix}`]),
  ]);
  if (shared?.key !== key)
    shared = { key, store: createBlobDeadLetterStore(createBlobServiceClient(env), containerName) };
  return shared.store;
}
