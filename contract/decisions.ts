/**
 * The vocabulary of decisions: their kinds and reasons. They are the values of the
 * Decisions metric's Outcome and Reason dimensions and of the audit trail, so the
 * dashboard (lib/) and the controller (lambda/decide/decision.ts) share them from here.
 */

/** Values of the Decisions metric's Outcome dimension: the decision kinds. */
export const DECISION_KINDS = ['redrive', 'redrive-later', 'skip'] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

export type RedriveReason = 'no-delay' | 'due' | 'retry-abandoned-claim';

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
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];
