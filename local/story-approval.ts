/**
 * The approval story (`npm start -- --story approval`), on the local stand-in with
 * simulated time: the `refunds` state machine issues refunds through a partner API
 * without an idempotency key, so its policy has `approval: true`. Two executions fail
 * with a timeout (the refund may or may not have gone through). Each is held for a person
 * with an `Auto Redrive Approval Requested` event, and the scheduled drain leaves it
 * alone; the first is approved (the partner confirms no refund was made) and redriven
 * through the normal path, and succeeds; the second is rejected with the person's reason
 * (the refund did go through) and is never redriven.
 */
import { CreateStateMachineCommand, DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { ApprovalRequestedDetail } from '../contract/owner-events';
import { approveExecution, rejectExecution } from '../lambda/approval/approve';
import { MemoryLog } from '../lambda/observability/telemetry';
import { drain } from '../lambda/scheduled-drain';
import { startLocal } from './environment';
import { SimClock } from './sim-clock';

export const APPROVAL_STORY_START = Date.UTC(2026, 10, 16, 9, 0, 0);
const ACCOUNT = '123456789012';
const MACHINE = 'refunds';
const REFUND = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:partner-refund`;
const MINUTE = 60_000;
/** Who approves and rejects in the story: against the stand-ins, a name (redrivectl: --as). */
export const STORY_APPROVER = 'alice (on call, story)';

export interface ApprovalStoryResult {
  readonly lines: string[];
  readonly requests: ApprovalRequestedDetail[];
  readonly approved: { readonly status: string; readonly redriveCount: number; readonly approvedBy: string | undefined; readonly redrivesWhileHeld: number };
  readonly rejected: { readonly status: string; readonly redriveCount: number; readonly ledgerReason: string | null; readonly auditDetail: string | undefined };
}

export async function runApprovalStory(onLine: (line: string) => void = () => undefined): Promise<ApprovalStoryResult> {
  const clock = new SimClock(APPROVAL_STORY_START);
  const lines: string[] = [];
  const at = () => `+${String(Math.round((clock.now() - APPROVAL_STORY_START) / MINUTE)).padStart(3, ' ')} min`;
  const say = (text: string) => {
    const line = `${at()}  ${text}`;
    lines.push(line);
    onLine(line);
  };
  const env = await startLocal({ clock: clock.now, sleep: clock.sleep, log: new MemoryLog(), standIn: { clock: clock.now } });
  try {
    const partner = { up: false };
    env.standIn.setBehaviour(REFUND, () => (partner.up ? { ok: true } : { ok: false, error: 'Partner.Timeout', cause: 'partner refund API did not answer within 30 s' }));
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, approval: true, description: 'refunds are not idempotent: a person approves every redrive' });
    const sm = await env.sfn.send(
      new CreateStateMachineCommand({
        name: MACHINE,
        definition: JSON.stringify({ StartAt: 'Refund', States: { Refund: { Type: 'Task', Resource: REFUND, End: true } } }),
        roleArn: `arn:aws:iam::${ACCOUNT}:role/${MACHINE}-role`,
      }),
    );
    const requests: ApprovalRequestedDetail[] = [];
    const notify = env.notifier.notifyApprovalRequested.bind(env.notifier);
    env.notifier.notifyApprovalRequested = async (detail) => {
      requests.push(detail);
      say(`EVENT Auto Redrive Approval Requested: ${detail.executionArn.split(':').pop()} (${detail.error}); may wait until ${detail.approveBy}`);
      say(`      approve: ${detail.approveCommand}`);
      await notify(detail);
    };
    const describe = async (arn: string) => env.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    const fail = async (name: string) => {
      const { executionArn } = await env.sfn.send(new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn, name, input: '{"refundId":"r-1"}' }));
      await env.settle();
      const [record] = await env.deps.ledger.failuresOf(executionArn!);
      say(`${name}: FAILED (Partner.Timeout) -> auto-redrive: ${record.state} (${record.reason}), redrives used: ${(await describe(executionArn!)).redriveCount ?? 0}`);
      return executionArn!;
    };

    const first = await fail('refund-1');
    clock.advanceTo(clock.now() + 10 * MINUTE);
    await drain(env.deps);
    await env.settle();
    const redrivesWhileHeld = env.standIn.redrives.length;
    say(`drain ran: ${redrivesWhileHeld} redrives; refund-1 is still held for approval`);

    partner.up = true;
    clock.advanceTo(clock.now() + 20 * MINUTE);
    const [approval] = await approveExecution(first, STORY_APPROVER, env.deps);
    say(`${STORY_APPROVER} approves refund-1 (the partner made no refund): ${approval?.decision.decision} (${approval?.decision.reason}) -> ${approval?.action}`);
    await env.settle();
    const firstNow = await describe(first);
    const [firstRecord] = await env.deps.ledger.failuresOf(first);
    say(`refund-1: ${firstNow.status} after ${firstNow.redriveCount} redrive; approvedBy ${firstRecord.approvedBy}`);

    partner.up = false;
    const second = await fail('refund-2');
    partner.up = true;
    clock.advanceTo(clock.now() + 5 * MINUTE);
    const why = 'the partner did refund r-2: a redrive would refund twice';
    await rejectExecution(second, STORY_APPROVER, why, env.deps);
    const [secondRecord] = await env.deps.ledger.failuresOf(second);
    const trail = await env.deps.audit.trail(second);
    say(`${STORY_APPROVER} rejects refund-2: ${secondRecord.state} (${secondRecord.reason}): ${why}`);
    clock.advanceTo(clock.now() + 60 * MINUTE);
    await drain(env.deps);
    await env.settle();
    const secondNow = await describe(second);
    say(`refund-2: ${secondNow.status}, redriven ${secondNow.redriveCount ?? 0}x`);
    return {
      lines,
      requests,
      approved: { status: firstNow.status!, redriveCount: firstNow.redriveCount ?? 0, approvedBy: firstRecord.approvedBy, redrivesWhileHeld },
      rejected: { status: secondNow.status!, redriveCount: secondNow.redriveCount ?? 0, ledgerReason: secondRecord.reason, auditDetail: trail.at(-1)?.detail },
    };
  } finally {
    await env.stop();
  }
}

/** What did not end as the story says (empty: it did). */
export function approvalStoryProblems(r: ApprovalStoryResult): string[] {
  const problems: string[] = [];
  if (r.requests.length !== 2) problems.push(`expected 2 Approval Requested events, got ${r.requests.length}`);
  if (r.approved.redrivesWhileHeld !== 0) problems.push(`${r.approved.redrivesWhileHeld} redrive(s) before the approval`);
  if (r.approved.status !== 'SUCCEEDED' || r.approved.redriveCount !== 1) problems.push(`refund-1 ended ${r.approved.status} after ${r.approved.redriveCount} redrive(s), not SUCCEEDED after 1`);
  if (r.approved.approvedBy !== STORY_APPROVER) problems.push(`refund-1's approvedBy is ${r.approved.approvedBy ?? 'missing'}`);
  if (r.rejected.status !== 'FAILED' || r.rejected.redriveCount !== 0) problems.push(`refund-2 ended ${r.rejected.status} after ${r.rejected.redriveCount} redrive(s), not FAILED unredriven`);
  if (r.rejected.ledgerReason !== 'rejected' || !r.rejected.auditDetail?.includes('would refund twice')) problems.push("refund-2's rejection or its reason is not recorded");
  return problems;
}
