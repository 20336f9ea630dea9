/**
 * A failure record's shape and the pure rules about it: its facts, its key, the stored
 * form of its facts, and how long it is kept (its TTL). The ledger's writes are in
 * failure-ledger.ts, which re-exports these.
 */
import type { FailureRecordState } from '../decide/decision';
import type { AuditEntry } from './decision-record';
import type { FailedState } from '../facts/failed-state';
import { REDRIVE_WINDOW_MS } from '../../contract/breaker';
import { MAX_HOLD_MARGIN_HOURS } from '../../contract/policy-schema';

export type FailureState = FailureRecordState['state'];

/** What the ledger remembers about the failed execution (never its input or output). */
export interface FailureFacts {
  readonly executionArn: string;
  readonly redriveCount: number;
  readonly stateMachineArn: string;
  readonly account: string;
  readonly region: string;
  readonly name: string;
  readonly status: string;
  readonly startDate: number;
  readonly stopDate: number | null;
  readonly errorName: string | null;
  /** Truncated: enough for a person to recognise the failure. */
  readonly cause: string | null;
  readonly policyKey: string | null;
  /**
   * How many of the execution's earlier failures were redriven as breaker probes (absent:
   * none; older records lack it). Kept on held records: the probe choice rotates by it.
   */
  readonly probes?: number;
  /**
   * Who approved this failure's redrive, and when (policy `approval: true`,
   * contract/approval.ts); absent: not approved. Kept by every write until it is settled.
   */
  readonly approvedBy?: string;
  readonly approvedAt?: number;
  /**
   * The state the failure happened at (lambda/facts/failed-state.ts), stored by the first
   * path that read it from the history (state-scoped policies only), so no path reads it
   * twice. Absent: not read (older records, policies that are not state-scoped).
   */
  readonly failedState?: FailedState;
}

export interface FailureRecord extends FailureFacts {
  readonly state: FailureState;
  readonly reason: string | null;
  readonly dueAt: number | null;
  readonly claimToken: string | null;
  readonly claimExpiresAt: number | null;
  readonly attempts: number;
  readonly updatedAt: number;
  /** Held records: when the failure was (last) held. */
  readonly heldAt?: number;
  /** Set on the record of a failure that was redriven as a breaker probe. */
  readonly probeToken?: string;
  /** Audit entries stored by the writes that settled claims (oldest first). */
  readonly decisions?: readonly AuditEntry[];
  /** On a record 0 written because a later failure (this redriveCount) was recorded first. */
  readonly supersededBy?: number;
  /** Its byDue index value, while it is in the index (pending, claimed, held, parked). */
  readonly dueShard?: string;
  /** Held for approval: when its `Auto Redrive Approval Requested` event was sent. */
  readonly approvalRequestedAt?: number;
  /** Rejected by a person (`redrivectl reject`): who, and the reason they gave. */
  readonly rejectedBy?: string;
  readonly rejectedWhy?: string;
}

/** The approval a failure carries (for writes that replace the record whole). */
export const keptApproval = (f: Pick<FailureFacts, 'approvedBy' | 'approvedAt'> | undefined): Pick<FailureFacts, 'approvedBy' | 'approvedAt'> =>
  f?.approvedBy === undefined ? {} : { approvedBy: f.approvedBy, approvedAt: f.approvedAt };

/**
 * A failure that may still be redriven: pending, claimed, held, or a skip parked for a
 * reason that may change (FailureLedger.park). A skip of it "for now" parks it again.
 */
export const mayStillBeRedriven = (r: FailureRecord | undefined): boolean =>
  r !== undefined && (r.state === 'pending' || r.state === 'claimed' || r.state === 'held' || (r.state === 'skipped' && r.dueShard !== undefined));

/** Audit entries one failure record holds at most (one per claim attempt; audit-trail.ts). */
export const MAX_DECISIONS_IN_RECORD = 16;

