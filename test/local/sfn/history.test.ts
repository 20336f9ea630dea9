/** GetExecutionHistory on the stand-in through the real SDK, and the controller's reader on it. */
import { GetExecutionHistoryCommand, RedriveExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SdkStepFunctions } from '../../../lambda/act/step-functions';
import { findFailedState } from '../../../lambda/facts/failed-state';
import { createMachine, errorOf, manualClock, startHarness, type Harness } from './helpers';

const VALIDATE = 'arn:aws:lambda:us-east-1:123456789012:function:validate';
const CHARGE = 'arn:aws:lambda:us-east-1:123456789012:function:charge';

const CHARGE_FLOW = JSON.stringify({
  StartAt: 'Validate',
  States: {
    Validate: { Type: 'Task', Resource: VALIDATE, Next: 'Shape' },
    Shape: { Type: 'Pass', Result: { ok: true }, Next: 'Charge' },
    Charge: { Type: 'Task', Resource: CHARGE, End: true },
  },
});
const REJECT_FLOW = JSON.stringify({ StartAt: 'Validate', States: { Validate: { Type: 'Task', Resource: VALIDATE, Next: 'Rejected' }, Rejected: { Type: 'Fail', Error: 'Order.Rejected' } } });

describe('GetExecutionHistory on the stand-in', () => {
  let h: Harness;
  const clock = manualClock(Date.UTC(2024, 2, 1));
  let chargeArn: string;
  let rejectArn: string;

  beforeAll(async () => {
    h = await startHarness({ clock: clock.fn });
    h.standIn.setBehaviour(CHARGE, { kind: 'fail-times', times: 2, error: 'Partner.Timeout', cause: 'card partner did not answer' });
    const charge = await createMachine(h.sfn, 'Charge', CHARGE_FLOW);
    const reject = await createMachine(h.sfn, 'Reject', REJECT_FLOW);
    chargeArn = (await h.sfn.send(new StartExecutionCommand({ stateMachineArn: charge, name: 'order-1', input: '{"card":"4111"}' }))).executionArn!;
    rejectArn = (await h.sfn.send(new StartExecutionCommand({ stateMachineArn: reject, name: 'order-2' }))).executionArn!;
    await h.standIn.idle();
  });
  afterAll(() => h.close());

  it('a Task failure: the events in order, linked by previousEventId, with the execution data', async () => {
    const out = await h.sfn.send(new GetExecutionHistoryCommand({ executionArn: chargeArn }));
    expect(out.events?.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited',
      'PassStateEntered', 'PassStateExited',
      'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskFailed',
      'ExecutionFailed',
    ]);
    expect(out.events?.map((e) => [e.id, e.previousEventId])).toEqual(out.events?.map((_, i) => [i + 1, i]));
    expect(out.events?.[8].stateEnteredEventDetails).toMatchObject({ name: 'Charge', input: '{"ok":true}' });
    expect(out.events?.[11].taskFailedEventDetails).toMatchObject({ error: 'Partner.Timeout', cause: 'card partner did not answer' });
    expect(out.events?.[12].executionFailedEventDetails).toEqual({ error: 'Partner.Timeout', cause: 'card partner did not answer' });
    expect(out.events?.[0].timestamp).toEqual(new Date(clock.now));
  });

  it('reverseOrder, maxResults and nextToken page newest first; includeExecutionData false leaves inputs out', async () => {
    const first = await h.sfn.send(new GetExecutionHistoryCommand({ executionArn: chargeArn, reverseOrder: true, maxResults: 5, includeExecutionData: false }));
    expect(first.events?.map((e) => e.id)).toEqual([13, 12, 11, 10, 9]);
    expect(first.events?.[4].stateEnteredEventDetails).toEqual({ name: 'Charge' });
    const second = await h.sfn.send(new GetExecutionHistoryCommand({ executionArn: chargeArn, reverseOrder: true, maxResults: 5, nextToken: first.nextToken }));
    expect(second.events?.map((e) => e.id)).toEqual([8, 7, 6, 5, 4]);
    const err = await errorOf(() => h.sfn.send(new GetExecutionHistoryCommand({ executionArn: rejectArn, nextToken: first.nextToken })));
    expect(err.name).toBe('InvalidToken');
  });

  it('a Fail state and a redriven execution, read by the controller adapter', async () => {
    const gateway = new SdkStepFunctions(h.sfn);
    expect(await findFailedState(gateway.historyPages(rejectArn))).toEqual({ name: 'Rejected', enclosing: [] });
    expect(await findFailedState(gateway.historyPages(chargeArn))).toEqual({ name: 'Charge', enclosing: [] });

    clock.advance(1000);
    await h.sfn.send(new RedriveExecutionCommand({ executionArn: chargeArn }));
    await h.standIn.idle();
    const out = await h.sfn.send(new GetExecutionHistoryCommand({ executionArn: chargeArn, reverseOrder: true, maxResults: 6 }));
    expect(out.events?.map((e) => e.type)).toEqual(['ExecutionFailed', 'TaskFailed', 'TaskStarted', 'TaskScheduled', 'TaskStateEntered', 'ExecutionRedriven']);
    expect(out.events?.[5].executionRedrivenEventDetails).toEqual({ redriveCount: 1 });
    expect(await findFailedState(gateway.historyPages(chargeArn))).toEqual({ name: 'Charge', enclosing: [] });
  });

  it('an execution that does not exist', async () => {
    const err = await errorOf(() => h.sfn.send(new GetExecutionHistoryCommand({ executionArn: rejectArn.replace('order-2', 'nope') })));
    expect(err.name).toBe('ExecutionDoesNotExist');
  });
});
