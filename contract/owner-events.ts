/**
 * Owner events: what the controller puts on the event bus when it gives up on an
 * execution, so owning teams can route them with ordinary EventBridge rules. The Lambda
 * emits them (lambda/record/owner-notifier.ts) and the stack documents and alarms on them.
 *   source: auto-redrive
 *   detail-type: "Auto Redrive Exhausted" (limit-reached) | "Auto Redrive Skipped"
 *                (error-not-retryable, policy-invalid, state-excluded: the failure is at a
 *                state of the policy's neverAtStates; the detail names it in `failedState`)
 */

export const OWNER_EVENT_SOURCE = 'auto-redrive';
export const DETAIL_TYPE_EXHAUSTED = 'Auto Redrive Exhausted';
export const DETAIL_TYPE_SKIPPED = 'Auto Redrive Skipped';
/**
 * A (state machine, error) group's breaker opened / stopped holding (docs/breaker.md).
 * Detail: BreakerEventDetail below; never execution input or output.
 */
export const DETAIL_TYPE_BREAKER_OPENED = 'Auto Redrive Breaker Opened';
export const DETAIL_TYPE_BREAKER_CLOSED = 'Auto Redrive Breaker Closed';

/** Detail of the two breaker events. */
export interface BreakerEventDetail {
  readonly stateMachineArn: string;
  readonly errorName: string | null;
  /** open, or releasing (closed: the held failures are being released). */
  readonly status: string;
  /** ISO time the breaker opened. */
  readonly openedAt: string | null;
  /** ISO time it stopped holding (Closed only). */
  readonly closedAt: string | null;
  /** Closed: why (probe-succeeded, ...). Opened: `threshold`. */
  readonly reason: string;
  /** Failures held in the group when the event was sent. */
  readonly held: number;
  /** Failures counted in the window that opened it (Opened). */
  readonly failuresInWindow: number | null;
  /**
   * Opened: which signal crossed its threshold: `failures` (distinct executions failing),
   * `redrive-failures` (redrives failing again), `both`. Absent on Closed.
   */
  readonly openedBy?: string | null;
  readonly failedProbes: number;
  /** ISO time of the next probe (Opened). */
  readonly nextProbeAt: string | null;
  /** The first failure of the open period: its execution, error and cause (truncated). */
  readonly firstFailure: { readonly executionArn: string; readonly error: string | null; readonly cause: string | null } | null;
}
/**
 * A failure of a policy with `approval: true` is held for a person (docs/policies.md,
 * "Approval before redrive"). Detail: ApprovalRequestedDetail; never execution input or output.
 */
export const DETAIL_TYPE_APPROVAL_REQUESTED = 'Auto Redrive Approval Requested';

/** Detail of `Auto Redrive Approval Requested`. */
export interface ApprovalRequestedDetail {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly error: string | null;
  /** Cut to CAUSE_LIMIT characters. */
  readonly cause: string | null;
  /** The state whose failure ended the execution; absent when it is not known. */
  readonly failedState?: string;
  /** Redrives before this failure. */
  readonly redriveCount: number;
  readonly policyKey: string | null;
  /** ISO time it was held. */
  readonly heldAt: string;
  /** ISO time it is given up if no one approves or rejects it (holdMarginHours before the 14-day window ends). */
  readonly approveBy: string;
  /** Seconds from `heldAt` to `approveBy`: how long the approval may wait. */
  readonly mayWaitSeconds: number;
  /** The exact command that approves it, and the one that rejects it. */
  readonly approveCommand: string;
  readonly rejectCommand: string;
  readonly consoleUrl: string;
}

/**
 * A state machine reached its redrive budget (`maxRedrivesPerHour`, docs/policies.md): its
 * further failures are held `over-budget` and released oldest first when the budget allows.
 * Sent once when it reaches it, then at most once an hour while it stays there; never per held failure.
 */
export const DETAIL_TYPE_BUDGET_REACHED = 'Auto Redrive Budget Reached';

/** Detail of `Auto Redrive Budget Reached`. */
export interface BudgetEventDetail {
  readonly stateMachineArn: string;
  /** The policy item that sets the budget. */
  readonly policyKey: string;
  readonly maxRedrivesPerHour: number;
  /** ISO time the budget was reached. */
  readonly reachedAt: string;
  /** The failure that found it used up (held over budget). */
  readonly firstHeld: { readonly executionArn: string; readonly error: string | null };
}

/** Longest `cause` an owner event carries (Step Functions causes can be 32 KB). */
export const CAUSE_LIMIT = 1024;
