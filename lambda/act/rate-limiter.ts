/**
 * One rate for the whole controller, across every Lambda instance and both paths (event
 * and drain): a GCRA ("virtual scheduling") limiter whose single state, the theoretical
 * arrival time `tat`, lives in DynamoDB and moves only by conditional writes. Each grant is
 * a slot exactly 1/rate after the previous one, so no concurrency can exceed the rate.
 *
 * A caller whose slot is further away than it may wait does not take it (no capacity is
 * reserved and wasted); it learns when capacity frees up and defers until then.
 *
 * A queued grant that reaches its caller more than LATE_GRANT_TOLERANCE_MS after its slot
 * (the store or the process was slow) is not used: calling late would bunch calls that
 * were meant to be spread out. The caller takes a fresh slot instead. So a call never
 * starts before its slot nor more than the tolerance after it, and slots are exactly
 * 1/rate apart: any one-second window starts at most rate × 1.25 + 1 calls, and about
 * `rate` when the store answers in a few milliseconds.
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ifConditionHolds, isConditionFailure } from '../record/conditional-write';

export type RateGrant =
  /** Call at `at` (epoch ms; wait `at - now` first). */
  | { readonly granted: true; readonly at: number }
  /** No slot within the wait budget; capacity frees up around `retryAt`. */
  | { readonly granted: false; readonly retryAt: number };

/** How late a queued grant may be used. */
export const LATE_GRANT_TOLERANCE_MS = 250;

type Take = RateGrant & { readonly idle?: boolean };

export interface RateLimiter {
  acquire(maxWaitMs: number): Promise<RateGrant>;
}

export class DynamoRateLimiter implements RateLimiter {
  private readonly intervalMs: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly name: string,
    ratePerSecond: number,
    private readonly clock: () => number = Date.now,
  ) {
    if (!(ratePerSecond > 0)) throw new Error(`rate limiter ${name}: ratePerSecond must be > 0`);
    this.intervalMs = 1000 / ratePerSecond;
  }

  async acquire(maxWaitMs: number): Promise<RateGrant> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const grant = await this.take(this.clock(), maxWaitMs);
      if (!grant.granted) return grant;
      // An idle limiter's slot has no queue behind it to bunch with.
      if (grant.idle || this.clock() - grant.at <= Math.max(this.intervalMs, LATE_GRANT_TOLERANCE_MS)) {
        return { granted: true, at: grant.at };
      }
    }
    return { granted: false, retryAt: this.clock() + Math.max(this.intervalMs, 1000) };
  }

  private async take(now: number, maxWaitMs: number): Promise<Take> {
    const key = { pk: 'RATE', sk: this.name };
    for (let attempt = 0; attempt < 8; attempt++) {
      // Busy limiter: take the next slot if it is within the wait budget.
      try {
        const out = await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET tat = tat + :i',
            ConditionExpression: 'tat >= :now AND tat <= :latest',
            ExpressionAttributeValues: { ':i': this.intervalMs, ':now': now, ':latest': now + maxWaitMs },
            ReturnValues: 'UPDATED_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { granted: true, at: (out.Attributes!.tat as number) - this.intervalMs };
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
        // DynamoDB returns the item that failed the condition; stores that do not
        // (dynalite) cost one extra consistent read.
        const returned = (e as { Item?: { tat?: { N?: string } } }).Item?.tat?.N;
        const tat = returned !== undefined ? Number(returned) : await this.readTat(key);
        if (tat !== undefined && tat > now + maxWaitMs) return { granted: false, retryAt: tat };
        if (tat !== undefined && tat >= now) continue; // moved under us: retry the busy path
      }
      // Idle limiter (or first use): the slot is now.
      const idle = await ifConditionHolds(
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET tat = :next',
            ConditionExpression: 'attribute_not_exists(tat) OR tat < :now',
            ExpressionAttributeValues: { ':next': now + this.intervalMs, ':now': now },
          }),
        ),
      );
      if (idle) return { granted: true, at: now, idle: true };
      // Otherwise someone else moved tat between our two writes: go round again.
    }
    // Heavy contention: behave as if the budget was exceeded rather than spin.
    return { granted: false, retryAt: now + Math.max(this.intervalMs, 1000) };
  }

  private async readTat(key: Record<string, string>): Promise<number | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return out.Item?.tat as number | undefined;
  }
}

/** No limit (tests of other behaviour, and the naive redriver in benchmarks). */
export class UnlimitedRate implements RateLimiter {
  constructor(private readonly clock: () => number = Date.now) {}
  async acquire(): Promise<RateGrant> {
    return { granted: true, at: this.clock() };
  }
}
