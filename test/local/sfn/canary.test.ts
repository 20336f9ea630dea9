/** contract/canary.ts's definition, as written, on the stand-in through the real SDK: fail first, succeed when redriven. */
import { DescribeExecutionCommand, RedriveExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CANARY_ERROR, CANARY_STATE, canaryDefinition, canaryStateMachineName } from '../../../contract/canary';
import { createMachine, errorOf, manualClock, startHarness, type Harness } from './helpers';

const START = Date.UTC(2024, 0, 10, 12);
let h: Harness;
let clock: ReturnType<typeof manualClock>;

beforeEach(async () => {
  clock = manualClock(START);
  h = await startHarness({ clock: clock.fn });
});
afterEach(() => h.close());

async function startCanary(): Promise<string> {
  const stateMachineArn = await createMachine(h.sfn, canaryStateMachineName('test'), JSON.stringify(canaryDefinition()));
  const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'run-1' }));
  await h.standIn.idle();
  return executionArn as string;
}

test('the first run fails at FailOnFirstRun with Sfn.InvalidArnException (RedriveCount 0 picks the non-ARN)', async () => {
  const executionArn = await startCanary();
  const d = await h.sfn.send(new DescribeExecutionCommand({ executionArn }));
  expect(d.status).toBe('FAILED');
  expect(d.error).toBe(CANARY_ERROR);
  expect(d.error).toBe('Sfn.InvalidArnException');
  expect(d.cause).toContain("Invalid Arn: 'first-run-of-the-auto-redrive-canary'");
  expect(d.redriveStatus).toBe('REDRIVABLE');
  expect(h.standIn.getExecution(executionArn)?.currentState).toBe(CANARY_STATE);
});

test('RedriveExecution: the redriven run describes its own execution and SUCCEEDS with the ResultSelector output', async () => {
  const executionArn = await startCanary();
  clock.advance(5_000);
  await h.sfn.send(new RedriveExecutionCommand({ executionArn }));
  await h.standIn.idle();
  const d = await h.sfn.send(new DescribeExecutionCommand({ executionArn }));
  expect(d.status).toBe('SUCCEEDED');
  expect(d.redriveCount).toBe(1);
  // DescribeExecution of itself while it ran: RUNNING; ResultSelector keeps only that.
  expect(JSON.parse(d.output as string)).toEqual({ status: 'RUNNING' });
  expect(h.standIn.getExecution(executionArn)?.stateAttempts).toEqual({ [CANARY_STATE]: 2 });
});

test('the succeeded canary cannot be redriven again', async () => {
  const executionArn = await startCanary();
  await h.sfn.send(new RedriveExecutionCommand({ executionArn }));
  await h.standIn.idle();
  const err = await errorOf(() => h.sfn.send(new RedriveExecutionCommand({ executionArn })));
  expect(err.name).toBe('ExecutionNotRedrivable');
});
