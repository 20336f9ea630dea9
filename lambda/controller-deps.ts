/**
 * What every path into the event path shares (lambda/event-path.ts re-exports these): the
 * controller's dependencies, a path's options, and what it answers.
 */
import type { ControllerConfig } from './config';
import type { ActDeps, ActionOutcome } from './act/carry-out';
import type { RateLimiter } from './act/rate-limiter';
import type { DescribedExecution } from './act/step-functions';
import type { RedriveBudget } from './act/redrive-budget';
import type { Decision } from './decide/decision';
import type { PolicySource } from './policy/policy-source';
import type { AuditTrail, DecisionSource } from './record/audit-trail';
import type { OwnerNotifier } from './record/owner-notifier';
import type { BreakerStore } from './record/breaker-store';
import type { CanaryStatusStore } from './record/canary-status';
import type { ApprovalRecords } from './record/approval-records';

export interface ControllerDeps extends ActDeps {
  readonly config: ControllerConfig;
  readonly policies: PolicySource;
  readonly audit: AuditTrail;
  readonly describeRate: RateLimiter;
  /** GetExecutionHistory, for state-scoped policies (lambda/facts/failed-state-source.ts). @default not rate limited */
  readonly historyRate?: RateLimiter;
  /** Publishes `Auto Redrive Exhausted` / `Skipped` events; optional. */
  readonly notifier?: OwnerNotifier;
  /**
   * Which accounts' events may be acted on, and (`serves`) whether a recorded failure's
   * account and Region are still served (organization mode). @default every account
   */
  readonly accounts?: { allows(account: string): boolean; serves?(account: string, region: string): boolean };
  /** The outage breakers (docs/breaker.md). @default none: no failure is ever held by a breaker */
  readonly breakers?: BreakerStore;
  /** Where canary recoveries are recorded (record/canary-status.ts). @default none: counted and logged only */
  readonly canaryStatus?: CanaryStatusStore;
  /** The redrive budgets (policy field maxRedrivesPerHour). @default none: no budget is enforced */
  readonly budget?: RedriveBudget;
  /**
   * Read the ledger before the first write even for a fresh failure (no `claimNew`).
   * Tests only: the path the fresh-failure claim must agree with. @default false
   */
  readonly readLedgerFirst?: boolean;
  /** Approval before redrive's writes (contract/approval.ts). @default none: a hold for approval's request is not marked sent */
  readonly approvals?: ApprovalRecords;
}

export interface Outcome extends ActionOutcome {
  readonly decision: Decision;
  readonly executionArn: string | null;
  readonly eventId: string | null;
  readonly source: DecisionSource;
  /** True when nothing was written because the decision repeated an earlier skip. */
  readonly unchanged?: boolean;
}

export interface ProcessOptions {
  readonly source: DecisionSource;
  /** DescribeExecution's answer, when the caller already has it (drain, sweep). */
  readonly current?: DescribedExecution;
  /** Reconciliation: do not rewrite a skip that has not changed. */
  readonly quietIfUnchanged?: boolean;
  /** Decide only: no ledger writes, no redrive, no audit (backfill --dry-run). */
  readonly decideOnly?: boolean;
  /** A person released this held failure (`redrivectl release`). */
  readonly releasedByHand?: boolean;
  /**
   * A held failure's last chance before its redrive window ends (breaker/release.ts): its
   * breaker does not hold it back; its policy (limit, backoff, pause) still applies.
   */
  readonly windowEnding?: boolean;
  /**
   * The failure is held, pending or parked (a release, the drain): a skip whose reason may
   * change parks it (FailureLedger.park) instead of dropping it. Also when the ledger read
   * finds it so.
   */
  readonly parkIfNotNow?: boolean;
}
