/** RedriveExecution through the real SDK: eligibility rules, error codes, resume point, clientToken. */
import {
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { REDRIVE_STATUS_REASONS, type StepResult } from '../../../local/sfn';
import { createMachine, errorOf, manualClock, startHarness, taskChain, type Harness } from './helpers';

const OK = 'arn:aws:lambda:us-east-1:123456789012:function:ok';
const FLAKY = 'arn:aws:lambda:us-east-1:123456789012:function:flaky';
const DAY = 24 * 60 * 60 * 1000;
const START = Date.UTC(2024, 0, 10, 12);

let h: Harness;
let clock: ReturnType<typeof manualClock>;

beforeEach(async () => {
  clock = manualClock(START);
  h = await startHarness({ clock: clock.fn });
});
afterEach(() => h.close());

async function failedExecution(sfn: SFNClient = h.sfn, machine = 'Flaky'): Promise<string> {
  h.standIn.setBehaviour(FLAKY, { kind: 'fail', error: 'Boom', cause: 'always' });
  const stateMachineArn = await createMachine(sfn, machine, taskChain(OK, FLAKY));
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn }));
  await h.standIn.idle();
  expect(h.standIn.getExecution(executionArn as string)?.status).toBe('FAILED');
  return executionArn as string;
}

const redrive = (executionArn: string, clientToken?: string) =>
  h.sfn.send(new RedriveExecutionCommand({ executionArn, clientToken }));
const describe_ = (executionArn: string) => h.sfn.send(new DescribeExecutionCommand({ executionArn }));

/** The API error and DescribeExecution must tell the same story. */
async function expectNotRedrivable(executionArn: string, reason: string) {
  const err = await errorOf(() => redrive(executionArn));
  expect(err.name).toBe('ExecutionNotRedrivable');
  expect(err.message).toBe(reason);
  expect(err.$metadata?.httpStatusCode).toBe(400);
  const d = await describe_(executionArn);
  expect(d.redriveStatus).toBe('NOT_REDRIVABLE');
  expect(d.redriveStatusReason).toBe(reason);
}

describe('RedriveExecution errors carry the AWS error code as the SDK error name', () => {
  test('InvalidArn for malformed ARNs and for a state machine ARN', async () => {
    for (const arn of ['not-an-arn', 'arn:aws:states:us-east-1:123456789012:stateMachine:Flaky']) {
      const err = await errorOf(() => redrive(arn));
      expect(err.name).toBe('InvalidArn');
    }
  });

  test('ExecutionDoesNotExist for a well-formed unknown ARN', async () => {
    const err = await errorOf(() => redrive('arn:aws:states:us-east-1:123456789012:execution:Nope:abc'));
    expect(err.name).toBe('ExecutionDoesNotExist');
  });

  test('ExecutionNotRedrivable for a SUCCEEDED execution', async () => {
    const stateMachineArn = await createMachine(h.sfn, 'Fine', taskChain(OK));
    const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn }));
    await h.standIn.idle();
    await expectNotRedrivable(executionArn as string, 'Execution is SUCCEEDED and cannot be redriven');
  });

  test('ExecutionNotRedrivable for a RUNNING execution', async () => {
    let release: (r: StepResult) => void = () => undefined;
    h.standIn.setBehaviour(OK, () => new Promise<StepResult>((resolve) => (release = resolve)));
    const stateMachineArn = await createMachine(h.sfn, 'Slow', taskChain(OK));
    const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn }));
    await expectNotRedrivable(executionArn as string, 'Execution is RUNNING and cannot be redriven');
    release({ ok: true });
    await h.standIn.idle();
    expect(h.standIn.getExecution(executionArn as string)?.status).toBe('SUCCEEDED');
  });

  test('ExecutionNotRedrivable once the 14-day redrivable period has passed (injected clock)', async () => {
    const arn = await failedExecution();
    clock.advance(14 * DAY - 1);
    expect((await describe_(arn)).redriveStatus).toBe('REDRIVABLE');
    clock.advance(1);
    await expectNotRedrivable(arn, 'Execution redrivable period exceeded');
  });

  test('ExecutionNotRedrivable when the state machine is DELETING', async () => {
    const arn = await failedExecution();
    await h.sfn.send(new DeleteStateMachineCommand({ stateMachineArn: h.standIn.getExecution(arn)?.stateMachineArn }));
    await expectNotRedrivable(arn, 'State machine is in DELETING status');
  });

  test('ExecutionNotRedrivable for executions started before 2023-11-15', async () => {
    clock.now = Date.UTC(2023, 10, 14, 23, 59);
    const arn = await failedExecution();
    clock.advance(DAY);
    await expectNotRedrivable(arn, 'Execution was started before the launch of RedriveExecution');
  });

  test('ExecutionNotRedrivable at 24,999 history events and after one year open', async () => {
    const arn = await failedExecution();
    h.standIn.setHistoryEventCount(arn, 24_998);
    expect((await describe_(arn)).redriveStatus).toBe('REDRIVABLE');
    h.standIn.setHistoryEventCount(arn, 24_999);
    await expectNotRedrivable(arn, 'Execution history event limit exceeded');

    h.standIn.setHistoryEventCount(arn, 10);
    // Keep the stop date fresh with redrives while the start date ages past a year.
    for (let i = 0; i < 28; i++) {
      clock.advance(13 * DAY);
      await redrive(arn);
      await h.standIn.idle();
    }
    expect((await describe_(arn)).redriveStatus).toBe('REDRIVABLE'); // 364 days after the start
    clock.advance(DAY);
    await expectNotRedrivable(arn, 'Execution has exceeded the max execution time');
  });

  test('EXPRESS executions are never redrivable', async () => {
    h.standIn.setBehaviour(FLAKY, { kind: 'fail', error: 'Boom' });
    const stateMachineArn = await createMachine(h.sfn, 'Express', taskChain(FLAKY), 'EXPRESS');
    const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn }));
    await h.standIn.idle();
    expect(h.standIn.getExecution(executionArn as string)?.status).toBe('FAILED');
    const err = await errorOf(() => redrive(executionArn as string));
    expect(err.name).toBe('ExecutionNotRedrivable');
    expect(err.message).toBe(REDRIVE_STATUS_REASONS.express);
  });

  test('ValidationException for a malformed clientToken', async () => {
    const arn = await failedExecution();
    for (const token of ['has space', 'x'.repeat(65), 'ünïcode']) {
      expect((await errorOf(() => redrive(arn, token))).name).toBe('ValidationException');
    }
    expect(h.standIn.redrives).toHaveLength(0);
  });
});

