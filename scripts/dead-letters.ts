// npm run dead-letters -- <list|show|replay|purge> ...: the events processEvents failed on, kept as
// blobs in the dead-letter container; the logic is in scripts/lib/deadLetters.ts.
import { deadLetterBody, deadLetterPrefix } from '../src/lib/consume/deadLetter';
import {
  CONNECTION_HELP,
  operationsFrom,
  parseCommandLine,
  printJson,
  printTable,
  runCommand,
  UsageError,
} from './lib/cli';
import {
  blobName,
  listDeadLetters,
  purgeDeadLetters,
  readDeadLetter,
  replayDeadLetters,
  replayFromHub,
  type ReplayOutcome,
} from './lib/deadLetters';

const USAGE = `Usage: npm run dead-letters -- <command> [options]

  list [--partition <id>] [--since <ISO time>]    each dead letter: blob, coordinates, times, error
  show <blob>                                     one stored event: coordinates, properties, body
  replay (--all | --blob <blob> | --partition <id>) [--dry-run]
                                                  publish each event again (exact body, content type,
                                                  properties, partition key, plus x-replay-of), then
                                                  delete its blob
  replay --from-hub <partitionId>/<sequenceNumber> [--dry-run]
                                                  publish an event given up without a dead letter
                                                  (EventFailed with deadLetterBlob null) again, read
                                                  back from Event Hubs while it is retained
  purge (--all | --blob <blob>) --yes             delete dead letters without replaying them

<blob> is the deadLetterBlob of an EventFailed line (dead-letter-events/events/processor/0/42.json) or the
name inside the container.

${CONNECTION_HELP}`;

runCommand(USAGE, async () => {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    partition: { type: 'string' },
    since: { type: 'string' },
    all: { type: 'boolean' },
    blob: { type: 'string' },
    'from-hub': { type: 'string' },
    'dry-run': { type: 'boolean' },
    yes: { type: 'boolean' },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return 0;
  }
  const ops = operationsFrom(values);
  const container = ops.deadLetterContainer;
  const scope = ops.settings;
  try {
    switch (command) {
      case 'list': {
        const since = values.since === undefined ? undefined : new Date(values.since);
        if (since !== undefined && Number.isNaN(since.getTime()))
          throw new UsageError(`--since takes an ISO 8601 time, got "${values.since}"`);
        const letters = await listDeadLetters(container, scope, { partitionId: values.partition, since });
        if (values.json) return printJson(letters);
        if (letters.length === 0)
          return console.log(
            `No dead letters for ${deadLetterPrefix(scope.eventHubName, scope.consumerGroup)} in ${container.containerName}.`,
          );
        printTable([
          ['BLOB', 'PARTITION', 'SEQUENCE', 'ENQUEUED', 'FAILED', 'ERROR'],
          ...letters.map((letter) => [
            letter.blob,
            letter.partitionId ?? '?',
            String(letter.sequenceNumber ?? '?'),
            letter.enqueuedTimeUtc ?? '?',
            letter.failedAtUtc,
            letter.error.length > 80 ? `${letter.error.slice(0, 79)}…` : letter.error,
          ]),
        ]);
        return;
      }
      case 'show': {
        if (rest.length !== 1) throw new UsageError('show takes one <blob>');
        const document = await readDeadLetter(container, blobName(container, rest[0]));
        if (document === null) {
          console.error(`No dead letter ${rest[0]} in ${container.containerName}.`);
          return 1;
        }
        if (values.json) return printJson(document);
        const { body, bodyEncoding, properties, ...coordinates } = document;
        for (const [key, value] of Object.entries(coordinates)) console.log(`${key}: ${value ?? '(none)'}`);
        console.log(`properties: ${JSON.stringify(properties)}`);
        const bytes = deadLetterBody({ body, bodyEncoding });
        console.log(
          `body (${bytes.length} bytes, ${bodyEncoding === 'utf8' ? 'UTF-8 text' : 'not UTF-8, shown in base64'}):`,
        );
        console.log(body);
        return;
      }
      case 'replay':
        return report(await replay(values, ops, container), values.json === true);
      case 'purge': {
        const names = await selected(values, ops, container, 'purge');
        if (!values.yes)
          throw new UsageError(`purge deletes ${names.length} dead letter(s) for good: add --yes`);
        const deleted = await purgeDeadLetters(container, names);
        if (values.json) return printJson(deleted);
        console.log(`Deleted ${deleted.length} dead letter(s).`);
        return;
      }
      default:
        throw new UsageError(`Unknown command "${command}"`);
    }
  } finally {
    await ops.close();
  }
});

type Values = Record<string, string | boolean | undefined>;

async function replay(
  values: Values,
  ops: ReturnType<typeof operationsFrom>,
  container: typeof ops.deadLetterContainer,
) {
  const dryRun = values['dry-run'] === true;
  if (typeof values['from-hub'] === 'string') {
    if (values.all || values.blob || values.partition)
      throw new UsageError('--from-hub replays one event: give it alone');
    return [await replayFromHub(ops.reader, ops.producer, values['from-hub'], { dryRun })];
  }
  const names = await selected(values, ops, container, 'replay');
  return replayDeadLetters(container, ops.producer, names, { dryRun });
}

/** The blobs --all, --blob or --partition pick (exactly one of them). */
async function selected(
  values: Values,
  ops: ReturnType<typeof operationsFrom>,
  container: typeof ops.deadLetterContainer,
  command: string,
) {
  const choices = [
    values.all === true,
    typeof values.blob === 'string',
    typeof values.partition === 'string',
  ];
  if (choices.filter(Boolean).length !== 1)
    throw new UsageError(
      `${command} takes exactly one of --all, --blob <blob>${command === 'replay' ? ', --partition <id>, --from-hub <id>/<seq>' : ''}`,
    );
  if (typeof values.blob === 'string') return [blobName(container, values.blob)];
  const letters = await listDeadLetters(container, ops.settings, {
    partitionId: typeof values.partition === 'string' ? values.partition : undefined,
  });
  return letters.map((letter) => blobName(container, letter.blob));
}

function report(outcomes: ReplayOutcome[], json: boolean): number {
  if (json) printJson(outcomes);
  else if (outcomes.length === 0) console.log('Nothing to replay.');
  else {
    for (const outcome of outcomes) {
      if ('reason' in outcome) {
        console.log(`${outcome.status} ${outcome.blob}: ${outcome.reason}`);
      } else {
        const key =
          outcome.partitionKey === null ? '' : `, partition key ${JSON.stringify(outcome.partitionKey)}`;
        console.log(`${outcome.status} ${outcome.blob} (x-replay-of ${outcome.replayOf}${key})`);
      }
    }
    const replayed = outcomes.filter((outcome) => outcome.status === 'replayed').length;
    if (replayed > 0) console.log(`${replayed} event(s) published again; their dead letters are deleted.`);
  }
  return outcomes.some((outcome) => outcome.status === 'failed') ? 1 : 0;
}
