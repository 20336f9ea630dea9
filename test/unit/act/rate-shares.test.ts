import fc from 'fast-check';
import { fractionalUnit, type LeaseHolders, liveShare, liveTotal, type PlanInput, planLease, shareUnit, windowBound } from '../../../lambda/act/rate-shares';

const T0 = 1_700_000_000_000;
const TIMING = { minLeaseMs: 500, maxLeaseMs: 8_000, skewAllowanceMs: 100 };

function input(over: Partial<PlanInput> = {}): PlanInput {
  return { me: 'me', now: T0, ratePerSecond: 10, timing: TIMING, share: 0, until: 0, nextSlot: 0, leaseMs: 500, members: '', wantUntil: T0 + 5_000, jitter: 0, ...over };
}

describe('shares', () => {
  it('whole units of 1/s for whole rates; at most 2/s otherwise', () => {
    expect(shareUnit(50)).toBe(1);
    expect(shareUnit(2.5)).toBe(1.25);
    expect(shareUnit(0.5)).toBe(0.5);
  });

  it('a fractional unit: two calls of it fit the longest lease', () => {
    expect(fractionalUnit(10, 16_000)).toBe(0.125);
    expect(fractionalUnit(0.1, 16_000)).toBe(0.1);
  });

  it('others count an entry until `until` + the allowance, and a tail until its end + the allowance', () => {
    const e = { s: 2, u: T0, p: 5, pu: T0 + 300 };
    expect(liveShare(e, T0 + 99, 100)).toBe(5);
    expect(liveShare(e, T0 + 399, 100)).toBe(5);
    expect(liveShare(e, T0 + 400, 100)).toBe(0);
    expect(liveShare({ s: 2, u: T0 }, T0 + 99, 100)).toBe(2);
    expect(liveShare({ s: 2, u: T0 }, T0 + 100, 100)).toBe(0);
  });

  it('the window bound is the rate within the allowance and grows with the skew beyond it', () => {
    expect(windowBound(100, 0, 100)).toBe(100);
    expect(windowBound(100, 100, 100)).toBe(100);
    expect(windowBound(100, 150, 100)).toBe(105);
    expect(windowBound(100, 5_000, 100)).toBe(200);
  });
});

