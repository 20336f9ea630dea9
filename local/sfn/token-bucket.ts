import type { Clock, ThrottleConfig } from './types';

/**
 * The token bucket AWS uses for API quotas: starts full, refills continuously at
 * `refillPerSecond` up to `bucketSize`, one token per call. Runs on the injected
 * clock so simulated time refills it too.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly config: ThrottleConfig,
    private readonly clock: Clock,
  ) {
    this.tokens = config.bucketSize;
    this.last = clock();
  }

  /** Takes a token if one is available; false means "throttle this call". */
  tryTake(): boolean {
    const now = this.clock();
    // max(0, …): a clock that steps backwards must not drain the bucket.
    const elapsedMs = Math.max(0, now - this.last);
    this.tokens = Math.min(this.config.bucketSize, this.tokens + (elapsedMs / 1000) * this.config.refillPerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * AWS's default API quotas in us-east-1, us-west-2 and eu-west-1 (Step Functions
 * quotas page: https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), for realistic load runs.
 */
export const AWS_DEFAULT_THROTTLES = {
  RedriveExecution: { bucketSize: 1300, refillPerSecond: 300 },
  StartExecution: { bucketSize: 1300, refillPerSecond: 300 },
  DescribeExecution: { bucketSize: 300, refillPerSecond: 15 },
  ListExecutions: { bucketSize: 200, refillPerSecond: 5 },
  StopExecution: { bucketSize: 1000, refillPerSecond: 200 },
  GetExecutionHistory: { bucketSize: 400, refillPerSecond: 20 },
} as const satisfies Record<string, ThrottleConfig>;
