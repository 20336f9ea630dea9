/**
 * The vocabulary of decisions: their kinds and reasons. They are the values of the
 * Decisions metric's Outcome and Reason dimensions and of the audit trail, so the
 * dashboard (lib/) and the controller (lambda/decide/decision.ts) share them from here.
 */

/** Values of the Decisions metric's Outcome dimension: the decision kinds. */
export const DECISION_KINDS = ['redrive', 'redrive-later', 'skip', 'hold'] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

/**
 * Why a redrive is made now. `release`: a held failure (breaker closed, or released by a
 * person); `probe`: one held failure redriven to learn whether its group recovered.
 */
export type RedriveReason = 'no-delay' | 'due' | 'retry-abandoned-claim' | 'release' | 'probe';

/**
 * Why a failure is held (recorded in the ledger, not redriven, not given up):
 * `breaker-open` while its (state machine, error) group's breaker is open (released when it
 * closes), `exhausted` after maxRedrives with `onExhausted: hold` (released by a person).
 */
export const HOLD_REASONS = [
  'breaker-open',
  'exhausted',
  // The policy asks a person's approval before any redrive (`approval: true`): released by
  // `redrivectl approve`, skipped by `reject`, given up near the end of the redrive window.
  'awaiting-approval',
  // The state machine's redrive budget (maxRedrivesPerHour) is used up: released oldest first when it allows.
  'over-budget',
] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

export const SKIP_REASONS = [
  'no-policy',
  'policy-disabled',
  'policy-invalid',
  'status-not-covered',
  'not-redrivable',
  'map-run-child',
  'error-not-retryable',
  'error-not-matched',
  'limit-reached',
  'stale-event',
  'already-handled',
  'dry-run',
  'paused',
  'malformed-event',
  'unknown-account',
  // A held failure given up before Step Functions' 14-day redrive window ends.
  'redrive-window-ending',
  // Organization mode: a held or pending failure in an account or Region that was served
  // when it was recorded and is no longer (removed from MEMBER_ACCOUNTS / SERVED_REGIONS).
  'account-not-served',
  // A failure held for approval that a person rejected (`redrivectl reject --reason`).
  'rejected',
  // State-scoped policies (docs/policies.md): the failure is at a state of neverAtStates,
  // or at none of onlyAtStates.
  'state-excluded',
  'state-not-included',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];
