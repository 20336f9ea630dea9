import fc from 'fast-check';
import { baseDelaySeconds, delaySeconds, jitterFraction, policyDueAt } from '../../../lambda/decide/backoff';
import { decide } from '../../../lambda/decide/decide';
import { MAX_DELAY_LIMIT_SECONDS, type JitterStrategy } from '../../../contract/policy-schema';
import { EXECUTION_ARN, facts, fixtureEvent, policy, STATE_MACHINE_ARN } from '../helpers';

const RUNS = { numRuns: 2000, seed: 4242 };

/** Policies within the schema's bounds. */
const arbPolicy = (jitter?: JitterStrategy) =>
  fc.record({
    intervalSeconds: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: MAX_DELAY_LIMIT_SECONDS })),
    backoffRate: fc.oneof(fc.constant(1), fc.constant(2), fc.double({ min: 1, max: 100, noNaN: true })),
    maxDelaySeconds: fc.integer({ min: 1, max: MAX_DELAY_LIMIT_SECONDS }),
    jitter: jitter ? fc.constant(jitter) : fc.constantFrom<JitterStrategy>('FULL', 'NONE'),
  });
const arbCount = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1_000_000 }));
const arbArn = fc.oneof(
  fc.constant(EXECUTION_ARN),
  fc.stringMatching(/^[a-zA-Z0-9-]{1,40}$/).map((id) => `arn:aws:states:us-east-1:123456789012:execution:SM:${id}`),
  fc.string(),
);

describe('baseDelaySeconds', () => {
  const p = { intervalSeconds: 60, backoffRate: 2, maxDelaySeconds: 3600 };
  it.each([
    [0, 60],
    [1, 120],
    [2, 240],
    [5, 1920],
    [6, 3600], // 3840 capped
    [1000, 3600], // 2^1000 * 60 is finite but huge
    [10_000, 3600], // Infinity is capped too
  ])('count %d -> %d s', (count, expected) => {
    expect(baseDelaySeconds(p, count)).toBe(expected);
  });
  it('treats a negative count as 0', () => {
    expect(baseDelaySeconds(p, -3)).toBe(60);
  });
  it('interval 0 means no delay at all', () => {
    expect(baseDelaySeconds({ ...p, intervalSeconds: 0 }, 50)).toBe(0);
    expect(baseDelaySeconds({ ...p, intervalSeconds: 0, backoffRate: 100 }, 10_000)).toBe(0);
  });
  it('rate 1 is a constant delay', () => {
    expect(baseDelaySeconds({ ...p, backoffRate: 1 }, 999)).toBe(60);
  });
});

