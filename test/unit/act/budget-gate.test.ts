import { DETAIL_TYPE_BUDGET_REACHED } from '../../../contract/owner-events';
import { METRIC } from '../../../contract/metrics';
import { gateByBudget } from '../../../lambda/act/budget-gate';
import { RedriveBudget } from '../../../lambda/act/redrive-budget';
import type { Decision, PolicyResolution } from '../../../lambda/decide/decision';
import type { BudgetStore, BudgetView } from '../../../lambda/record/budget-store';
import { MemoryNotifier } from '../../../lambda/record/owner-notifier';
import { EXECUTION_ARN, policy, STATE_MACHINE_ARN } from '../helpers';

const NOW = 1_700_000_000_000;
const event = { executionArn: EXECUTION_ARN, stateMachineArn: STATE_MACHINE_ARN, error: 'Lambda.ServiceException' };
const redrive: Decision = { decision: 'redrive', reason: 'no-delay', policyKey: '*', redriveCount: 0, errorName: 'Lambda.ServiceException', detail: 'redrive 1 of 3' };

function setup(maxRedrivesPerHour: number | undefined) {
  let view: BudgetView = { version: 0, leased: {}, reachedAt: null };
  const calls: string[] = [];
  const store: BudgetStore = {
    read: async () => (calls.push('read'), view),
    write: async (_sm, expected, next) => {
      calls.push('write');
      if (expected !== view.version) return { conflict: view };
      view = { version: expected + 1, ...next };
      return view;
    },
  };
  const counted: string[] = [];
  const notifier = new MemoryNotifier();
  const deps = {
    budget: new RedriveBudget(store, () => NOW),
    notifier,
    metrics: { count: (name: string) => counted.push(name), seconds: () => undefined, milliseconds: () => undefined },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  } as unknown as Parameters<typeof gateByBudget>[2];
  const resolution: PolicyResolution = { kind: 'found', policy: policy({ maxRedrivesPerHour }) };
  return { deps, resolution, calls, counted, notifier };
}

test('a policy without maxRedrivesPerHour: the budget is not consulted (no call)', async () => {
  const { deps, resolution, calls } = setup(undefined);
  expect(await gateByBudget(redrive, { event, resolution, now: NOW }, deps)).toBe(redrive);
  expect(calls).toEqual([]);
});

test('only redrives decided now take from the budget: a schedule, a skip, a hold or a decide-only run passes untouched', async () => {
  const { deps, resolution, calls } = setup(1);
  const later: Decision = { decision: 'redrive-later', reason: 'backoff', policyKey: '*', redriveCount: 0, errorName: null, delaySeconds: 60, dueAt: NOW + 60_000, detail: '' };
  const skip: Decision = { decision: 'skip', reason: 'dry-run', policyKey: '*', redriveCount: 0, errorName: null, detail: '' };
  for (const d of [later, skip]) expect(await gateByBudget(d, { event, resolution, now: NOW }, deps)).toBe(d);
  expect(await gateByBudget(redrive, { event, resolution, now: NOW, decideOnly: true }, deps)).toBe(redrive);
  expect(calls).toEqual([]);
});

test('over the budget: held over-budget (not dropped); one metric and one owner event when it is reached, not one per held failure', async () => {
  const { deps, resolution, counted, notifier } = setup(2);
  const out = [];
  for (let i = 0; i < 5; i++) out.push(await gateByBudget(redrive, { event, resolution, now: NOW }, deps));
  expect(out.map((d) => d.decision)).toEqual(['redrive', 'redrive', 'hold', 'hold', 'hold']);
  expect(out[2]).toMatchObject({ reason: 'over-budget', redriveCount: 0, errorName: 'Lambda.ServiceException' });
  expect(out[2].detail).toContain(`redrive budget of 2 an hour for ${STATE_MACHINE_ARN} used up`);
  expect(counted.filter((n) => n === METRIC.budgetReached)).toHaveLength(1);
  expect(notifier.budgetEvents).toEqual([
    {
      detailType: DETAIL_TYPE_BUDGET_REACHED,
      detail: { stateMachineArn: STATE_MACHINE_ARN, policyKey: '*', maxRedrivesPerHour: 2, reachedAt: new Date(NOW).toISOString(), firstHeld: { executionArn: EXECUTION_ARN, error: 'Lambda.ServiceException' } },
    },
  ]);
});
