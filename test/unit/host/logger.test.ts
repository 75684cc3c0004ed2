// The host's console output: lines of one event-loop turn reach stdout in one write, in order.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CoalescingSink, HostLogger } from '../../../local/host/logger';

function recordingStream() {
  const writes: string[] = [];
  return { writes, stream: { write: (text: string) => writes.push(text) } };
}

test('lines of one turn are written together, in order, after the turn', async () => {
  const { writes, stream } = recordingStream();
  const logger = new HostLogger(new CoalescingSink(stream));
  logger.log('information', 'first');
  logger.plain('second');
  logger.log('warning', 'third');
  expect(writes).toEqual([]);
  await nextTurn();
  expect(writes).toHaveLength(1);
  expect(writes[0]).toMatch(/^\[[^\]]+\] first\nsecond\n\[[^\]]+\] third\n$/);
  logger.log('information', 'next turn');
  await nextTurn();
  expect(writes).toHaveLength(2);
  expect(writes[1]).toMatch(/\] next turn\n$/);
});

test('a burst is written once 64 KiB are queued, without waiting for the turn to end', () => {
  const { writes, stream } = recordingStream();
  const sink = new CoalescingSink(stream);
  const line = `${'x'.repeat(1023)}\n`;
  for (let i = 0; i < 64; i++) sink.write(line);
  expect(writes).toEqual([line.repeat(64)]);
  sink.write('rest\n');
  sink.flush();
  expect(writes).toEqual([line.repeat(64), 'rest\n']);
});
