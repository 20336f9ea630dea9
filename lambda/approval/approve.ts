/**
 * A person's answer to failures held for approval (policy `approval: true`,
 * contract/approval.ts), for `redrivectl approve | reject | status`:
 * - approve: `approvedBy` / `approvedAt` are written on the held record (conditional on it
 *   still being held for approval), then it goes through the event path as a release
 *   (source `release`): rate limited, audited, and decided by `decide()`, which no longer
 *   holds it for approval. The breaker, the limit, the backoff and dry run still apply (an
 *   approval is not `redrivectl release`). Refused while paused, as a release is.
 * - reject: settles it as a skip `rejected`, with who and why, and an audit entry.
 * An approval whose release did not run (the process died) leaves the record held for
 * approval with `approvedBy`: approving again releases it.
 */
import { AWAITING_APPROVAL, HELD_APPROVAL_SHARD } from '../../contract/approval';
import { skipDecision } from '../decide/decision';
import type { ControllerDeps, Outcome } from '../event-path';
import { recordDecision } from '../record/breaker-events';
import type { FailureLedger, FailureRecord } from '../record/failure-ledger';
import { refuseWhilePaused, releaseOne, take } from '../breaker/release';
import type { ApprovalRecords } from '../record/approval-records';
import { type PolicySnapshot, resolvePolicy } from '../policy/policy-source';

export type ApprovalDeps = ControllerDeps & { readonly approvals: ApprovalRecords };

const isHeldForApproval = (f: FailureRecord) => f.state === 'held' && f.reason === AWAITING_APPROVAL;

/** One execution's failures held for approval (normally one). */
export async function heldForApproval(executionArn: string, ledger: FailureLedger): Promise<FailureRecord[]> {
  return (await ledger.failuresOf(executionArn)).filter(isHeldForApproval);
}

/** Every failure held for approval (of one state machine, if given), oldest first; at most `limit`. */
export async function awaitingApproval(ledger: FailureLedger, options: { stateMachineArn?: string; limit?: number } = {}): Promise<FailureRecord[]> {
  const held = ledger.held(HELD_APPROVAL_SHARD, { stateMachineArn: options.stateMachineArn, pageSize: 500 });
  try {
    return await take(held, options.limit ?? Number.POSITIVE_INFINITY);
  } finally {
    await held.return(undefined);
  }
}

/** What awaits approval, per state machine: how many, and since when the oldest (its stop time) and until when it may wait. */
export interface AwaitingSummary {
  readonly stateMachineArn: string;
  readonly count: number;
  readonly oldest: FailureRecord;
}

export function summarize(records: readonly FailureRecord[]): AwaitingSummary[] {
  const by = new Map<string, { count: number; oldest: FailureRecord }>();
  for (const r of records) {
    const s = by.get(r.stateMachineArn);
    if (!s) by.set(r.stateMachineArn, { count: 1, oldest: r });
    else {
      s.count++;
      if ((r.dueAt ?? 0) < (s.oldest.dueAt ?? 0)) s.oldest = r;
    }
  }
  return [...by].map(([stateMachineArn, s]) => ({ stateMachineArn, ...s })).sort((a, b) => a.stateMachineArn.localeCompare(b.stateMachineArn));
}

/** Approves one held failure and releases it; undefined when it was no longer held for approval. */
async function approveOne(record: FailureRecord, by: string, deps: ApprovalDeps): Promise<Outcome | undefined> {
  if (!(await deps.approvals.approve(record, by, deps.clock()))) return undefined;
  return releaseOne(record, deps);
}

/** A person approves one execution's failure held for approval; refused while paused. */
export async function approveExecution(executionArn: string, by: string, deps: ApprovalDeps): Promise<Outcome[]> {
  await refuseWhilePaused(deps);
  const outcomes: Outcome[] = [];
  for (const record of await heldForApproval(executionArn, deps.ledger)) {
    const outcome = await approveOne(record, by, deps);
    if (outcome) outcomes.push(outcome);
  }
  return outcomes;
}

/** A person approves every failure of a state machine held for approval, oldest first; refused while paused. */
export async function approveStateMachine(
  stateMachineArn: string,
  by: string,
  deps: ApprovalDeps,
  options: { readonly concurrency: number; readonly onOutcome?: (o: Outcome) => void; readonly shouldStop?: () => boolean },
): Promise<Outcome[]> {
  await refuseWhilePaused(deps);
  const outcomes: Outcome[] = [];
  const held = deps.ledger.held(HELD_APPROVAL_SHARD, { stateMachineArn });
  try {
    for (;;) {
      if (options.shouldStop?.()) break;
      const batch = await take(held, Math.max(1, options.concurrency));
      if (batch.length === 0) break;
      const done = await Promise.all(batch.map((record) => approveOne(record, by, deps)));
      for (const outcome of done) {
        if (!outcome) continue;
        outcomes.push(outcome);
        options.onOutcome?.(outcome);
      }
    }
  } finally {
    await held.return(undefined);
  }
  return outcomes;
}

/** A person rejects one execution's failure held for approval: skip `rejected`, with who and why. Returns the failures rejected. */
export async function rejectExecution(executionArn: string, by: string, why: string, deps: ApprovalDeps): Promise<FailureRecord[]> {
  const rejected: FailureRecord[] = [];
  for (const record of await heldForApproval(executionArn, deps.ledger)) {
    if (!(await deps.approvals.reject(record, by, why, deps.clock()))) continue;
    const decision = skipDecision('rejected', `rejected by ${by}: ${why}`, { policyKey: record.policyKey, redriveCount: record.redriveCount, errorName: record.errorName });
    await recordDecision(record, decision, { action: 'skipped' }, 'release', deps);
    rejected.push(record);
  }
  return rejected;
}

/**
 * The drain: failures held for approval whose policy no longer asks for it (approval turned
 * off, the policy disabled, deleted or invalid) go back through the event path, oldest
 * first, at most `limit` a run: redriven, or parked until the policy changes again. Not
 * while paused (the caller's check).
 */
export async function releaseNoLongerAwaiting(deps: ControllerDeps, snapshot: PolicySnapshot, limit = 100): Promise<Outcome[]> {
  const stillAsks = (r: FailureRecord) => {
    const resolution = resolvePolicy(snapshot, r.stateMachineArn);
    return resolution.kind === 'found' && resolution.policy.enabled && resolution.policy.approval;
  };
  const outcomes: Outcome[] = [];
  for (const record of (await awaitingApproval(deps.ledger, { limit: limit * 4 })).filter((r) => !stillAsks(r)).slice(0, limit)) {
    outcomes.push(await releaseOne(record, deps));
  }
  return outcomes;
}

