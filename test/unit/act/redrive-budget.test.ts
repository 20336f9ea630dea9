import fc from 'fast-check';
import { BUDGET_BUCKET_MS, BUDGET_SKEW_MS, BUDGET_WINDOW_BUCKETS, budgetBucket, LEASE_LIFETIME_MS, leasedInWindow } from '../../../contract/budget';
import { maxLeaseSize, nextLeaseSize, plan, RedriveBudget } from '../../../lambda/act/redrive-budget';
import type { BudgetStore, BudgetView, BudgetWrite, BudgetWriteResult } from '../../../lambda/record/budget-store';
import { maxInAnyHour } from '../../../bench/budget';

const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';
const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;

/** The budget item in memory, with the same version-conditioned write as DynamoDB's; counts writes. */
class MemoryBudgetStore implements BudgetStore {
  view: BudgetView = { version: 0, leased: {}, reachedAt: null };
  writes = 0;
  reads = 0;
  async read(): Promise<BudgetView> {
    this.reads++;
    return this.view;
  }
  async write(_sm: string, expected: number, next: BudgetWrite): Promise<BudgetWriteResult> {
    if (expected !== this.view.version) return { conflict: this.view };
    this.writes++;
    this.view = { version: expected + 1, leased: { ...next.leased }, reachedAt: next.reachedAt };
    return this.view;
  }
}

describe('plan', () => {
  const empty: BudgetView = { version: 0, leased: {}, reachedAt: null };

  test('grants what the window leaves, counted in the current minute bucket', () => {
    const p = plan({ ...empty, leased: { [budgetBucket(T0) - 10]: 8 } }, { now: T0, perHour: 10, wanted: 5 });
    expect(p.grant).toBe(2);
    expect(p.write?.leased[budgetBucket(T0)]).toBe(2);
  });

  test('a used-up window refuses and records the budget as reached, once an hour at most', () => {
    const full = { ...empty, leased: { [budgetBucket(T0)]: 10 } };
    const first = plan(full, { now: T0, perHour: 10, wanted: 1 });
    expect(first).toMatchObject({ grant: 0, reaching: true, write: { reachedAt: T0 } });
    const again = plan({ ...full, reachedAt: T0 }, { now: T0 + 30_000, perHour: 10, wanted: 1 });
    expect(again).toEqual({ grant: 0, reaching: false, write: undefined });
    expect(plan({ ...full, leased: { [budgetBucket(T0 + HOUR)]: 10 }, reachedAt: T0 }, { now: T0 + HOUR, perHour: 10, wanted: 1 }).reaching).toBe(true);
  });

  test(`a lease counts for ${BUDGET_WINDOW_BUCKETS} minute buckets (the hour, a lease's lifetime and the clock skew), then frees its redrives`, () => {
    const view = { ...empty, leased: { [budgetBucket(T0)]: 10 } };
    expect(plan(view, { now: T0 + (BUDGET_WINDOW_BUCKETS - 1) * BUDGET_BUCKET_MS, perHour: 10, wanted: 1 }).grant).toBe(0);
    const later = plan(view, { now: T0 + BUDGET_WINDOW_BUCKETS * BUDGET_BUCKET_MS, perHour: 10, wanted: 3 });
    expect(later.grant).toBe(3);
    expect(Object.keys(later.write!.leased)).toEqual([String(budgetBucket(T0) + BUDGET_WINDOW_BUCKETS)]); // the old bucket is pruned
  });

  test("an expired lease's unused redrives go back to its bucket", () => {
    const view = { ...empty, leased: { [budgetBucket(T0)]: 10 } };
    const p = plan(view, { now: T0 + 2 * BUDGET_BUCKET_MS, perHour: 10, wanted: 4, returned: { bucket: budgetBucket(T0), count: 4 } });
    expect(p.grant).toBe(4);
    expect(leasedInWindow(p.write!.leased, T0 + 2 * BUDGET_BUCKET_MS)).toBe(10);
  });

  test('a bucket ahead of this clock (another instance running ahead) counts too', () => {
    expect(plan({ ...empty, leased: { [budgetBucket(T0) + 1]: 10 } }, { now: T0, perHour: 10, wanted: 1 }).grant).toBe(0);
  });
});

