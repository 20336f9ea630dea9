/**
 * The redrive budget (maxRedrivesPerHour) end to end on dynalite and the Step Functions
 * stand-in, on the simulated clock: a burst over the budget, the drain releasing held
 * failures oldest first as the budget allows, hours of it.
 */
import { HELD_BUDGET_SHARD } from '../../contract/budget';
import { DETAIL_TYPE_BUDGET_REACHED } from '../../contract/owner-events';
import { createMachine, drainAt, FIXTURE_START, names, type SimEnv, simEnv, startEachSecond } from '../support/local';
import { maxInAnyHour } from '../../bench/budget';

jest.setTimeout(120_000);

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:downstream';
const ERROR = 'PaymentsApi.Unavailable';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let env: SimEnv;
afterEach(async () => env?.stop());

test('maxRedrivesPerHour: -1 in a hand-edited item: the failure is skipped policy-invalid, naming the item and the field', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrivesPerHour: -1 });
  const sm = await createMachine(env, 'orders', LAMBDA, { kind: 'fail-times', times: 1, error: ERROR });
  const [arn] = await startEachSecond(env, sm, names('bad', 1));
  const [entry] = await env.deps.audit.trail(arn);
  expect(entry).toMatchObject({ decision: 'skip', reason: 'policy-invalid', action: 'skipped' });
  expect(entry.detail).toContain("policy '*' is invalid");
  expect(entry.detail).toContain('maxRedrivesPerHour: must be from 1 to');
  expect(env.standIn.redrives).toHaveLength(0);
});

test('a burst of 30 failures under a budget of 10 an hour: never more than 10 in any hour, the rest held (not lost) and released oldest first as the budget allows; another state machine is not affected', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrivesPerHour: 10 });
  const sm = await createMachine(env, 'orders', LAMBDA, { kind: 'fail-times', times: 1, error: ERROR });
  const other = await createMachine(env, 'reports', LAMBDA, { kind: 'fail-times', times: 1, error: ERROR });
  await env.putPolicy({ stateMachine: other, intervalSeconds: 0 });

  const burst = await startEachSecond(env, sm, names('order', 30));
  const unbudgeted = await startEachSecond(env, other, names('report', 5));
  const redrivesOf = (arns: readonly string[]) => env.standIn.redrives.filter((r) => arns.includes(r.executionArn));
  expect(redrivesOf(burst)).toHaveLength(10);
  expect(redrivesOf(unbudgeted)).toHaveLength(5);
  expect(await env.deps.ledger.heldCount(HELD_BUDGET_SHARD)).toBe(20);
  const held = (await env.deps.audit.trail(burst[10]))[0];
  expect(held).toMatchObject({ decision: 'hold', reason: 'over-budget', action: 'held' });
  // One owner event when the budget was reached, not one per held failure.
  expect(env.notifier.budgetEvents.map((e) => [e.detailType, e.detail.stateMachineArn, e.detail.maxRedrivesPerHour])).toEqual([[DETAIL_TYPE_BUDGET_REACHED, sm, 10]]);

  // The drain every five minutes for three hours.
  const end = env.clock.now() + 3 * HOUR;
  while (env.clock.now() < end) await drainAt(env, env.clock.now() + 5 * MINUTE);

  const redrives = redrivesOf(burst);
  expect(redrives).toHaveLength(30); // nothing lost: every failure redriven once
  for (const arn of burst) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
  expect(maxInAnyHour(redrives.map((r) => r.at))).toBeLessThanOrEqual(10);
  // Released oldest first (in the order they failed).
  expect(redrives.map((r) => r.executionArn)).toEqual(burst);
  expect(await env.deps.ledger.heldCount(HELD_BUDGET_SHARD)).toBe(0);
  // Released as the budget allowed: the second ten about an hour after the first, the last ten an hour later.
  expect(redrives[19].at - redrives[0].at).toBeLessThan(2 * HOUR);
  expect(redrives[29].at - redrives[0].at).toBeLessThan(3 * HOUR);
});

test('due redrives of a state machine known to be at its budget are held by the drain without a DescribeExecution; released when the budget allows', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 120, jitter: 'NONE', maxRedrivesPerHour: 2 });
  const sm = await createMachine(env, 'orders', LAMBDA, { kind: 'fail-times', times: 1, error: ERROR });
  const first = await startEachSecond(env, sm, names('first', 3));
  await drainAt(env, env.clock.now() + 3 * MINUTE); // the budget's 2 redrives; the third held
  const arns = [...first, ...(await startEachSecond(env, sm, names('later', 3)))];
  expect(await env.deps.ledger.backlog()).toMatchObject({ count: 3 }); // scheduled 2 minutes after their failure
  const describes = () => env.standIn.calls.filter((c) => c.op === 'DescribeExecution').length;
  const before = describes();
  await drainAt(env, env.clock.now() + 3 * MINUTE);
  expect(await env.deps.ledger.heldCount(HELD_BUDGET_SHARD)).toBe(4);
  expect(describes()).toBe(before); // held without a DescribeExecution (its 15/s are for redrives that can happen)
  const redrives = () => env.standIn.redrives.filter((r) => arns.includes(r.executionArn)).length;
  for (let t = 0; t < 3 * 60 && redrives() < 6; t += 5) await drainAt(env, env.clock.now() + 5 * MINUTE);
  expect(redrives()).toBe(6);
  expect(maxInAnyHour(env.standIn.redrives.map((r) => r.at))).toBeLessThanOrEqual(2);
});
