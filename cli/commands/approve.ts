/**
 * `redrivectl approve | reject`: a person's answer to failures held for approval (policy
 * `approval: true`, docs/policies.md). approve releases one execution's held failure, or
 * every one of a state machine, through the controller's event path (source `release`):
 * under the controller's RedriveExecution limiter item, audited, `approvedBy` on the
 * record; the breaker, the limit and the backoff still apply. reject records a skip
 * `rejected` with the person's reason. Both ask on a terminal (`--yes` in scripts); approve
 * is refused while the kill switch is on, as a release is. Who: cli/approver.ts.
 */
import { Command } from 'commander';
import { isExecutionArn, isStateMachineArn } from '../../contract/arn';
import { approvalGivenUpAt } from '../../contract/approval';
import { POLICY_DEFAULTS } from '../../contract/policy-schema';
import { DynamoRateLimiter } from '../../lambda/act/rate-limiter';
import { approveExecution, approveStateMachine, awaitingApproval, heldForApproval, rejectExecution, summarize } from '../../lambda/approval/approve';
import { ReleaseWhilePausedError, refuseWhilePaused } from '../../lambda/breaker/release';
import { resolvePolicy } from '../../lambda/policy/policy-source';
import type { FailureRecord } from '../../lambda/record/failure-ledger';
import { type Approver, resolveApprover } from '../approver';
import { assertConfirmable, confirm } from '../confirm';
import { type CliContext, withContext } from '../context';
import { CliError, EXIT, failed, usage } from '../errors';
import { isoTime } from '../output';
import { outcomesTable, outcomeView, untilInterrupted } from '../outcomes';
import { cliRedriveRate } from '../redrive-rate';
import type { Wired } from '../../lambda/wiring';

interface ApproveOptions {
  stateMachine?: string;
  rate?: string;
  yes?: boolean;
  as?: string;
}

const heldLine = (f: FailureRecord) => `failure ${f.redriveCount} (${f.errorName ?? 'no error'}, held since ${isoTime(f.heldAt ?? f.updatedAt)})`;

function checkExecutionArn(what: string, arn: string): void {
  if (!isExecutionArn(arn)) throw usage(`${what}: '${arn.slice(0, 300)}' is not a Step Functions execution ARN`);
}

async function approve(ctx: CliContext, executionArn: string | undefined, options: ApproveOptions): Promise<void> {
  if ((executionArn === undefined) === (options.stateMachine === undefined)) throw usage('approve: give one execution ARN, or --state-machine <arn> (not both)');
  if (executionArn !== undefined) checkExecutionArn('approve', executionArn);
  if (options.stateMachine !== undefined && !isStateMachineArn(options.stateMachine)) {
    throw usage(`approve: --state-machine '${options.stateMachine.slice(0, 300)}' is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)`);
  }
  const { rate } = await cliRedriveRate(ctx, 'approve', options.rate);
  assertConfirmable('approve', options.yes);
  const approver = await resolveApprover(ctx, 'approve', options.as);
  // The controller's own limiter item at this run's rate: one budget of RedriveExecution calls.
  const deps = ctx.wire({ redriveRate: new DynamoRateLimiter(ctx.doc(), ctx.ledgerTable, 'RedriveExecution', rate) });
  try {
    await refuseWhilePaused(deps);
    if (executionArn !== undefined) await approveOne(ctx, deps, executionArn, approver, rate, options);
    else await approveAll(ctx, deps, options.stateMachine!, approver, rate, options);
  } catch (e) {
    if (e instanceof ReleaseWhilePausedError) {
      throw failed(`approve: refused: ${e.message}. An approval now would only record the failures as paused skips; nothing was approved and they stay held. Run redrivectl resume first, then approve again.`);
    }
    throw e;
  }
}

async function approveOne(ctx: CliContext, deps: Wired, executionArn: string, approver: Approver, rate: number, options: ApproveOptions): Promise<void> {
  const held = await heldForApproval(executionArn, deps.ledger);
  if (held.length === 0) throw failed(`approve: ${executionArn} has no failure held for approval (redrivectl explain shows its records)`);
  ctx.out.note(`held for approval: ${held.map(heldLine).join('; ')}\napproved by: ${approver.by} (${approver.source})`);
  await confirm('approve', `Approve and redrive ${held.length} failure(s) of ${executionArn} now (at up to ${rate}/s)?`, options.yes);
  const outcomes = await approveExecution(executionArn, approver.by, deps);
  ctx.out.emit({ executionArn, approvedBy: approver.by, approvedBySource: approver.source, rate, outcomes: outcomes.map(outcomeView) }, () => outcomesTable(outcomes));
}

