/**
 * redrivectl and approval before redrive: status lists what awaits approval; approve and
 * reject follow the confirmation convention (refused without a terminal or --yes);
 * approve redrives through the controller with approvedBy (the --as / AUTO_REDRIVE_ACTOR
 * fallback against the stand-ins, where STS does not answer); reject requires a reason and
 * records it; policy put --approval sets the field and rejects a wrong value.
 */
import type { StepBehaviour } from '../../local/sfn';
import { ACTOR, type CliEnv, expectOneErrorLine, machineWithExecutions, parseJson, runCli, startCliEnv } from './helpers';

jest.setTimeout(120_000);

const TASK = 'arn:aws:lambda:us-east-1:123456789012:function:charge-card';
const ERROR = 'Payments.Timeout';

let h: CliEnv;
// No STS stand-in: a closed port answers at once, as an unreachable STS would (slowly) in a sandbox.
const cli = (...args: string[]) => runCli(args, { ...h.env, AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' });
const world = { down: true };
const downstream: StepBehaviour = () => (world.down ? { ok: false, error: ERROR, cause: 'gateway timeout' } : { ok: true });

beforeAll(async () => {
  h = await startCliEnv();
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0, approval: true });
});
afterAll(async () => h.stop());

const heldFailures = (name: string, n: number) => machineWithExecutions(h.local, name, TASK, downstream, n);

test('status lists what awaits approval per state machine; approve asks for confirmation, then redrives with approvedBy; a second approve finds nothing', async () => {
  world.down = true;
  const { sm, arns } = await heldFailures('payments', 2);
  expect(h.local.notifier.approvalRequests.map((r) => r.executionArn)).toEqual(arns);

  const status = parseJson(await cli('status', '-o', 'json')) as { awaitingApproval: { count: number; stateMachines: Array<Record<string, unknown>> } };
  expect(status.awaitingApproval.count).toBe(2);
  expect(status.awaitingApproval.stateMachines).toEqual([expect.objectContaining({ stateMachineArn: sm, count: 2, oldest: arns[0] })]);
  const text = await cli('status');
  expect(text.stdout).toMatch(/Awaiting approval:\s+2 \(redrivectl approve \| reject/);
  expect(text.stdout).toContain(`Awaiting approval (given up at the time shown unless approved or rejected):`);

  const refused = await cli('approve', arns[0]);
  expectOneErrorLine(refused, 'approve: refusing to change anything without confirmation');
  expect(refused.code).toBe(2);

  world.down = false;
  const approved = await cli('approve', arns[0], '--yes', '--as', 'alice', '-o', 'json');
  expect(approved.code).toBe(0);
  expect(parseJson(approved)).toMatchObject({
    executionArn: arns[0],
    approvedBy: 'alice',
    approvedBySource: 'local',
    outcomes: [expect.objectContaining({ decision: 'redrive', reason: 'release', action: 'redriven' })],
  });
  await h.local.settle();
  expect((await h.local.deps.ledger.failuresOf(arns[0]))[0]).toMatchObject({ state: 'redriven', approvedBy: 'alice' });
  const trail = await h.local.deps.audit.trail(arns[0]);
  expect(trail.at(-1)).toMatchObject({ source: 'release', decision: 'redrive', action: 'redriven' });
  expect(trail.at(-1)?.detail).toContain('approved by alice');

  expect((await cli('explain', arns[0])).stdout).toMatch(/Failure 0: approved by alice at \d{4}-/);
  const again = await cli('approve', arns[0], '--yes');
  expectOneErrorLine(again, `approve: ${arns[0]} has no failure held for approval`);
  expect(again.code).toBe(1);

  // Without --as: AUTO_REDRIVE_ACTOR.
  const all = await cli('approve', '--state-machine', sm, '--yes', '-o', 'json');
  expect(parseJson(all)).toMatchObject({ approvedBy: ACTOR, applied: true, outcomes: [expect.objectContaining({ executionArn: arns[1], action: 'redriven' })] });
  expect((parseJson(await cli('status', '-o', 'json')) as { awaitingApproval: { count: number } }).awaitingApproval.count).toBe(0);
});

test('reject requires --reason and confirmation, records the skip with the reason; release points at approve; explain says how it leaves the hold', async () => {
  world.down = true;
  const { arns } = await heldFailures('refunds', 1);
  const [arn] = arns;
  expect((await cli('explain', arn)).stdout).toContain('held for approval: never probed; redriven when a person approves it (redrivectl approve)');

  expectOneErrorLine(await cli('reject', arn, '--yes'), 'reject: --reason "<why>" is required');
  expectOneErrorLine(await cli('reject', arn, '--reason', 'duplicate'), 'reject: refusing to change anything without confirmation');
  expectOneErrorLine(await cli('release', arn, '--yes'), `release: ${arn} is held for approval: redrivectl approve ${arn}`);

  const rejected = await cli('reject', arn, '--reason', 'refund already issued, INC-7', '--yes', '-o', 'json');
  expect(rejected.code).toBe(0);
  expect(parseJson(rejected)).toMatchObject({ executionArn: arn, rejectedBy: ACTOR, reason: 'refund already issued, INC-7', rejected: [0] });
  expect((await h.local.deps.ledger.failuresOf(arn))[0]).toMatchObject({ state: 'skipped', reason: 'rejected', rejectedWhy: 'refund already issued, INC-7' });
  const explain = await cli('explain', arn);
  expect(explain.stdout).toContain(`Failure 0: rejected by ${ACTOR}: refund already issued, INC-7`);
  expect((parseJson(await cli('explain', arn, '-o', 'json')) as { failures: unknown[] }).failures).toEqual([
    expect.objectContaining({ state: 'skipped', reason: 'rejected', rejectedBy: ACTOR, rejectedWhy: 'refund already issued, INC-7' }),
  ]);
  expectOneErrorLine(await cli('reject', arn, '--reason', 'again', '--yes'), `reject: ${arn} has no failure held for approval`);
});

test('approve refuses bad arguments: both or neither of an execution and --state-machine, a non-ARN', async () => {
  expectOneErrorLine(await cli('approve', '--yes'), 'approve: give one execution ARN, or --state-machine <arn> (not both)');
  expectOneErrorLine(await cli('approve', 'run-42', '--yes'), "approve: 'run-42' is not a Step Functions execution ARN");
  expectOneErrorLine(await cli('approve', '--state-machine', 'orders', '--yes'), "approve: --state-machine 'orders' is not a state machine ARN");
});

test('policy put --approval sets the field; a wrong value names the flag', async () => {
  const key = 'arn:aws:states:us-east-1:123456789012:stateMachine:ledger-*';
  const put = await cli('policy', 'put', key, '--approval', 'true', '--yes', '-o', 'json');
  expect(put.code).toBe(0);
  expect(parseJson(await cli('policy', 'get', key, '-o', 'json'))).toMatchObject({ item: expect.objectContaining({ approval: true }) });
  const bad = await cli('policy', 'put', key, '--approval', 'yes', '--yes');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--approval');
  expect(bad.stderr).toContain('must be true or false');
});