/** Whether the write settling this claim stores the decision's audit entry too. */
export const settlesWithDecision = (claim: Claim) => claim.attempts <= MAX_DECISIONS_IN_RECORD;

/** Proof of a won claim: the only way to move a claimed record on. */
export interface Claim {
  readonly executionArn: string;
  readonly redriveCount: number;
  readonly token: string;
  /** How many times this failure has been claimed, this claim included. */
  readonly attempts: number;
}

export function toRecordState(r: FailureRecord): FailureRecordState {
  switch (r.state) {
    case 'pending':
      return { state: 'pending', dueAt: r.dueAt ?? 0 };
    case 'claimed':
      return { state: 'claimed', claimExpiresAt: r.claimExpiresAt ?? 0 };
    case 'redriven':
      return { state: 'redriven' };
    case 'skipped':
      return { state: 'skipped', reason: r.reason ?? '' };
    case 'held':
      return { state: 'held', reason: r.reason ?? '' };
  }
}

/** One execution's partition holds its failure records (FAILURE#…) and its audit entries (AUDIT#…). */
export const executionPk = (executionArn: string) => `EXEC#${executionArn}`;

/** Query parameters for one kind of item in an execution's partition. */
export function executionItems(executionArn: string, kind: 'FAILURE#' | 'AUDIT#') {
  return { KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)', ExpressionAttributeValues: { ':pk': executionPk(executionArn), ':kind': kind } };
}

/** A held failure's position in its HELD shard: when it stopped (oldest released first). */
export const heldSince = (f: Pick<FailureFacts, 'stopDate'>, now: number) => Math.min(f.stopDate ?? now, now);

/** A failure record's sort key. */
export const failureSk = (redriveCount: number) => `FAILURE#${String(redriveCount).padStart(7, '0')}`;

const CAUSE_LIMIT = 1000;

/** The fields of FailureFacts that are stored (the ledger refreshes them on every take-over). */
export const FACT_FIELDS = [
  'executionArn', 'redriveCount', 'stateMachineArn', 'account', 'region', 'name',
  'status', 'startDate', 'stopDate', 'errorName', 'cause', 'policyKey',
] as const satisfies readonly (keyof FailureFacts)[];

/** The facts as stored: the fact fields only (a whole record passed in keeps no more), the cause cut short. */
export function storedFacts(f: FailureFacts): FailureFacts {
  const facts = Object.fromEntries(FACT_FIELDS.map((k) => [k, f[k]])) as unknown as FailureFacts;
  return { ...facts, cause: f.cause === null ? null : f.cause.slice(0, CAUSE_LIMIT), ...(f.failedState ? { failedState: f.failedState } : {}) };
}

/**
 * How long a record that may still be redriven (pending, claimed, held) must outlive its
 * failure: Step Functions' 14-day redrive window plus the widest hold margin, from the
 * stop. A held failure is given up `holdMarginHours` before the window ends
 * (breaker/release.ts giveUpNearWindowEnd); the record must still exist then, whatever
 * `auditRetention` is (it may be 1 day).
 */
export const LIVE_RECORD_MIN_LIFE_MS = REDRIVE_WINDOW_MS + MAX_HOLD_MARGIN_HOURS * 3_600_000;

/**
 * The TTL (`expiresAt`, epoch seconds) of a failure record written at `now`: the audit
 * retention; for a record that may still be redriven (`live`), at least until
 * LIVE_RECORD_MIN_LIFE_MS after the failure stopped.
 */
export function recordExpiresAt(now: number, retentionDays: number, live?: { readonly stopDate: number | null }): number {
  const retained = Math.floor(now / 1000) + retentionDays * 86_400;
  if (!live) return retained;
  const stopped = Math.min(live.stopDate ?? now, now);
  return Math.max(retained, Math.ceil((stopped + LIVE_RECORD_MIN_LIFE_MS) / 1000));
}