async function approveAll(ctx: CliContext, deps: Wired, sm: string, approver: Approver, rate: number, options: ApproveOptions): Promise<void> {
  const held = await awaitingApproval(deps.ledger, { stateMachineArn: sm });
  if (held.length === 0) {
    ctx.out.emit({ stateMachine: sm, approvedBy: approver.by, approvedBySource: approver.source, rate, applied: false, outcomes: [] }, () => `nothing held for approval for ${sm}`);
    return;
  }
  ctx.out.note(`held for approval: ${held.length}, the oldest since ${isoTime(held[0].heldAt ?? held[0].updatedAt)}\napproved by: ${approver.by} (${approver.source})`);
  await confirm('approve', `Approve and redrive ${held.length} failure(s) of ${sm} now (at up to ${rate}/s)?`, options.yes);
  const { outcomes, stopped } = await untilInterrupted('approve', async (stopping) => ({
    outcomes: await approveStateMachine(sm, approver.by, deps, { concurrency: Math.min(64, Math.max(4, Math.ceil(rate / 5))), shouldStop: stopping }),
    stopped: stopping(),
  }));
  ctx.out.emit({ stateMachine: sm, approvedBy: approver.by, approvedBySource: approver.source, rate, applied: true, stopped, outcomes: outcomes.map(outcomeView) }, () =>
    [outcomesTable(outcomes), '', `done: ${outcomes.length} approved, ${outcomes.filter((o) => o.action === 'redriven').length} redriven`].join('\n'),
  );
  if (stopped) throw new CliError(`approve: interrupted after ${outcomes.length} failure(s); run the same command again to continue, nothing is redriven twice`, EXIT.interrupted);
}

async function reject(ctx: CliContext, executionArn: string, options: { reason?: string; yes?: boolean; as?: string }): Promise<void> {
  checkExecutionArn('reject', executionArn);
  const why = options.reason?.trim();
  if (!why) throw usage('reject: --reason "<why>" is required (it is recorded with the skip)');
  if (why.length > 1024) throw usage('reject: --reason must be at most 1024 characters');
  assertConfirmable('reject', options.yes);
  const approver = await resolveApprover(ctx, 'reject', options.as);
  const deps = ctx.wire();
  const held = await heldForApproval(executionArn, deps.ledger);
  if (held.length === 0) throw failed(`reject: ${executionArn} has no failure held for approval (redrivectl explain shows its records)`);
  ctx.out.note(`held for approval: ${held.map(heldLine).join('; ')}\nrejected by: ${approver.by} (${approver.source})`);
  await confirm('reject', `Reject ${held.length} failure(s) of ${executionArn} (never redriven): "${why}"?`, options.yes);
  const rejected = await rejectExecution(executionArn, approver.by, why, deps);
  ctx.out.emit(
    { executionArn, rejectedBy: approver.by, rejectedBySource: approver.source, reason: why, rejected: rejected.map((r) => r.redriveCount) },
    () => `rejected: ${rejected.map((r) => `failure ${r.redriveCount}`).join(', ') || 'nothing (it was approved, rejected or given up meanwhile)'} of ${executionArn}: ${why}`,
  );
  if (rejected.length === 0) process.exitCode = EXIT.failed;
}

/** What awaits approval, per state machine, for `redrivectl status`. */
export async function approvalsForStatus(ctx: CliContext, now: number) {
  const [records, snapshot] = await Promise.all([awaitingApproval(ctx.ledger()), ctx.policySource().snapshot(now)]);
  return summarize(records).map((s) => {
    const policy = resolvePolicy(snapshot, s.stateMachineArn);
    const margin = policy.kind === 'found' ? policy.policy.holdMarginHours : POLICY_DEFAULTS.holdMarginHours;
    const stopped = s.oldest.stopDate ?? s.oldest.heldAt ?? s.oldest.updatedAt;
    return {
      stateMachineArn: s.stateMachineArn,
      count: s.count,
      oldest: s.oldest.executionArn,
      oldestHeldSince: isoTime(s.oldest.heldAt ?? s.oldest.updatedAt),
      oldestGivenUpAt: isoTime(approvalGivenUpAt(stopped, margin)),
    };
  });
}

export function approveCommands(): Command[] {
  const approveCmd = new Command('approve')
    .description('approve failures held for approval (policy approval: true): redriven now through the controller, with audit trail and approvedBy')
    .argument('[executionArn]', 'one execution whose held failure to approve')
    .option('--state-machine <arn>', 'every failure of this state machine held for approval')
    .option('--rate <n>', "redrives per second, shared with the controller's limiter (default and maximum: the controller's deployed rate)")
    .option('--as <name>', 'your name: recorded alone against the local stand-ins; against AWS added to your STS identity')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .addHelpText(
      'after',
      `
approvedBy is your identity as STS GetCallerIdentity gives it (the IAM user or role session
ARN); against the local stand-ins, --as, else AUTO_REDRIVE_ACTOR, else user@host. An
approved failure is not held for approval again; the breaker, maxRedrives and the backoff
still apply. Refused while the kill switch is on (redrivectl resume first).

Examples:
  redrivectl status                      # what awaits approval
  redrivectl approve arn:aws:states:us-east-1:123456789012:execution:payments:run-42
  redrivectl approve --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:payments --yes`,
    )
    .action(withContext(approve));
  const rejectCmd = new Command('reject')
    .description('reject a failure held for approval: recorded as a skip (rejected) with your reason; never redriven')
    .argument('<executionArn>', 'the execution whose held failure to reject')
    .option('--reason <text>', 'why (required; recorded with the skip and in the audit trail)')
    .option('--as <name>', 'your name (as for approve)')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .addHelpText('after', '\nExamples:\n  redrivectl reject arn:aws:states:us-east-1:123456789012:execution:payments:run-42 --reason "charged twice already, INC-1234"')
    .action(withContext(reject));
  return [approveCmd, rejectCmd];
}