test('lease sizes: 1 first, doubling while used up, halving when one expires unused, at most a 120th of the budget', () => {
  const lease = (size: number, left: number) => ({ size, left, bucket: 0, expiresAt: 0 });
  expect(nextLeaseSize(undefined, 100_000)).toBe(1);
  expect(nextLeaseSize(lease(4, 0), 100_000)).toBe(8);
  expect(nextLeaseSize(lease(8, 3), 100_000)).toBe(4);
  expect(nextLeaseSize(lease(800, 0), 100_000)).toBe(maxLeaseSize(100_000));
  expect(maxLeaseSize(12)).toBe(1);
});

test('no hot item: 100,000 an hour at full pace from one instance is one write per hundreds of redrives', async () => {
  const store = new MemoryBudgetStore();
  let now = T0;
  const budget = new RedriveBudget(store, () => now);
  let granted = 0;
  for (let i = 0; i < 20_000; i++) {
    now += 36; // 100,000 an hour
    if ((await budget.take(SM, 100_000)).granted) granted++;
  }
  expect(granted).toBe(20_000);
  expect(store.writes).toBeLessThan(20_000 / 50);
});

test('a burst over the budget: exactly the budget is granted, one refusal records the budget reached, the next hour grants again', async () => {
  const store = new MemoryBudgetStore();
  let now = T0;
  const budget = new RedriveBudget(store, () => now);
  const results = [];
  for (let i = 0; i < 50; i++) results.push(await budget.take(SM, 20));
  expect(results.filter((r) => r.granted)).toHaveLength(20);
  expect(results.filter((r) => !r.granted && r.reached)).toHaveLength(1);
  now += (BUDGET_WINDOW_BUCKETS + 1) * BUDGET_BUCKET_MS;
  expect(await budget.available(SM, 20)).toBe(true);
  expect((await budget.take(SM, 20)).granted).toBe(true);
});

test('property: several instances (clocks up to the allowed skew apart, leases expiring unused, concurrent takes) never grant more than the budget in any hour', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.integer({ min: -BUDGET_SKEW_MS, max: BUDGET_SKEW_MS }), { minLength: 1, maxLength: 4 }),
      // Gaps around the window's edges (a lease's lifetime, the hour) find an off-by-one bucket.
      fc.array(
        fc.record({
          gapMs: fc.oneof(fc.integer({ min: 0, max: 2 * BUDGET_BUCKET_MS }), fc.integer({ min: HOUR - 3 * BUDGET_BUCKET_MS, max: HOUR + 3 * BUDGET_BUCKET_MS })),
          instance: fc.nat(),
          burst: fc.integer({ min: 1, max: 60 }),
        }),
        { minLength: 1, maxLength: 40 },
      ),
      async (perHour, skews, steps) => {
        const store = new MemoryBudgetStore();
        let now = T0;
        const instances = skews.map((skew) => new RedriveBudget(store, () => now + skew));
        const granted: number[] = [];
        for (const step of steps) {
          now += step.gapMs;
          const budget = instances[step.instance % instances.length];
          const takes = await Promise.all(Array.from({ length: step.burst }, () => budget.take(SM, perHour)));
          for (const t of takes) if (t.granted) granted.push(now);
        }
        expect(maxInAnyHour(granted)).toBeLessThanOrEqual(perHour);
      },
    ),
    { numRuns: 200 },
  );
});

test(`a lease is spent only within ${LEASE_LIFETIME_MS / 1000} s of its grant`, async () => {
  const store = new MemoryBudgetStore();
  let now = T0;
  const budget = new RedriveBudget(store, () => now);
  for (let i = 0; i < 2; i++) await budget.take(SM, 1200); // leases of 1 and 2: one redrive of the second left
  const writes = store.writes;
  now += LEASE_LIFETIME_MS;
  expect((await budget.take(SM, 1200)).granted).toBe(true);
  expect(store.writes).toBe(writes + 1); // a new lease, with the unused redrive given back
  expect(leasedInWindow(store.view.leased, now)).toBe(1 + 2 - 1 + 1); // the next lease is halved to 1
});