describe('planLease', () => {
  it('alone: the whole rate, a short first lease, written as a map (a share that grows needs the version)', () => {
    const plan = planLease({ version: 0, holders: {} }, input());
    expect(plan.mine).toMatchObject({ s: 10, u: T0 + 500 });
    expect(plan.scope).toBe('all');
    expect(plan.write).toEqual({ me: plan.mine });
  });

  it('a newcomer next to a holder of the whole rate registers its demand (share 0, entry-only write) and learns when to look again', () => {
    const holders: LeaseHolders = { a: { s: 10, u: T0 + 400, w: T0 + 1_400 } };
    const plan = planLease({ version: 3, holders }, input());
    expect(plan.mine).toEqual({ s: 0, u: 0, w: T0 + 5_000 });
    expect(plan.scope).toBe('mine');
    expect(plan.retryAt).toBe(T0 + 400); // a is above its fair share: it shrinks when it renews, before then
  });

  it('a holder above its fair share shrinks at renewal and keeps a tail for the calls it granted ahead', () => {
    const holders: LeaseHolders = { me: { s: 10, u: T0 + 100, w: T0 + 1_000 }, b: { s: 0, u: 0, w: T0 + 5_000 } };
    const plan = planLease({ version: 4, holders }, input({ share: 10, until: T0 + 100, nextSlot: T0 + 60 }));
    expect(plan.mine).toMatchObject({ s: 5, p: 10, pu: T0 + 60 });
    // The tail keeps the freed half for itself until T0+60 (+ allowance): nothing to give b yet.
    expect(plan.write!.b).toEqual({ s: 0, u: 0, w: T0 + 5_000 });
    expect(plan.scope).toBe('mine');
  });

  it('a write that takes free capacity tops up every waiter to the fair share (one write serves them all)', () => {
    const holders: LeaseHolders = { b: { s: 0, u: 0, w: T0 + 2_000 }, c: { s: 0, u: 0, w: T0 + 3_000 }, d: { s: 2, u: T0 + 900, w: T0 + 3_000 } };
    const plan = planLease({ version: 7, holders }, input({ ratePerSecond: 12 }));
    expect(plan.mine.s).toBe(3);
    expect(plan.write!.b.s).toBe(3);
    expect(plan.write!.c.s).toBe(3);
    expect(plan.write!.d).toMatchObject({ s: 3, u: T0 + 1_333.3333333333333 }); // topped up, lease for 4 calls
    expect(plan.scope).toBe('all');
    expect(liveTotal(plan.write!, T0, 100)).toBe(12);
  });

  it('a renewal that keeps or lowers the share writes only its entry, even after its lease ran out', () => {
    const holders: LeaseHolders = { me: { s: 5, u: T0 - 50, w: T0 + 3_000 }, b: { s: 5, u: T0 + 2_000, w: T0 + 6_000 } };
    const plan = planLease({ version: 9, holders }, input({ share: 5, until: T0 - 50 }));
    expect(plan.mine.s).toBe(5);
    expect(plan.scope).toBe('mine');
  });

  it('leases double while the set of instances stays the same, up to the maximum; shrink back when it changes', () => {
    const holders: LeaseHolders = { me: { s: 5, u: T0 + 100 }, b: { s: 5, u: T0 + 900 } };
    const stable = planLease({ version: 2, holders }, input({ share: 5, until: T0 + 100, leaseMs: 5_000, members: 'b,me' }));
    expect(stable.leaseMs).toBe(8_000);
    const changed = planLease({ version: 2, holders: { ...holders, c: { s: 0, u: 0, w: T0 + 900 } } }, input({ share: 5, until: T0 + 100, leaseMs: 5_000, members: 'b,me' }));
    expect(changed.leaseMs).toBeCloseTo(4_000 / 3); // back to short: the minimum, or 4 calls at the new fair share of 3/s
    expect(changed.mine.s).toBe(3);
  });

  it('drops expired entries; keeps a waiter whose lease ran out as a waiter with share 0', () => {
    const holders: LeaseHolders = { dead: { s: 5, u: T0 - 1_000 }, gone: { s: 5, u: T0 - 1_000, w: T0 + 2_000 } };
    const plan = planLease({ version: 5, holders }, input());
    expect(Object.keys(plan.write!).sort()).toEqual(['gone', 'me']);
    expect(plan.write!.gone).toMatchObject({ s: 5 }); // topped up from free capacity: the fair half
  });

  it('a fractional unit: 20 instances at 10/s all hold 0.5/s (none waits for a turn), within the rate', () => {
    const timing = { ...TIMING, maxLeaseMs: 16_000, shareUnit: 0.125 };
    const holders: Record<string, { s: number; u: number; w?: number }> = {};
    for (let i = 0; i < 19; i++) holders[`i${i}`] = { s: 0.5, u: T0 + 10_000, w: T0 + 20_000 };
    const plan = planLease({ version: 5, holders }, input({ timing }));
    expect(plan.mine.s).toBe(0.5);
    // Long enough for four of its calls (2 s apart): renewed a few times a minute, not per call.
    expect(plan.mine.u - T0).toBe(8_000);
    expect(liveTotal(plan.write!, T0, 100)).toBeCloseTo(10, 9);
    // With whole units, half of them would hold nothing and take turns.
    const whole = planLease({ version: 5, holders: Object.fromEntries(Object.keys(holders).map((id, k) => [id, { s: k < 10 ? 1 : 0, u: k < 10 ? T0 + 10_000 : 0, w: T0 + 20_000 }])) }, input());
    expect(whole.mine.s).toBe(0);
  });

  it('property: whatever the item holds (written by this rule), the planned map keeps live shares within the rate', () => {
    const entry = fc.record(
      { s: fc.integer({ min: 0, max: 20 }), u: fc.integer({ min: -2_000, max: 8_000 }), w: fc.integer({ min: -2_000, max: 8_000 }) },
      { requiredKeys: ['s', 'u'] },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'me'), entry),
        fc.integer({ min: 0, max: 20 }),
        fc.boolean(),
        (rate, raw, myShare, grow) => {
          // A valid starting item: scale shares down until the invariant holds.
          const holders: Record<string, { s: number; u: number; w?: number }> = {};
          for (const [id, e] of Object.entries(raw)) holders[id] = { s: e.s, u: T0 + e.u, ...(e.w === undefined ? {} : { w: T0 + e.w }) };
          let total = liveTotal(holders, T0, 100);
          for (const id of Object.keys(holders)) {
            if (total <= rate) break;
            total -= liveShare(holders[id], T0, 100);
            holders[id] = { ...holders[id], s: 0 };
          }
          const mine = holders.me;
          const plan = planLease({ version: 1, holders }, input({ ratePerSecond: rate, share: mine && mine.u > T0 ? Math.min(mine.s, myShare) : 0, until: mine?.u ?? 0, grow }));
          if (plan.write) expect(liveTotal(plan.write, T0, 100)).toBeLessThanOrEqual(rate + 1e-9);
          if (plan.scope === 'mine') expect(plan.mine.s).toBeLessThanOrEqual(mine?.s ?? 0);
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });
});