describe('what a redrive does', () => {
  test('resumes at the failed step: earlier steps are not re-run, the failed step counts attempts', async () => {
    h.standIn.setBehaviour(FLAKY, { kind: 'fail-times', times: 2, error: 'Flaky', cause: 'try again' });
    const definition = JSON.stringify({
      StartAt: 'First',
      States: {
        First: { Type: 'Task', Resource: OK, Next: 'Shape' },
        Shape: { Type: 'Pass', Result: { shaped: true }, Next: 'Flaky' },
        Flaky: { Type: 'Task', Resource: FLAKY, End: true },
      },
    });
    const stateMachineArn = await createMachine(h.sfn, 'Resume', definition);
    const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{"n":1}' }));
    const arn = executionArn as string;
    await h.standIn.idle();

    let d = await describe_(arn);
    expect(d).toMatchObject({ status: 'FAILED', error: 'Flaky', cause: 'try again', redriveCount: 0, redriveStatus: 'REDRIVABLE' });
    expect(d.redriveStatusReason).toBeUndefined(); // real payloads omit it when REDRIVABLE
    expect(d.redriveDate).toBeUndefined();

    clock.advance(1000);
    const first = await redrive(arn);
    expect(first.redriveDate?.getTime()).toBe(START + 1000);
    await h.standIn.idle();
    expect(h.standIn.getExecution(arn)).toMatchObject({ status: 'FAILED', redriveCount: 1 });

    clock.advance(1000);
    await redrive(arn);
    await h.standIn.idle();
    d = await describe_(arn);
    expect(d).toMatchObject({ status: 'SUCCEEDED', redriveCount: 2, output: '{"shaped":true}', outputDetails: { included: true } });
    expect(d.redriveDate?.getTime()).toBe(START + 2000);
    expect(d.startDate?.getTime()).toBe(START);
    expect(d.error).toBeUndefined();
    expect(h.standIn.getExecution(arn)?.stateAttempts).toEqual({ First: 1, Shape: 1, Flaky: 3 });
    expect(h.standIn.redrives.map((r) => r.redriveCount)).toEqual([1, 2]);
  });

  test('a Fail state is entered again and fails again', async () => {
    const definition = JSON.stringify({
      StartAt: 'Work',
      States: { Work: { Type: 'Task', Resource: OK, Next: 'Give up' }, 'Give up': { Type: 'Fail', Error: 'Nope', Cause: 'by design' } },
    });
    const stateMachineArn = await createMachine(h.sfn, 'Fails', definition);
    const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn }));
    await h.standIn.idle();
    await redrive(executionArn as string);
    await h.standIn.idle();
    expect(h.standIn.getExecution(executionArn as string)).toMatchObject({
      status: 'FAILED',
      error: 'Nope',
      cause: 'by design',
      redriveCount: 1,
      stateAttempts: { Work: 1, 'Give up': 2 },
    });
  });

  test('fail-if-input: bad input fails on every redrive', async () => {
    h.standIn.setBehaviour(FLAKY, { kind: 'fail-if-input', field: 'poison', error: 'BadInput' });
    const stateMachineArn = await createMachine(h.sfn, 'Input', taskChain(FLAKY));
    const bad = (await h.sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{"poison":true}' }))).executionArn as string;
    const good = (await h.sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{"poison":false}' }))).executionArn as string;
    await h.standIn.idle();
    await redrive(bad);
    await h.standIn.idle();
    expect(h.standIn.getExecution(bad)).toMatchObject({ status: 'FAILED', error: 'BadInput', redriveCount: 1 });
    expect(h.standIn.getExecution(good)?.status).toBe('SUCCEEDED');
  });

  test('StopExecution aborts a RUNNING execution; a redrive re-runs the interrupted step', async () => {
    const pending: Array<(r: StepResult) => void> = [];
    h.standIn.setBehaviour(FLAKY, ({ attempt }) =>
      attempt === 1 ? new Promise<StepResult>((resolve) => pending.push(resolve)) : { ok: true },
    );
    const stateMachineArn = await createMachine(h.sfn, 'Stoppable', taskChain(OK, FLAKY));
    const arn = (await h.sfn.send(new StartExecutionCommand({ stateMachineArn }))).executionArn as string;
    while (pending.length === 0) await new Promise((r) => setImmediate(r)); // wait until FLAKY is running

    clock.advance(500);
    const stopped = await h.sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'Operator', cause: 'stuck' }));
    expect(stopped.stopDate?.getTime()).toBe(START + 500);
    expect(await describe_(arn)).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'stuck', redriveStatus: 'REDRIVABLE' });
    expect(h.standIn.events.at(-1)?.detail).toMatchObject({ status: 'ABORTED', error: 'Operator' });

    pending[0]({ ok: true }); // the interrupted call returns late: must not resurrect the execution
    await h.standIn.idle();
    expect(h.standIn.getExecution(arn)?.status).toBe('ABORTED');

    await redrive(arn);
    await h.standIn.idle();
    expect(h.standIn.getExecution(arn)).toMatchObject({ status: 'SUCCEEDED', stateAttempts: { Step1: 1, Step2: 2 } });
  });
});

