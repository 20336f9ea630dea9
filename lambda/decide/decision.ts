/** What the controller decided about one status-change event, and why. */
import type { ExecutionStatus, RedriveStatus } from '../event/status-change';
import type { FailedState } from '../facts/failed-state';
import type { InvalidPolicyError, RedrivePolicy } from '../../contract/policy-schema';
import { type DecisionKind, type HoldReason, type RedriveReason, type SkipReason, SKIP_REASONS } from '../../contract/decisions';

export { SKIP_REASONS, type HoldReason, type RedriveReason, type SkipReason };


/**
 * Skips that say "not now" rather than "never": the reconciliation sweep looks at these
 * failures again when the policy or the kill switch changes.
 */
export const RECONSIDERABLE_SKIPS: readonly SkipReason[] = ['no-policy', 'policy-disabled', 'policy-invalid', 'paused', 'dry-run'];

/** Skips the owning team should hear about (issue-level events, alarms). */
export const NOTEWORTHY_SKIPS: readonly SkipReason[] = ['limit-reached', 'error-not-retryable', 'policy-invalid', 'redrive-window-ending', 'account-not-served', 'state-excluded'];


interface DecisionBase {
  /** Policy key used, when a policy was found. */
  readonly policyKey: string | null;
  /** The failure's redriveCount (redrives before this failure), when known. */
  readonly redriveCount: number | null;
  /** The error the decision was based on. */
  readonly errorName: string | null;
  /** One human-readable sentence: the why. */
  readonly detail: string;
}

export type Decision =
  | (DecisionBase & { readonly decision: 'redrive'; readonly reason: RedriveReason; readonly redriveCount: number })
  | (DecisionBase & {
      readonly decision: 'redrive-later';
      /**
       * history-busy: the event path handed a state-scoped failure to the drain before deciding (lambda/event-path.ts).
       * breaker-failing: an execution's last redrive waits until its group's breaker would open (act/breaker-gate.ts).
       */
      readonly reason: 'backoff' | 'history-busy' | 'breaker-failing';
      readonly redriveCount: number;
      readonly delaySeconds: number;
      /** Epoch ms. */
      readonly dueAt: number;
    })
  | (DecisionBase & { readonly decision: 'skip'; readonly reason: SkipReason })
  /** Recorded, not redriven, not given up: see contract/decisions.ts HOLD_REASONS. */
  | (DecisionBase & { readonly decision: 'hold'; readonly reason: HoldReason; readonly redriveCount: number });

/** What every decision states besides its verdict: the policy, the failure and the error it was about. */
export type DecisionSubject = Pick<DecisionBase, 'policyKey' | 'redriveCount' | 'errorName'>;

/** The one way a skip is built, in `decide()` and on the event path alike. */
export function skipDecision(reason: SkipReason, detail: string, subject: DecisionSubject): Decision {
  return { decision: 'skip', reason, policyKey: subject.policyKey, redriveCount: subject.redriveCount, errorName: subject.errorName, detail };
}

/** Compile-time check that contract/decisions.ts lists exactly the decision kinds. */
const kindsExact: [Exclude<Decision['decision'], DecisionKind> | Exclude<DecisionKind, Decision['decision']>] extends [never] ? true : false = true;
void kindsExact;

/** The policy that applies to the event's state machine, as loaded. */
export type PolicyResolution =
  | { readonly kind: 'none' }
  | { readonly kind: 'found'; readonly policy: RedrivePolicy }
  | { readonly kind: 'invalid'; readonly key: string; readonly error: InvalidPolicyError };

/** What the ledger knows about one failure (executionArn, redriveCount). */
export type FailureRecordState =
  | { readonly state: 'pending'; readonly dueAt: number }
  | { readonly state: 'claimed'; readonly claimExpiresAt: number }
  | { readonly state: 'redriven' }
  | { readonly state: 'skipped'; readonly reason: string }
  | { readonly state: 'held'; readonly reason: string };

/** The execution as DescribeExecution reports it now. */
export interface CurrentExecution {
  readonly status: ExecutionStatus;
  readonly redriveCount: number;
  readonly redriveStatus: RedriveStatus | null;
  readonly redriveStatusReason: string | null;
  readonly stopDate: number | null;
  readonly error: string | null;
}

/** Everything `decide()` knows besides the event and the policy. */
export interface ExecutionFacts {
  /** The controller's kill switch. */
  readonly paused: boolean;
  /** Highest redriveCount of any failure of this execution in the ledger. */
  readonly highestRecordedFailure: number | null;
  /** The ledger record of this very failure, if any. */
  readonly thisFailure: FailureRecordState | null;
  /** DescribeExecution's answer, when the controller checked (stale-looking events only). */
  readonly current: CurrentExecution | null;
  /** A person released this held failure (`redrivectl release`): maxRedrives does not stop it. */
  readonly releasedByHand?: boolean;
  /** Who approved this failure's redrive (policy `approval: true`; the ledger record carries it). */
  readonly approvedBy?: string;
  /**
   * The state the failure happened at (lambda/facts/failed-state.ts), read from the
   * execution's history only for a state-scoped policy. undefined: not read.
   */
  readonly failedState?: FailedState;
}
