// The time budget of one request against Event Hubs (PUBLISH_TIMEOUT_MS). Only time spent waiting for
// Event Hubs is charged: parsing and packing a large request must not eat the budget and then abort a
// send that Event Hubs may already have stored.

export class DeadlineExceededError extends Error {
  // The name the SDK and AbortSignal.timeout use, so one check recognises every expired deadline.
  override readonly name = 'TimeoutError';
  constructor(readonly budgetMs: number) {
    super(`Event Hubs did not answer within ${budgetMs} ms`);
  }
}

export class EventHubsDeadline {
  private readonly budgetMs: number;
  private readonly now: () => number;
  private remainingBudgetMs: number;

  constructor(budgetMs: number, now: () => number = () => performance.now()) {
    this.budgetMs = budgetMs;
    this.remainingBudgetMs = budgetMs;
    this.now = now;
  }

  get remainingMs(): number {
    return Math.max(0, this.remainingBudgetMs);
  }

  /** Runs one Event Hubs operation with an abort signal that fires when the remaining budget is spent. */
  async run<T>(operation: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.remainingBudgetMs <= 0) throw new DeadlineExceededError(this.budgetMs);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DeadlineExceededError(this.budgetMs)),
      this.remainingBudgetMs,
    );
    const started = this.now();
    try {
      return await operation(controller.signal);
    } finally {
      clearTimeout(timer);
      this.remainingBudgetMs -= this.now() - started;
    }
  }
}
