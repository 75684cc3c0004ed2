// The explorer's JSON API: the shapes its server sends and its page reads, in one place. Plain types
// only (no Node.js or DOM), so both the server and the page's bundle import this file.

export interface ApiError {
  error: { code: string; message: string };
}

export interface Overview {
  namespace: string;
  eventHubName: string;
  /** The app's consumer group (EVENTHUB_CONSUMER_GROUP); the explorer itself reads with `$Default`. */
  consumerGroup: string;
  explorerConsumerGroup: string;
  createdOn: string | null;
  partitionIds: string[];
  /** Where the send form posts: the app's own `POST /api/events`. */
  publishUrl: string;
  deadLetterContainer: string;
  /** False when the host's output does not pass through the stack (Core Tools writes to the terminal). */
  logAvailable: boolean;
}

export interface PartitionView {
  partitionId: string;
  beginningSequenceNumber: number;
  lastEnqueuedSequenceNumber: number;
  lastEnqueuedOffset: string;
  lastEnqueuedOnUtc: string | null;
  isEmpty: boolean;
  /** Events retained: last - beginning + 1 (Event Hubs reports no size in bytes). */
  retainedEvents: number;
}

/** Where a peek starts. `latest` means the newest page, not "from now on". */
export type StartPosition =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'sequence'; sequenceNumber: number }
  | { kind: 'time'; enqueuedOn: string };

export type BodyView =
  /** The event's data section: bytes, as UTF-8 text when they are valid UTF-8, else base64. */
  | { kind: 'bytes'; encoding: 'utf8' | 'base64'; text: string; byteLength: number }
  /** An AMQP value or sequence body (sent by other clients): its JSON rendering. */
  | { kind: 'amqpValue'; json: string };

export interface EventView {
  partitionId: string;
  sequenceNumber: number;
  offset: string;
  enqueuedTimeUtc: string;
  partitionKey: string | null;
  contentType: string | null;
  messageId: string | null;
  correlationId: string | null;
  properties: Record<string, unknown>;
  /** Annotations and AMQP properties the service set (x-opt-*), as the SDK reports them. */
  systemProperties: Record<string, unknown>;
  body: BodyView;
}

export interface EventPage {
  partitionId: string;
  from: StartPosition;
  events: EventView[];
  /** Sequence number a "newer" page starts at; null when this page reaches the partition's end. */
  newer: number | null;
  /** Sequence number an "older" page starts at; null at the partition's beginning. */
  older: number | null;
  partition: PartitionView;
}

export interface SendRequest {
  contentType: string;
  body: string;
  /** `hex` sends the bytes the hex digits spell (for application/octet-stream). */
  bodyEncoding: 'text' | 'hex';
  partitionKey?: string;
  partitionId?: string;
  /** Sent verbatim as the x-event-properties header when not empty. */
  properties?: string;
}

export interface SendResult {
  request: { method: 'POST'; url: string; headers: Record<string, string>; bodyBytes: number };
  response: { status: number; statusText: string; headers: Record<string, string>; body: string };
}

/** One of the consumer's structured lines (`<Kind> <JSON>`, src/lib/consume/eventLog.ts) from the host's output. */
export interface LogEntry {
  id: number;
  /** The host's timestamp of the line. */
  time: string;
  kind: string;
  fields: Record<string, unknown>;
}

export interface MetricsSample {
  /** End of the interval, ISO. */
  time: string;
  /** Per partition, per second: events enqueued, and events the consumer logged as processed or failed. */
  partitions: Record<string, { in: number; processed: number }>;
}

/** One partition of the app's consumer group, as `npm run checkpoints -- show` reports it. */
export interface CheckpointView {
  consumerGroup: string;
  partitionId: string;
  checkpointSequenceNumber: number | null;
  checkpointOffset: string | null;
  /** When the checkpointed event was enqueued; null without a checkpoint or once retention dropped it. */
  checkpointEnqueuedTimeUtc: string | null;
  /** The host instance that owns the partition now (ownership renewed within its expiration), if any. */
  ownerId: string | null;
  lastEnqueuedSequenceNumber: number;
  lastEnqueuedTimeUtc: string | null;
  /** Retained events after the checkpoint, and how long the oldest of them has waited. */
  lagEvents: number;
  lagSeconds: number | null;
}

export interface DeadLetterView {
  /** `<container>/<blob name>`, as EventFailed lines name it (deadLetterBlob). */
  blob: string;
  partitionId: string | null;
  sequenceNumber: number | null;
  enqueuedTimeUtc: string | null;
  failedAtUtc: string | null;
  error: string;
  contentType: string | null;
  properties: Record<string, unknown>;
  partitionKey: string | null;
  body: BodyView | null;
}

export interface ActionResult {
  ok: boolean;
  message: string;
}

/** What the explorer can reach right now, in words (the page shows them as text, not only colour). */
export interface StatusView {
  eventHubs: { ok: boolean; message: string };
}

/** Server-sent events on /api/stream: `event: <name>`, `data: <JSON>`. */
export interface StreamMessages {
  status: StatusView;
  log: LogEntry[];
  metrics: MetricsSample;
  partitions: PartitionView[];
  events: EventView[];
}
