/**
 * what-if's pacing of Step Functions reads: one token bucket per API operation, taken
 * before every HTTP attempt (retries included), so the command stays well under the
 * account's quotas (aws-redrive-facts §5: DescribeExecution refills 15/s in the big three
 * Regions and 10/s elsewhere, ListExecutions 5/s and 2/s) and leaves most of them to the
 * controller, which shares them. A ThrottlingException still happens when something else
 * in the account spends the same quota: the bucket then stops for a while (doubling up to
 * 30 s) and the SDK retries the call.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { REQUEST_TIMEOUTS } from '../../lambda/act/request-timeouts';
import { realSleep } from '../../lambda/wiring';

/** Operations what-if calls; the counts of each are reported (and benchmarked). */
export const PACED_OPERATIONS = ['ListStateMachines', 'DescribeStateMachine', 'ListExecutions', 'DescribeExecution', 'GetExecutionHistory'] as const;
export type PacedOperation = (typeof PACED_OPERATIONS)[number];

export interface Rates {
  /** DescribeExecution calls per second. */
  readonly describe: number;
  /** ListExecutions, ListStateMachines and DescribeStateMachine calls per second (each). */
  readonly list: number;
  /** GetExecutionHistory calls per second (state-scoped policies only). @default 5 */
  readonly history?: number;
}

/**
 * Defaults: two thirds of the smallest refill rates (10/s and 2/s outside us-east-1,
 * us-west-2 and eu-west-1), so the controller's own DescribeExecution checks and
 * ListExecutions sweeps still find tokens while what-if runs.
 */
export const DEFAULT_RATES = { describe: 6, list: 1, history: 5 } as const satisfies Rates;
const MAX_BACKOFF_MS = 30_000;

export class TokenBucket {
  private tokens: number;
  private last: number;
  private blockedUntil = 0;
  private backoffMs = 0;
  /** Serialises waiters, so concurrent takers are served in order at the rate. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly clock: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = realSleep,
  ) {
    this.tokens = burst;
    this.last = clock();
  }

  /** Resolves when one call may be made. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.takeNow());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** The service said ThrottlingException: stop for a while, longer each time in a row. */
  throttled(): void {
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs ? this.backoffMs * 2 : 1000);
    this.blockedUntil = this.clock() + this.backoffMs;
    this.tokens = 0;
  }

  /** A call went through: the next throttle starts again from a short pause. */
  succeeded(): void {
    this.backoffMs = 0;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
  }

  private async takeNow(): Promise<void> {
    for (;;) {
      const now = this.clock();
      if (now < this.blockedUntil) {
        await this.sleep(this.blockedUntil - now);
        continue;
      }
      this.refill(now);
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000));
    }
  }
}

export type CallCounts = Record<PacedOperation, number>;

export interface PacedClient {
  readonly client: SFNClient;
  /** HTTP attempts per operation (what the quotas count), throttled ones included. */
  readonly calls: CallCounts;
  readonly throttles: CallCounts;
}

const zero = (): CallCounts => ({ ListStateMachines: 0, DescribeStateMachine: 0, ListExecutions: 0, DescribeExecution: 0, GetExecutionHistory: 0 });

/** An SFNClient (default chain, or `endpoint` for tests) whose every attempt waits for its bucket. */
export function pacedClient(rates: Rates, options: { clock?: () => number; sleep?: (ms: number) => Promise<void> } = {}): PacedClient {
  // More attempts than the SDK's default 3: a throttled read is retried, not lost.
  const client = new SFNClient({ maxAttempts: 8, requestHandler: REQUEST_TIMEOUTS });
  const bucket = (rate: number) => new TokenBucket(rate, Math.max(1, Math.ceil(rate * 2)), options.clock, options.sleep);
  const buckets: Record<PacedOperation, TokenBucket> = {
    ListStateMachines: bucket(rates.list),
    DescribeStateMachine: bucket(rates.list),
    ListExecutions: bucket(rates.list),
    DescribeExecution: bucket(rates.describe),
    // A quarter of GetExecutionHistory's 20/s refill: the controller's own reads (10/s) keep theirs.
    GetExecutionHistory: bucket(rates.history ?? DEFAULT_RATES.history),
  };
  const calls = zero();
  const throttles = zero();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = String(context.commandName ?? '').replace(/Command$/, '') as PacedOperation;
      const b = buckets[op];
      if (!b) return next(args);
      await b.take();
      calls[op]++;
      try {
        const out = await next(args);
        b.succeeded();
        return out;
      } catch (e) {
        if ((e as { name?: string }).name === 'ThrottlingException') {
          throttles[op]++;
          b.throttled();
        }
        throw e;
      }
    },
    // After the retry middleware (priority high in the same step): once per attempt.
    { step: 'finalizeRequest', priority: 'low', name: 'whatIfPacing' },
  );
  return { client, calls, throttles };
}
