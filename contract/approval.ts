/**
 * Approval before redrive (policy field `approval: true`, docs/policies.md): the storage
 * contract and the words shared by the controller (lambda/approval), redrivectl (approve,
 * reject, status) and the local story.
 *
 *   held for approval   the failure record itself (pk EXEC#<arn>, sk FAILURE#<n>), state
 *                       `held`, reason `awaiting-approval`, dueShard HELD-APPROVAL#<k> (k the
 *                       execution's shard, contract/due-shards.ts), dueAt = its stopDate:
 *                       one family for every state machine, oldest first (as HELD-EXHAUSTED).
 *   approved            the same record with `approvedBy` / `approvedAt`: it is never held
 *                       for approval again (a breaker may still hold it), and it keeps them
 *                       until it is redriven or given up.
 */
import { REDRIVE_WINDOW_MS } from './breaker';

/** Family (base value) of failures held for approval (all state machines), sharded as `HELD-APPROVAL#<k>`. */
export const HELD_APPROVAL_SHARD = 'HELD-APPROVAL';

/** The hold reason (contract/decisions.ts HOLD_REASONS). */
export const AWAITING_APPROVAL = 'awaiting-approval';

/** The approval stored on a failure record (absent: not approved; older records lack it). */
export interface StoredApproval {
  /** Who approved: the caller's IAM ARN (STS GetCallerIdentity), or a local name (`--as`). */
  readonly approvedBy?: string;
  /** Epoch ms. */
  readonly approvedAt?: number;
}

const HOUR_MS = 3_600_000;

/**
 * When a failure held for approval is given up (breaker/release.ts giveUpNearWindowEnd):
 * `holdMarginHours` before Step Functions' 14-day redrive window ends.
 */
export function approvalGivenUpAt(stoppedAt: number, holdMarginHours: number): number {
  return stoppedAt + REDRIVE_WINDOW_MS - holdMarginHours * HOUR_MS;
}

/** The exact command that approves one execution's held failure (owner event, status). */
export const approveCommand = (executionArn: string) => `npx redrivectl approve ${executionArn}`;

/** The command that rejects it (the reason is the person's). */
export const rejectCommand = (executionArn: string) => `npx redrivectl reject ${executionArn} --reason "<why>"`;
