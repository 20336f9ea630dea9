/**
 * State-scoped policies end to end: the stand-in's real-shaped execution history read
 * through the real SDK, dynalite for the ledger. A failure at a state of neverAtStates is
 * skipped (with an owner event naming the state); one at another state is redriven; the
 * history is read once per failure, whichever paths handle it.
 */
import { CreateStateMachineCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { RateLimiter } from '../../lambda/act/rate-limiter';
import { handleStatusChange, type Outcome } from '../../lambda/event-path';
import { drain } from '../../lambda/scheduled-drain';
import type { StatusChangeEvent } from '../../local/sfn';
import { FIXTURE_START, type SimEnv, redrivesOf, simEnv } from '../support/local';

const VALIDATE = 'arn:aws:lambda:us-east-1:123456789012:function:validate';
const CHARGE = 'arn:aws:lambda:us-east-1:123456789012:function:charge-card';
const ORDERS = JSON.stringify({
  StartAt: 'Validate',
  States: { Validate: { Type: 'Task', Resource: VALIDATE, Next: 'ChargeCard' }, ChargeCard: { Type: 'Task', Resource: CHARGE, End: true } },
});

let env: SimEnv;
let machine: string;
beforeEach(async () => {
  env = await simEnv(FIXTURE_START, { detachBus: true });
  env.standIn.setBehaviour(VALIDATE, { kind: 'fail-if-input', field: 'failValidate', error: 'Lambda.ServiceException' });
  env.standIn.setBehaviour(CHARGE, { kind: 'fail-if-input', field: 'failCharge', error: 'Lambda.ServiceException', cause: 'partner timed out' });
  machine = (await env.sfn.send(new CreateStateMachineCommand({ name: 'orders', definition: ORDERS, roleArn: 'arn:aws:iam::123456789012:role/sfn' }))).stateMachineArn!;
});
afterEach(async () => env.stop());

/** Starts an execution that fails at `state` and returns its FAILED event. */
async function failingAt(state: 'Validate' | 'ChargeCard', name: string): Promise<StatusChangeEvent> {
  const input = JSON.stringify(state === 'Validate' ? { failValidate: true } : { failCharge: true });
  const arn = (await env.sfn.send(new StartExecutionCommand({ stateMachineArn: machine, name, input }))).executionArn!;
  await env.standIn.idle();
  const event = env.standIn.events.find((e) => e.detail.executionArn === arn && e.detail.status === 'FAILED');
  if (!event) throw new Error(`no FAILED event for ${name}`);
  return structuredClone(event);
}

async function deliver(event: StatusChangeEvent): Promise<Outcome> {
  env.clock.advanceTo(Math.max(env.clock.now(), Date.parse(event.time)));
  const outcome = await handleStatusChange(structuredClone(event), env.deps);
  await env.standIn.idle();
  return outcome;
}

const historyCalls = (arn: string) => env.standIn.calls.filter((c) => c.op === 'GetExecutionHistory' && c.params.executionArn === arn);

describe('neverAtStates', () => {
  test('a failure at an excluded state is skipped, naming it, with an owner event; one at another state is redriven; one history read each', async () => {
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, neverAtStates: ['Charge*'] });
    const atCharge = await failingAt('ChargeCard', 'order-1');
    const atValidate = await failingAt('Validate', 'order-2');

    const skipped = await deliver(atCharge);
    expect(skipped.decision).toMatchObject({ decision: 'skip', reason: 'state-excluded' });
    expect(skipped.decision.detail).toBe("failed at state ChargeCard; ChargeCard matches neverAtStates 'Charge*'");
    expect(redrivesOf(env, atCharge.detail.executionArn)).toBe(0);
    expect(env.notifier.events).toEqual([
      expect.objectContaining({ detailType: 'Auto Redrive Skipped', detail: expect.objectContaining({ reason: 'state-excluded', failedState: { name: 'ChargeCard', enclosing: [] } }) }),
    ]);
    expect(await env.deps.ledger.get(atCharge.detail.executionArn, 0)).toMatchObject({ state: 'skipped', reason: 'state-excluded', failedState: { name: 'ChargeCard', enclosing: [] } });

    const redriven = await deliver(atValidate);
    expect(redriven.decision).toMatchObject({ decision: 'redrive', reason: 'no-delay' });
    expect(redrivesOf(env, atValidate.detail.executionArn)).toBe(1);
    expect(await env.deps.ledger.get(atValidate.detail.executionArn, 0)).toMatchObject({ state: 'redriven', failedState: { name: 'Validate', enclosing: [] } });

    // Delivered again (EventBridge delivers at least once): decided from the stored state.
    expect((await deliver(atCharge)).decision).toMatchObject({ reason: 'state-excluded' });
    expect((await deliver(atValidate)).decision).toMatchObject({ reason: 'already-handled' });
    expect(env.notifier.events).toHaveLength(1);
    expect(historyCalls(atCharge.detail.executionArn)).toHaveLength(1);
    expect(historyCalls(atValidate.detail.executionArn)).toHaveLength(1);
    expect(historyCalls(atValidate.detail.executionArn)[0].params).toMatchObject({ reverseOrder: true, includeExecutionData: false, maxResults: 20 });
  });

  test('a redrive later: the event path reads the history, the drain decides from the stored state', async () => {
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', neverAtStates: ['ChargeCard'] });
    const atValidate = await failingAt('Validate', 'order-3');
    const later = await deliver(atValidate);
    expect(later.decision).toMatchObject({ decision: 'redrive-later', reason: 'backoff' });
    env.clock.advanceTo(later.dueAt!);
    const report = await drain(env.deps);
    await env.standIn.idle();
    expect(report.outcomes.map((o) => o.decision.reason)).toEqual(['due']);
    expect(redrivesOf(env, atValidate.detail.executionArn)).toBe(1);
    expect(historyCalls(atValidate.detail.executionArn)).toHaveLength(1);
  });

  test('a full history rate hands the failure to the drain (no throw, no history call); the drain decides it with one history read', async () => {
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, neverAtStates: ['ChargeCard'] });
    const atValidate = await failingAt('Validate', 'order-5');
    const arn = atValidate.detail.executionArn;
    const full: RateLimiter = { acquire: async () => ({ granted: false, retryAt: env.clock.now() + 2_000 }) };
    env.clock.advanceTo(Math.max(env.clock.now(), Date.parse(atValidate.time)));
    const handed = await handleStatusChange(structuredClone(atValidate), { ...env.deps, historyRate: full });
    expect(handed.decision).toMatchObject({ decision: 'redrive-later', reason: 'history-busy' });
    expect(handed).toMatchObject({ action: 'scheduled', dueAt: env.clock.now() + 2_000 });
    expect(historyCalls(arn)).toHaveLength(0);
    expect(redrivesOf(env, arn)).toBe(0);
    expect(await env.deps.ledger.failuresOf(arn)).toEqual([expect.objectContaining({ state: 'pending', reason: 'history-busy' })]);

    // A duplicate delivery while the rate is still full leaves the pending record to the drain.
    const again = await handleStatusChange(structuredClone(atValidate), { ...env.deps, historyRate: full });
    expect(again.action).toBe('lost-race');

    env.clock.advanceTo(handed.dueAt!);
    const report = await drain(env.deps);
    await env.standIn.idle();
    expect(report.outcomes.map((o) => [o.decision.decision, o.action])).toEqual([['redrive', 'redriven']]);
    expect(redrivesOf(env, arn)).toBe(1);
    expect(historyCalls(arn)).toHaveLength(1);
    expect(await env.deps.ledger.failuresOf(arn)).toEqual([expect.objectContaining({ state: 'redriven', failedState: { name: 'Validate', enclosing: [] } })]);
  });

  test('policies that are not state-scoped never read the history', async () => {
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0 });
    const atCharge = await failingAt('ChargeCard', 'order-4');
    expect((await deliver(atCharge)).decision).toMatchObject({ decision: 'redrive' });
    expect(env.standIn.calls.filter((c) => c.op === 'GetExecutionHistory')).toEqual([]);
  });
});