describe('delaySeconds', () => {
  const p = { intervalSeconds: 60, backoffRate: 2, maxDelaySeconds: 3600, jitter: 'NONE' as JitterStrategy };
  it('NONE ignores the fraction', () => {
    expect(delaySeconds(p, 1, 0)).toBe(120);
    expect(delaySeconds(p, 1, 0.99)).toBe(120);
  });
  it('FULL scales by the fraction and rounds to whole seconds', () => {
    const f = { ...p, jitter: 'FULL' as JitterStrategy };
    expect(delaySeconds(f, 1, 0)).toBe(0);
    expect(delaySeconds(f, 1, 0.5)).toBe(60);
    expect(delaySeconds(f, 0, 0.0125)).toBe(1); // 0.75 -> 1
    expect(delaySeconds(f, 6, 0.5)).toBe(1800);
  });
  it('FULL clamps an out-of-range fraction', () => {
    const f = { ...p, jitter: 'FULL' as JitterStrategy };
    expect(delaySeconds(f, 1, -5)).toBe(0);
    expect(delaySeconds(f, 1, 7)).toBe(120);
  });
  it('rounds a fractional base (rate 1.5)', () => {
    expect(delaySeconds({ ...p, intervalSeconds: 1, backoffRate: 1.5 }, 1, 0)).toBe(2); // 1.5 -> 2
    expect(delaySeconds({ ...p, intervalSeconds: 1, backoffRate: 1.5 }, 2, 0)).toBe(2); // 2.25 -> 2
  });

  it('property: never negative, never above maxDelaySeconds, always a whole number', () => {
    fc.assert(
      fc.property(arbPolicy(), arbCount, fc.double({ min: -2, max: 3, noNaN: true }), (policy, count, fraction) => {
        const d = delaySeconds(policy, count, fraction);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(policy.maxDelaySeconds);
        expect(Object.is(d, -0)).toBe(false);
      }),
      RUNS,
    );
  });

  it('property: without jitter, monotone non-decreasing in redriveCount', () => {
    fc.assert(
      fc.property(arbPolicy('NONE'), arbCount, fc.integer({ min: 0, max: 50 }), (policy, count, step) => {
        expect(delaySeconds(policy, count + step, 0.5)).toBeGreaterThanOrEqual(delaySeconds(policy, count, 0.5));
        expect(baseDelaySeconds(policy, count + step)).toBeGreaterThanOrEqual(baseDelaySeconds(policy, count));
      }),
      RUNS,
    );
  });

  it('property: FULL jitter never exceeds the un-jittered delay', () => {
    fc.assert(
      fc.property(arbPolicy('FULL'), arbCount, arbArn, (policy, count, arn) => {
        const full = delaySeconds(policy, count, jitterFraction(arn, count));
        const none = delaySeconds({ ...policy, jitter: 'NONE' }, count, 0);
        expect(full).toBeLessThanOrEqual(none);
        expect(full).toBeGreaterThanOrEqual(0);
      }),
      RUNS,
    );
  });

  it('property: intervalSeconds 0 is no delay at any redriveCount and rate', () => {
    fc.assert(
      fc.property(arbPolicy(), arbCount, fc.double({ min: 0, max: 1, noNaN: true }), (policy, count, fraction) => {
        expect(delaySeconds({ ...policy, intervalSeconds: 0 }, count, fraction)).toBe(0);
      }),
      RUNS,
    );
  });

  it('property: NONE equals the rounded capped base', () => {
    fc.assert(
      fc.property(arbPolicy('NONE'), arbCount, (policy, count) => {
        expect(delaySeconds(policy, count, 0)).toBe(Math.min(policy.maxDelaySeconds, Math.round(baseDelaySeconds(policy, count))));
      }),
      RUNS,
    );
  });
});

describe('jitterFraction', () => {
  it('property: in [0, 1) and deterministic', () => {
    fc.assert(
      fc.property(arbArn, fc.integer({ min: -10, max: 1_000_000 }), (arn, count) => {
        const f = jitterFraction(arn, count);
        expect(f).toBeGreaterThanOrEqual(0);
        expect(f).toBeLessThan(1);
        expect(Number.isFinite(f)).toBe(true);
        expect(jitterFraction(arn, count)).toBe(f);
      }),
      RUNS,
    );
  });

  it('pins known values (a change in the hash changes every scheduled delay and simulate output)', () => {
    expect(jitterFraction('a', 0)).toBe(0.528446231270209);
    expect(jitterFraction('arn:aws:states:us-east-1:123456789012:execution:orders:1', 2)).toBe(
      jitterFraction('arn:aws:states:us-east-1:123456789012:execution:orders:1', 2),
    );
  });

  it('spreads the successive redrives of one execution (not one lucky or unlucky draw for all)', () => {
    // FNV-1a alone moved by ~0.09 over ten counts; the finaliser must spread them out.
    let wellSpread = 0;
    for (let i = 0; i < 500; i++) {
      const arn = `arn:aws:states:us-east-1:123456789012:execution:orders:${i.toString(36)}`;
      const fractions = Array.from({ length: 10 }, (_, k) => jitterFraction(arn, k));
      if (Math.max(...fractions) - Math.min(...fractions) > 0.5) wellSpread++;
    }
    expect(wellSpread).toBeGreaterThan(475);
  });

  it('differs across redriveCounts and executions (spreads a burst)', () => {
    const byCount = new Set(Array.from({ length: 50 }, (_, i) => jitterFraction(EXECUTION_ARN, i)));
    expect(byCount.size).toBe(50);
    const byArn = Array.from({ length: 1000 }, (_, i) => jitterFraction(`${EXECUTION_ARN}-${i}`, 0));
    expect(new Set(byArn).size).toBeGreaterThan(990);
    // roughly uniform: each decile gets 5-15 %
    const buckets = new Array(10).fill(0);
    for (const f of byArn) buckets[Math.floor(f * 10)]++;
    for (const b of buckets) {
      expect(b).toBeGreaterThan(50);
      expect(b).toBeLessThan(150);
    }
  });

  it('handles non-ASCII text', () => {
    const f = jitterFraction('arn:ü:😀', 1);
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThan(1);
  });
});

