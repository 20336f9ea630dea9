/**
 * Burst held: thousands of failures with the same error arrive at once (a downstream
 * went down), the breaker opens and holds them, the downstream recovers, a probe
 * succeeds and everything held is released under the controller-wide RedriveExecution
 * rate. Real clock for the release, as in the plain burst (bench/burst.ts).
 */
export interface BurstHeldResult {
  readonly events: number;
  readonly workers: number;
  readonly configuredRate: number;
  /** Failures held behind the open breaker (the rest arrived before it opened). */
  readonly held: number;
  readonly released: number;
  /** Released redrives per second from the breaker closing to the last release, / configured rate. */
  readonly releaseRateRatio: number;
  readonly releaseRate: number;
  readonly releaseMs: number;
  readonly lost: number;
  readonly doubleRedrives: number;
  /** DynamoDB calls made by the event path (handling the 5,000 events), per failure. */
  readonly dynamoCallsPerFailure: number;
  readonly dynamoCallsByPurpose: Record<string, number>;
  readonly executionsSucceeded: number;
  readonly logErrors: number;
  readonly problems: readonly string[];
}
