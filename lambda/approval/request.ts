/**
 * `Auto Redrive Approval Requested`: the owner event of a failure held for a person's
 * approval (policy `approval: true`), sent once per hold. The event path calls it after
 * the hold is written; a repeated delivery of the same failure finds
 * `approvalRequestedAt` on the record and sends nothing. When PutEvents fails the error
 * is thrown, the event is delivered again, and the request is sent then.
 */
import { approvalGivenUpAt, approveCommand, AWAITING_APPROVAL, rejectCommand } from '../../contract/approval';
import { type ApprovalRequestedDetail, CAUSE_LIMIT } from '../../contract/owner-events';
import { POLICY_DEFAULTS } from '../../contract/policy-schema';
import type { ActionResult } from '../record/audit-trail';
import type { Decision, PolicyResolution } from '../decide/decision';
import type { FailureFacts, FailureRecord } from '../record/failure-ledger';
import { consoleUrl, type OwnerNotifier } from '../record/owner-notifier';
import type { ApprovalRecords } from '../record/approval-records';

export interface ApprovalRequestDeps {
  readonly notifier?: OwnerNotifier;
  /** Marks the request as sent. @default none: every hold for approval sends it */
  readonly approvals?: ApprovalRecords;
  readonly clock: () => number;
}

/**
 * The failed state, when the failure facts carry it (the state-scoped policies read it from
 * the execution's history); absent otherwise.
 */
function failedStateOf(facts: FailureFacts): string | undefined {
  return facts.failedState?.name ?? undefined;
}

export function approvalRequested(facts: FailureFacts, cause: string | null, holdMarginHours: number, heldAt: number): ApprovalRequestedDetail {
  const stopped = Math.min(facts.stopDate ?? heldAt, heldAt);
  const approveBy = approvalGivenUpAt(stopped, holdMarginHours);
  const failedState = failedStateOf(facts);
  return {
    executionArn: facts.executionArn,
    stateMachineArn: facts.stateMachineArn,
    error: facts.errorName,
    cause: cause === null ? null : cause.slice(0, CAUSE_LIMIT),
    ...(failedState === undefined ? {} : { failedState }),
    redriveCount: facts.redriveCount,
    policyKey: facts.policyKey,
    heldAt: new Date(heldAt).toISOString(),
    approveBy: new Date(approveBy).toISOString(),
    mayWaitSeconds: Math.max(0, Math.floor((approveBy - heldAt) / 1000)),
    approveCommand: approveCommand(facts.executionArn),
    rejectCommand: rejectCommand(facts.executionArn),
    consoleUrl: consoleUrl(facts.executionArn, facts.region),
  };
}

/** Sends the request when this decision newly held the failure for approval. */
export async function requestApprovalIfHeld(
  decision: Decision,
  action: ActionResult,
  facts: FailureFacts | null,
  thisRecord: FailureRecord | undefined,
  resolution: PolicyResolution,
  cause: string | null,
  deps: ApprovalRequestDeps,
): Promise<void> {
  if (decision.decision !== 'hold' || decision.reason !== AWAITING_APPROVAL || action !== 'held' || !facts) return;
  const alreadyRequested = thisRecord?.state === 'held' && thisRecord.reason === AWAITING_APPROVAL && thisRecord.approvalRequestedAt !== undefined;
  if (alreadyRequested || !deps.notifier?.notifyApprovalRequested) return;
  const margin = resolution.kind === 'found' ? resolution.policy.holdMarginHours : POLICY_DEFAULTS.holdMarginHours;
  const now = deps.clock();
  await deps.notifier.notifyApprovalRequested(approvalRequested(facts, cause, margin, now));
  await deps.approvals?.markRequested(facts, now);
}