describe('policyDueAt: when the policy alone would redrive a failure', () => {
  const STOP = 1_700_000_000_000;
  const p = { intervalSeconds: 60, backoffRate: 2, maxDelaySeconds: 3600, jitter: 'NONE' as JitterStrategy };

  it('without jitter: the stop plus the backoff for its redriveCount, capped', () => {
    expect(policyDueAt(p, { executionArn: EXECUTION_ARN, redriveCount: 0, stoppedAt: STOP })).toBe(STOP + 60_000);
    expect(policyDueAt(p, { executionArn: EXECUTION_ARN, redriveCount: 2, stoppedAt: STOP })).toBe(STOP + 240_000);
    expect(policyDueAt(p, { executionArn: EXECUTION_ARN, redriveCount: 9, stoppedAt: STOP })).toBe(STOP + 3_600_000);
    expect(policyDueAt({ ...p, intervalSeconds: 0 }, { executionArn: EXECUTION_ARN, redriveCount: 4, stoppedAt: STOP })).toBe(STOP);
  });

  it('FULL jitter: the same draw for the same failure as the schedule uses, between the stop and the un-jittered time', () => {
    const f = { ...p, jitter: 'FULL' as JitterStrategy };
    const failure = { executionArn: EXECUTION_ARN, redriveCount: 1, stoppedAt: STOP };
    const due = policyDueAt(f, failure);
    expect(due).toBe(STOP + delaySeconds(f, 1, jitterFraction(EXECUTION_ARN, 1)) * 1000);
    expect(due).toBeGreaterThanOrEqual(STOP);
    expect(due).toBeLessThanOrEqual(STOP + 120_000);
    expect(policyDueAt(f, failure)).toBe(due);
  });

  it('property: equals the time decide() schedules the same failure for (holding never spends a redrive sooner than the policy)', () => {
    fc.assert(
      fc.property(
        arbPolicy(),
        fc.integer({ min: 0, max: 49 }),
        fc.stringMatching(/^[a-zA-Z0-9-]{1,40}$/),
        fc.integer({ min: 0, max: 10_000_000 }),
        (backoff, redriveCount, id, offset) => {
          const executionArn = `arn:aws:states:us-east-1:123456789012:execution:MyStateMachine-gddoyum7f:${id}`;
          const stopDate = STOP + offset * 1000;
          const event = fixtureEvent('failed0', { executionArn, redriveCount, stopDate });
          const d = decide(event, { kind: 'found', policy: policy({ key: STATE_MACHINE_ARN, maxRedrives: 50, ...backoff }) }, facts(), stopDate);
          const due = policyDueAt(backoff, { executionArn, redriveCount, stoppedAt: stopDate });
          if (d.decision === 'redrive-later') expect(d.dueAt).toBe(due);
          else expect([d.decision, due]).toEqual(['redrive', stopDate]);
        },
      ),
      { numRuns: 500, seed: 4242 },
    );
  });

  it('a later redrive of the same execution is due later without jitter, and counts from its own stop', () => {
    const first = policyDueAt(p, { executionArn: EXECUTION_ARN, redriveCount: 0, stoppedAt: STOP });
    const second = policyDueAt(p, { executionArn: EXECUTION_ARN, redriveCount: 1, stoppedAt: STOP });
    expect(second - first).toBe(60_000);
    expect(policyDueAt(p, { executionArn: EXECUTION_ARN, redriveCount: 1, stoppedAt: STOP + 5_000 })).toBe(second + 5_000);
  });
});
