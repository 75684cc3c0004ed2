// npm run checkpoints -- <show|rewind> ...: the Functions host's checkpoints for processEvents' consumer
// group, with the lag; the logic is in scripts/lib/checkpoints.ts.
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
  applyRewind,
  parseRewindTarget,
  planRewind,
  showCheckpoints,
  type RewindPlan,
} from './lib/checkpoints';

const USAGE = `Usage: npm run checkpoints -- <command> [options]

  show                                        per partition: checkpoint (sequence number, offset, the
                                              checkpointed event's enqueued time), last enqueued sequence
                                              number, lag in events and seconds, current owner
  rewind --to <ISO time | earliest | latest> [--partition <id>] [--yes] [--force]
                                              rewrite the checkpoints so that the trigger resumes there:
                                              <time> re-delivers every event enqueued after it, earliest
                                              everything retained, latest skips everything up to now.
                                              Without --yes it only shows the plan. Refused while a running
                                              host owns the partitions (stop the app first) unless --force.

${CONNECTION_HELP}`;

runCommand(USAGE, async () => {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    to: { type: 'string' },
    partition: { type: 'string' },
    yes: { type: 'boolean' },
    force: { type: 'boolean' },
  });
  const [command] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return 0;
  }
  const ops = operationsFrom(values);
  try {
    switch (command) {
      case 'show': {
        const partitions = await showCheckpoints(ops);
        if (values.json) return printJson(partitions);
        const scope = ops.checkpointScope;
        console.log(
          `Consumer group '${scope.consumerGroup}' of '${scope.eventHubName}' (${scope.fullyQualifiedNamespace}):`,
        );
        printTable([
          [
            'PARTITION',
            'CHECKPOINT',
            'OFFSET',
            'CHECKPOINTED EVENT ENQUEUED',
            'LAST ENQUEUED',
            'LAG EVENTS',
            'LAG SECONDS',
            'OWNER',
          ],
          ...partitions.map((p) => [
            p.partitionId,
            p.checkpointSequenceNumber === null ? '(none)' : String(p.checkpointSequenceNumber),
            p.checkpointOffset ?? '',
            p.checkpointEnqueuedTimeUtc ?? '',
            String(p.lastEnqueuedSequenceNumber),
            String(p.lagEvents),
            p.lagSeconds === null ? '?' : String(p.lagSeconds),
            p.ownerId ?? '(none)',
          ]),
        ]);
        return;
      }
      case 'rewind': {
        if (values.to === undefined) throw new UsageError('rewind needs --to <ISO time | earliest | latest>');
        const plans = await planRewind(ops, parseRewindTarget(values.to), values.partition);
        if (values.yes) await applyRewind(ops, plans, { force: values.force === true });
        if (values.json) return printJson({ written: values.yes === true, partitions: plans });
        printPlan(plans, values.yes === true);
        return;
      }
      default:
        throw new UsageError(`Unknown command "${command}"`);
    }
  } finally {
    await ops.close();
  }
});

function printPlan(plans: readonly RewindPlan[], written: boolean): void {
  printTable([
    ['PARTITION', 'CHECKPOINT NOW', 'NEW CHECKPOINT', 'RESUMES AT'],
    ...plans.map((plan) => [
      plan.partitionId,
      plan.current === null ? '(none)' : `${plan.current.sequenceNumber} (offset ${plan.current.offset})`,
      `${plan.checkpoint.sequenceNumber} (offset ${plan.checkpoint.offset})`,
      plan.resumesAt === null ? 'the next new event' : `sequence number ${plan.resumesAt}`,
    ]),
  ]);
  console.log(
    written
      ? 'Checkpoints written: start the app and the trigger resumes from there.'
      : 'Nothing written: add --yes to write these checkpoints (with the app stopped).',
  );
}