describe('onlyAtStates', () => {
  test('only failures at the listed states are redriven', async () => {
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, onlyAtStates: ['Validate'] });
    const atCharge = await failingAt('ChargeCard', 'order-5');
    const atValidate = await failingAt('Validate', 'order-6');
    const skipped = await deliver(atCharge);
    expect(skipped.decision).toMatchObject({ decision: 'skip', reason: 'state-not-included' });
    expect(skipped.decision.detail).toBe('failed at state ChargeCard, which matches none of onlyAtStates [Validate]');
    expect(env.notifier.events).toEqual([]);
    expect((await deliver(atValidate)).decision).toMatchObject({ decision: 'redrive' });
  });
});

test('a hand-edited item with a state list of the wrong type: the failure is skipped policy-invalid, naming the item and the field', async () => {
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, neverAtStates: 'ChargeCard' });
  const atCharge = await failingAt('ChargeCard', 'order-7');
  const outcome = await deliver(atCharge);
  expect(outcome.decision).toMatchObject({ decision: 'skip', reason: 'policy-invalid' });
  expect(outcome.decision.detail).toBe("policy '*' is invalid, so no policy is applied: neverAtStates: must be a list of strings");
  expect(env.standIn.calls.filter((c) => c.op === 'GetExecutionHistory')).toEqual([]);
});
