/**
 * The metrics contract: namespace, metric names and dimensions. The Lambda emits these
 * through Powertools Metrics (EMF) and the CDK dashboard and alarms read them from here,
 * so the two cannot drift.
 */

export const METRICS_NAMESPACE = 'AutoRedrive';
export const SERVICE_NAME = 'auto-redrive';

export const METRIC = {
  /** One per decision. Dimensions: Outcome, Reason. */
  decisions: 'Decisions',
  /** RedriveExecution calls that redrove an execution. */
  redrives: 'Redrives',
  /** Executions redriven at least twice that then succeeded (the SUCCEEDED events the rule forwards: redriveCount > 1). */
  redrivesSucceeded: 'RedrivesSucceeded',
  /** Failures that reached the policy's maxRedrives (skip: limit-reached). */
  exhaustions: 'Exhaustions',
  /** Events that could not be parsed. */
  malformedEvents: 'MalformedEvents',
  /** Policy items that failed validation when loaded. */
  policyInvalid: 'PolicyInvalid',
  /** RedriveExecution round trip, milliseconds. */
  redriveLatency: 'RedriveApiLatency',
  /** Redrives deferred because Step Functions throttled or failed after SDK retries. */
  deferrals: 'Deferrals',
  /** Pending redrives in the ledger, measured by the drain. */
  pendingBacklog: 'PendingBacklog',
  /** Age in seconds of the oldest overdue pending redrive, measured by the drain. */
  oldestPendingAge: 'OldestPendingAgeSeconds',
  /** Failures found by the reconciliation sweep that no event had reported. */
  reconciled: 'ReconciledFailures',
  /** Managed policy items (RedrivePolicy) found changed outside CloudFormation and overwritten by a deploy. */
  managedPolicyOverwritten: 'ManagedPolicyOverwritten',
  /** A (state machine, error) group's breaker opened. */
  breakerOpened: 'BreakerOpened',
  /** A breaker stopped holding. Dimension: Reason (contract/breaker.ts CLOSE_REASONS). */
  breakerClosed: 'BreakerClosed',
  /** Probe events. Dimension: Outcome (started, succeeded, same-error, ...). */
  probes: 'Probes',
  /** Failures newly held. Dimension: Reason (breaker-open, exhausted, awaiting-approval, over-budget). */
  heldFailures: 'HeldFailures',
  /** Held failures in the ledger (all groups), measured by the drain. */
  heldBacklog: 'HeldBacklog',
  /**
   * Parked failures (held or pending ones skipped for a reason that may change: paused,
   * policy-disabled, no-policy, policy-invalid, dry-run), waiting for it to change; measured by the drain.
   */
  parkedFailures: 'ParkedFailures',
  /** Breakers open now, measured by the drain. */
  openBreakers: 'OpenBreakers',
  /** Age in seconds of the longest-open breaker, measured by the drain (the breaker alarm). */
  oldestOpenBreakerAge: 'OldestOpenBreakerAgeSeconds',
  /** A canary (contract/canary.ts) succeeded after its redrive. Dimensions: Account, Region (the canary's). */
  canaryRecoveries: 'CanaryRecoveries',
  /** Seconds from a canary's failure to its successful redrive. Dimensions: Account, Region. */
  canaryRecoverySeconds: 'CanaryRecoverySeconds',
  /** Failures held for a person's approval (policy `approval: true`), measured by the drain. */
  awaitingApproval: 'AwaitingApproval',
  /** A state machine reached its redrive budget (maxRedrivesPerHour): at most once an hour per state machine, not per held failure. */
  budgetReached: 'BudgetReached',
  /** Failures held over their state machine's redrive budget, measured by the drain. */
  overBudgetHeld: 'OverBudgetHeld',
  /** Age in seconds of the oldest failure held over budget, measured by the drain (the budget alarm). */
  oldestOverBudgetAge: 'OldestOverBudgetAgeSeconds',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export const DIMENSION = {
  outcome: 'Outcome',
  reason: 'Reason',
  /** Opt-in per state machine (bounded by the number of policies, see docs/observability.md). */
  stateMachine: 'StateMachine',
  /** The canary's account and Region (one line per member on the organization dashboard). */
  account: 'Account',
  region: 'Region',
} as const;
