import { REDRIVE_WINDOW_MS } from '../../../contract/breaker';
import { approvalRequested, requestApprovalIfHeld } from '../../../lambda/approval/request';
import type { Decision } from '../../../lambda/decide/decision';
import type { FailureFacts, FailureRecord } from '../../../lambda/record/failure-ledger';
import { MemoryNotifier } from '../../../lambda/record/owner-notifier';
import { EXECUTION_ARN, policy, STATE_MACHINE_ARN } from '../helpers';

const STOP = Date.UTC(2026, 10, 16, 9, 0, 0);
const HOUR = 3_600_000;
const facts: FailureFacts = {
  executionArn: EXECUTION_ARN,
  redriveCount: 0,
  stateMachineArn: STATE_MACHINE_ARN,
  account: '123456789012',
  region: 'us-east-1',
  name: 'run',
  status: 'FAILED',
  startDate: STOP - 1000,
  stopDate: STOP,
  errorName: 'Payments.Timeout',
  cause: null,
  policyKey: '*',
};
const hold: Decision = { decision: 'hold', reason: 'awaiting-approval', policyKey: '*', redriveCount: 0, errorName: 'Payments.Timeout', detail: 'held' };
const found = { kind: 'found', policy: policy({ holdMarginHours: 12 }) } as const;

describe('approvalRequested', () => {
  test('the execution, its error and cause (cut), how long it may wait and the exact commands; no failedState when unknown', () => {
    const d = approvalRequested({ ...facts, cause: 'x'.repeat(5000) }, 'x'.repeat(5000), 24, STOP + HOUR);
    expect(d).toMatchObject({ executionArn: EXECUTION_ARN, stateMachineArn: STATE_MACHINE_ARN, error: 'Payments.Timeout', redriveCount: 0, policyKey: '*' });
    expect(d.cause).toHaveLength(1024);
    expect(d.approveBy).toBe(new Date(STOP + REDRIVE_WINDOW_MS - 24 * HOUR).toISOString());
    expect(d.mayWaitSeconds).toBe((REDRIVE_WINDOW_MS - 25 * HOUR) / 1000);
    expect(d.approveCommand).toBe(`npx redrivectl approve ${EXECUTION_ARN}`);
    expect(d.rejectCommand).toBe(`npx redrivectl reject ${EXECUTION_ARN} --reason "<why>"`);
    expect(d).not.toHaveProperty('failedState');
  });
  test('the failed state when the failure facts carry it', () => {
    expect(approvalRequested({ ...facts, failedState: { name: 'ChargeCard', enclosing: ['Payments'] } }, null, 24, STOP).failedState).toBe('ChargeCard');
    // A whole-execution timeout has no failed state.
    expect(approvalRequested({ ...facts, failedState: { name: null, enclosing: [] } }, null, 24, STOP)).not.toHaveProperty('failedState');
  });
});

describe('requestApprovalIfHeld', () => {
  const deps = () => ({ notifier: new MemoryNotifier(), clock: () => STOP + HOUR });
  test('sends one request for a new hold for approval, with the policy\'s holdMarginHours', async () => {
    const d = deps();
    await requestApprovalIfHeld(hold, 'held', facts, undefined, found, null, d);
    expect(d.notifier.approvalRequests).toHaveLength(1);
    expect(d.notifier.approvalRequests[0].approveBy).toBe(new Date(STOP + REDRIVE_WINDOW_MS - 12 * HOUR).toISOString());
  });
  test('nothing for a repeated hold already requested, another decision, or a hold not written', async () => {
    const d = deps();
    const requested = { state: 'held', reason: 'awaiting-approval', approvalRequestedAt: STOP } as FailureRecord;
    await requestApprovalIfHeld(hold, 'held', facts, requested, found, null, d);
    await requestApprovalIfHeld({ ...hold, reason: 'breaker-open' }, 'held', facts, undefined, found, null, d);
    await requestApprovalIfHeld(hold, 'lost-race', facts, undefined, found, null, d);
    expect(d.notifier.approvalRequests).toEqual([]);
  });
  test('a hold whose request was not sent yet (PutEvents failed, the event delivered again) is requested again', async () => {
    const d = deps();
    await requestApprovalIfHeld(hold, 'held', facts, { state: 'held', reason: 'awaiting-approval' } as FailureRecord, found, null, d);
    expect(d.notifier.approvalRequests).toHaveLength(1);
  });
});