describe('clientToken idempotency (last 10 tokens, 15 minutes each)', () => {
  test('the same token twice performs one redrive, even while the redrive is still running', async () => {
    const arn = await failedExecution();
    clock.advance(1000);
    const a = await redrive(arn, 'token-1');
    clock.advance(1000);
    const b = await redrive(arn, 'token-1'); // immediately: execution is RUNNING
    await h.standIn.idle();
    clock.advance(1000);
    const c = await redrive(arn, 'token-1'); // again after it failed
    expect(b.redriveDate).toEqual(a.redriveDate);
    expect(c.redriveDate).toEqual(a.redriveDate);
    expect(h.standIn.redrives).toEqual([{ executionArn: arn, at: START + 1000, redriveCount: 1, clientToken: 'token-1' }]);
    expect(h.standIn.calls.filter((x) => x.op === 'RedriveExecution').map((x) => x.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(h.standIn.getExecution(arn)?.redriveCount).toBe(1);
  });

  test('only the last 10 successful tokens are remembered', async () => {
    const arn = await failedExecution();
    const tokens = Array.from({ length: 11 }, (_, i) => `t${i + 1}`);
    for (const token of tokens) {
      clock.advance(1000);
      await redrive(arn, token);
      await h.standIn.idle();
    }
    expect(h.standIn.redrives).toHaveLength(11);

    await redrive(arn, 't2'); // t2..t11 are the last ten: replay
    await redrive(arn, 't11');
    expect(h.standIn.redrives).toHaveLength(11);

    clock.advance(1000);
    await redrive(arn, 't1'); // 11th-oldest: forgotten, so this is a new redrive
    await h.standIn.idle();
    expect(h.standIn.redrives).toHaveLength(12);
    expect(h.standIn.redrives.at(-1)).toMatchObject({ clientToken: 't1', redriveCount: 12 });

    clock.advance(1000);
    await redrive(arn, 't2'); // t1's new use pushed t2 out
    await h.standIn.idle();
    expect(h.standIn.redrives).toHaveLength(13);
  });

  test('a token stops being idempotent 15 minutes after its first use', async () => {
    const arn = await failedExecution();
    const first = await redrive(arn, 'tok');
    await h.standIn.idle();
    clock.advance(15 * 60 * 1000 - 1);
    expect(await redrive(arn, 'tok')).toMatchObject({ redriveDate: first.redriveDate });
    expect(h.standIn.redrives).toHaveLength(1);
    clock.advance(2);
    const later = await redrive(arn, 'tok');
    expect(later.redriveDate?.getTime()).toBe(clock.now);
    expect(h.standIn.redrives).toHaveLength(2);
  });

  test('a token whose call was refused (ExecutionNotRedrivable) is not remembered', async () => {
    let release: (r: StepResult) => void = () => undefined;
    h.standIn.setBehaviour(FLAKY, () => new Promise<StepResult>((resolve) => (release = resolve)));
    const stateMachineArn = await createMachine(h.sfn, 'Later', taskChain(FLAKY));
    const arn = (await h.sfn.send(new StartExecutionCommand({ stateMachineArn }))).executionArn as string;
    expect((await errorOf(() => redrive(arn, 'tok'))).name).toBe('ExecutionNotRedrivable'); // still RUNNING
    release({ ok: false, error: 'Late' });
    await h.standIn.idle();
    h.standIn.setBehaviour(FLAKY, { kind: 'succeed' });
    await redrive(arn, 'tok'); // same token, now eligible: a real redrive, not a replay of the refusal
    await h.standIn.idle();
    expect(h.standIn.redrives).toHaveLength(1);
    expect(h.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
  });
});
