import { DeadlineExceededError, EventHubsDeadline } from '../../src/lib/publish/eventHubsDeadline';

/** A clock the test moves by hand: only the time inside run() may be charged. */
function manualClock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('only time spent inside Event Hubs operations is charged to the budget', async () => {
  const clock = manualClock();
  const deadline = new EventHubsDeadline(1000, clock.now);
  await deadline.run(async () => clock.advance(300));
  clock.advance(5000); // the app's own work (parsing, packing) between operations
  expect(deadline.remainingMs).toBe(700);
  await deadline.run(async () => clock.advance(700));
  expect(deadline.remainingMs).toBe(0);
  await expect(deadline.run(async () => 'never')).rejects.toBeInstanceOf(DeadlineExceededError);
});

test('an operation still running when the budget is spent sees its abort signal fire', async () => {
  const deadline = new EventHubsDeadline(20);
  const reason = await deadline.run(
    (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason))),
  );
  expect(reason).toBeInstanceOf(DeadlineExceededError);
  expect((reason as Error).name).toBe('TimeoutError');
});
