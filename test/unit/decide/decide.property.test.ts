/**
 * Properties of decide() over arbitrary events, policies and facts (fast-check, seeded).
 * Every property runs at least 1000 cases.
 */
import fc from 'fast-check';
import { decide } from '../../../lambda/decide/decide';
import { firstMatch } from '../../../lambda/decide/error-match';
import {
  SKIP_REASONS,
  type CurrentExecution,
  type Decision,
  type ExecutionFacts,
  type FailureRecordState,
  type PolicyResolution,
} from '../../../lambda/decide/decision';
import { EXECUTION_STATUSES, REDRIVE_STATUSES, type StatusChange } from '../../../lambda/event/status-change';
import { BREAKER_DEFAULTS, DEFAULT_NON_RETRYABLE_ERRORS, InvalidPolicyError, MAX_DELAY_LIMIT_SECONDS, type RedrivePolicy } from '../../../contract/policy-schema';
import { REDRIVABLE_STATUSES } from '../../../contract/event-pattern';

const RUNS = { numRuns: 1000, seed: 1337 };
const T = 1_700_000_000_000;
const HOUR = 3_600_000;

const arbTime = fc.integer({ min: T - 30 * 24 * HOUR, max: T + 30 * 24 * HOUR });
const arbErrorName = fc.constantFrom(
  'Lambda.AWSLambdaException',
  'Lambda.ServiceException',
  'States.Timeout',
  'States.TaskFailed',
  'States.Runtime',
  'States.DataLimitExceeded',
  'Custom.Error',
  'MyError',
);
const arbPattern = fc.oneof(arbErrorName, fc.constantFrom('Lambda.*', 'States.*', 'Custom.*', '*'));
const arbCount = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 1_000_000 }));
const arbNullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 3 });

const arbEvent: fc.Arbitrary<StatusChange> = fc
  .record({
    id: fc.integer({ min: 0, max: 3 }),
    status: fc.constantFrom(...EXECUTION_STATUSES),
    startDate: arbTime,
    stopOffset: arbNullable(fc.integer({ min: 0, max: 2 * HOUR })),
    redriveCount: arbNullable(arbCount),
    redriveStatus: arbNullable(fc.constantFrom(...REDRIVE_STATUSES)),
    redriveStatusReason: arbNullable(fc.constantFrom('Execution is RUNNING and cannot be redriven', 'Execution redrivable period exceeded')),
    error: arbNullable(arbErrorName),
  })
  .map((r) => ({
    eventId: `ev-${r.id}`,
    eventTime: r.startDate,
    account: '123456789012',
    region: 'us-east-1',
    executionArn: `arn:aws:states:us-east-1:123456789012:execution:SM:exec-${r.id}`,
    stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:SM',
    name: `exec-${r.id}`,
    status: r.status,
    startDate: r.startDate,
    stopDate: r.stopOffset === null ? null : r.startDate + r.stopOffset,
    redriveCount: r.redriveCount,
    redriveDate: null,
    redriveStatus: r.redriveStatus,
    redriveStatusReason: r.redriveStatusReason,
    error: r.error,
    cause: null,
  }));

const arbPolicy: fc.Arbitrary<RedrivePolicy> = fc.record({
  key: fc.constantFrom('*', 'arn:aws:states:us-east-1:123456789012:stateMachine:SM', 'arn:*:SM'),
  enabled: fc.boolean(),
  maxRedrives: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 1000 })),
  intervalSeconds: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: MAX_DELAY_LIMIT_SECONDS })),
  backoffRate: fc.oneof(fc.constant(1), fc.constant(2), fc.double({ min: 1, max: 100, noNaN: true })),
  maxDelaySeconds: fc.integer({ min: 1, max: MAX_DELAY_LIMIT_SECONDS }),
  jitter: fc.constantFrom('FULL' as const, 'NONE' as const),
  errorEquals: fc.oneof(fc.constant(['States.ALL']), fc.uniqueArray(arbPattern, { minLength: 1, maxLength: 3 })),
  nonRetryableErrors: fc.oneof(fc.constant(DEFAULT_NON_RETRYABLE_ERRORS), fc.uniqueArray(arbPattern, { maxLength: 3 })),
  statuses: fc.uniqueArray(fc.constantFrom(...REDRIVABLE_STATUSES), { minLength: 1, maxLength: 3 }),
  dryRun: fc.boolean(),
  description: fc.constant(undefined),
  onExhausted: fc.constantFrom('skip' as const, 'hold' as const),
  holdMarginHours: fc.constant(24),
  breaker: fc.constant(BREAKER_DEFAULTS),
  approval: fc.constant(false),
});

const arbResolution: fc.Arbitrary<PolicyResolution> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'none' } as const) },
  {
    weight: 1,
    arbitrary: fc.constant({ kind: 'invalid', key: '*', error: new InvalidPolicyError('*', [{ field: 'maxRedrive', message: 'unknown attribute' }]) } as const),
  },
  { weight: 8, arbitrary: arbPolicy.map((policy) => ({ kind: 'found', policy }) as const) },
);

const arbRecord = (now: number): fc.Arbitrary<FailureRecordState> =>
  fc.oneof(
    fc.integer({ min: now - HOUR, max: now + HOUR }).map((dueAt) => ({ state: 'pending', dueAt }) as const),
    fc.integer({ min: now - HOUR, max: now + HOUR }).map((claimExpiresAt) => ({ state: 'claimed', claimExpiresAt }) as const),
    fc.constant({ state: 'redriven' } as const),
    fc.constantFrom('paused', 'dry-run', 'no-policy').map((reason) => ({ state: 'skipped', reason }) as const),
    fc.constantFrom('breaker-open', 'exhausted').map((reason) => ({ state: 'held', reason }) as const),
  );

const arbCurrent: fc.Arbitrary<CurrentExecution> = fc.record({
  status: fc.constantFrom(...EXECUTION_STATUSES),
  redriveCount: arbCount,
  redriveStatus: arbNullable(fc.constantFrom(...REDRIVE_STATUSES)),
  redriveStatusReason: arbNullable(fc.constant('Execution is SUCCEEDED and cannot be redriven')),
  stopDate: arbNullable(arbTime),
  error: arbNullable(arbErrorName),
});

interface Inputs {
  event: StatusChange;
  resolution: PolicyResolution;
  facts: ExecutionFacts;
  now: number;
}

/** Events and facts kept near `now` so that every branch is reachable. */
const arbInputs: fc.Arbitrary<Inputs> = fc
  .tuple(arbEvent, arbResolution, fc.integer({ min: -HOUR, max: 3 * HOUR }))
  .chain(([event, resolution, nowOffset]) => {
    const now = (event.stopDate ?? event.startDate) + nowOffset;
    return fc
      .record({
        paused: fc.boolean(),
        highestRecordedFailure: arbNullable(arbCount),
        thisFailure: arbNullable(arbRecord(now)),
        current: arbNullable(arbCurrent),
        releasedByHand: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.boolean() }),
      })
      .map((facts) => ({ event, resolution, facts, now }));
  });

/** Same, but biased towards the happy path, so redrive decisions are common. */
const arbHappyInputs: fc.Arbitrary<Inputs> = fc
  .tuple(arbEvent, arbPolicy, fc.integer({ min: -HOUR, max: 3 * HOUR }), fc.boolean())
  .map(([event, policy, nowOffset, withCurrent]) => {
    const e: StatusChange = { ...event, status: 'FAILED', redriveStatus: 'REDRIVABLE', redriveCount: event.redriveCount ?? 0, stopDate: event.stopDate ?? event.startDate, error: 'Lambda.AWSLambdaException' };
    const p: RedrivePolicy = { ...policy, enabled: true, dryRun: false, statuses: ['FAILED'], errorEquals: ['States.ALL'], nonRetryableErrors: [], maxRedrives: Math.max(policy.maxRedrives, e.redriveCount! + 1) };
    const current: CurrentExecution | null = withCurrent
      ? { status: 'FAILED', redriveCount: e.redriveCount!, redriveStatus: 'REDRIVABLE', redriveStatusReason: null, stopDate: e.stopDate, error: e.error }
      : null;
    return { event: e, resolution: { kind: 'found', policy: p } as const, facts: { paused: false, highestRecordedFailure: null, thisFailure: null, current }, now: e.stopDate! + nowOffset };
  });

const run = (i: Inputs): Decision => decide(i.event, i.resolution, i.facts, i.now);
const acts = (d: Decision) => d.decision === 'redrive' || d.decision === 'redrive-later';
const REDRIVE_REASONS = ['no-delay', 'due', 'retry-abandoned-claim', 'release'];

/** Plain checks (jest's expect costs ~20 µs a call, too slow for tens of thousands of cases). */
function check(ok: boolean, what: string, d: Decision): void {
  if (!ok) throw new Error(`${what}: ${JSON.stringify(d)}`);
}

function checkShape(d: Decision, i: Inputs): void {
  check(typeof d.detail === 'string' && d.detail.trim().length > 0, 'empty detail', d);
  check(typeof d.reason === 'string' && d.reason.length > 0, 'no reason', d);
  switch (d.decision) {
    case 'skip':
      check((SKIP_REASONS as readonly string[]).includes(d.reason), 'unknown skip reason', d);
      check(d.reason !== 'unknown-account', 'unknown-account is the controller\'s, never decide()\'s', d);
      check(!('dueAt' in d) && !('delaySeconds' in d), 'a skip with a schedule', d);
      break;
    case 'redrive':
      check(REDRIVE_REASONS.includes(d.reason), 'unknown redrive reason', d);
      check(Number.isInteger(d.redriveCount), 'redrive without redriveCount', d);
      break;
    case 'redrive-later':
      check(d.reason === 'backoff', 'redrive-later reason', d);
      check(Number.isInteger(d.delaySeconds) && d.delaySeconds > 0, 'delaySeconds not a positive integer', d);
      check(d.dueAt > i.now, 'dueAt not after now', d);
      check(d.delaySeconds === Math.ceil((d.dueAt - i.now) / 1000), 'delaySeconds != ceil(dueAt - now)', d);
      check(Number.isInteger(d.redriveCount), 'redrive-later without redriveCount', d);
      break;
    case 'hold': {
      // decide() holds only after exhaustion, with onExhausted: hold, neither paused nor a dry run.
      check(d.reason === 'exhausted', 'decide() holds only for exhaustion', d);
      const p = i.resolution.kind === 'found' ? i.resolution.policy : undefined;
      check(p?.onExhausted === 'hold' && !p.dryRun && !i.facts.paused && !i.facts.releasedByHand, 'hold without onExhausted: hold, or while paused / dry run / released by hand', d);
      check(Number.isInteger(d.redriveCount) && d.redriveCount >= (p?.maxRedrives ?? Infinity), 'hold below maxRedrives', d);
      break;
    }
    default:
      throw new Error(`unknown decision ${JSON.stringify(d)}`);
  }
}

describe('decide(): properties', () => {
  it('never throws; always a well-formed decision with a reason and a non-empty detail', () => {
    fc.assert(
      fc.property(arbInputs, (i) => {
        checkShape(run(i), i);
      }),
      { ...RUNS, numRuns: 3000 },
    );
  });

  it('the happy-path generator does reach redrive and redrive-later (generator sanity)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbHappyInputs, (i) => {
        const d = run(i);
        checkShape(d, i);
        seen.add(d.decision);
        expect(acts(d) || d.reason === 'limit-reached').toBe(true);
      }),
      RUNS,
    );
    expect(seen).toEqual(new Set(['redrive', 'redrive-later']));
  });

  it('is deterministic and does not mutate its inputs', () => {
    const cloneInputs = (i: Inputs): Inputs => ({
      event: structuredClone(i.event),
      facts: structuredClone(i.facts),
      now: i.now,
      // InvalidPolicyError does not survive structuredClone; policies are plain data.
      resolution: i.resolution.kind === 'found' ? { kind: 'found', policy: structuredClone(i.resolution.policy) } : i.resolution,
    });
    fc.assert(
      fc.property(fc.oneof(arbInputs, arbHappyInputs), (i) => {
        const before = cloneInputs(i);
        const a = run(i);
        const b = run(cloneInputs(i));
        expect(b).toEqual(a);
        expect(run(i)).toEqual(a);
        expect(i).toEqual(before);
      }),
      RUNS,
    );
  });

  it('redrive-later: delaySeconds > 0, dueAt > now, and dueAt = the earlier of (stopDate, now) + a whole-second delay <= maxDelaySeconds', () => {
    fc.assert(
      fc.property(fc.oneof(arbInputs, arbHappyInputs), (i) => {
        const d = run(i);
        if (d.decision !== 'redrive-later') return;
        expect(d.delaySeconds).toBeGreaterThan(0);
        expect(d.dueAt).toBeGreaterThan(i.now);
        const policy = (i.resolution as { policy: RedrivePolicy }).policy;
        const from = Math.min(i.event.stopDate ?? i.now, i.now);
        expect((d.dueAt - from) % 1000).toBe(0);
        expect(d.dueAt - from).toBeGreaterThan(0);
        expect(d.dueAt - from).toBeLessThanOrEqual(policy.maxDelaySeconds * 1000);
        expect(d.delaySeconds).toBeLessThanOrEqual(policy.maxDelaySeconds);
      }),
      RUNS,
    );
  });

  it('a stopDate ahead of the clock counts as now: with no delay the redrive is immediate', () => {
    fc.assert(
      fc.property(arbHappyInputs, fc.integer({ min: 1, max: HOUR }), (i, skew) => {
        const p = (i.resolution as { policy: RedrivePolicy }).policy;
        const d = run({ ...i, now: i.event.stopDate! - skew, resolution: { kind: 'found', policy: { ...p, intervalSeconds: 0 } } });
        expect(d).toMatchObject({ decision: 'redrive', reason: 'no-delay' });
      }),
      RUNS,
    );
  });

  it('redrive-later becomes redrive once dueAt arrives (same facts, clock not behind the failure)', () => {
    fc.assert(
      fc.property(arbHappyInputs, (i) => {
        fc.pre(i.now >= i.event.stopDate!);
        const d = run(i);
        if (d.decision !== 'redrive-later') return;
        const later = run({ ...i, now: d.dueAt });
        expect(later).toMatchObject({ decision: 'redrive', reason: 'no-delay', redriveCount: d.redriveCount });
        expect(run({ ...i, now: d.dueAt - 1 }).decision).toBe('redrive-later');
      }),
      RUNS,
    );
  });

  it('a scheduled (pending) redrive is carried out once due, whatever the clock skew', () => {
    fc.assert(
      fc.property(arbHappyInputs, (i) => {
        const d = run(i);
        if (d.decision !== 'redrive-later') return;
        const later = run({ ...i, now: d.dueAt, facts: { ...i.facts, thisFailure: { state: 'pending', dueAt: d.dueAt } } });
        expect(later).toMatchObject({ decision: 'redrive', reason: 'due' });
      }),
      RUNS,
    );
  });

  it('a redrive always has a found, enabled, non-dry-run policy, a known redriveCount below maxRedrives and a matching error', () => {
    fc.assert(
      fc.property(fc.oneof(arbInputs, arbHappyInputs), (i) => {
        const d = run(i);
        if (!acts(d)) return;
        expect(i.resolution.kind).toBe('found');
        const p = (i.resolution as { policy: RedrivePolicy }).policy;
        expect(p.enabled).toBe(true);
        expect(p.dryRun).toBe(false);
        expect(i.facts.paused).toBe(false);
        expect(d.redriveCount).not.toBeNull();
        // Only a person's release (redrivectl release) goes past the limit.
        if (!i.facts.releasedByHand) expect(d.redriveCount!).toBeLessThan(p.maxRedrives);
        expect(firstMatch(p.nonRetryableErrors, d.errorName)).toBeUndefined();
        expect(firstMatch(p.errorEquals, d.errorName)).toBeDefined();
        expect(p.statuses).toContain(i.event.status);
        expect(d.policyKey).toBe(p.key);
      }),
      RUNS,
    );
  });

  // Each "never acts when ..." property forces its condition onto otherwise arbitrary
  // (half of them happy-path) inputs, so the condition is the only thing that can stop it.
  const never: Array<[string, (i: Inputs) => Inputs]> = [
    [
      'redriveCount >= maxRedrives',
      (i) => {
        if (i.resolution.kind !== 'found') return i;
        const count = i.event.redriveCount ?? i.facts.current?.redriveCount ?? 0;
        return {
          ...i,
          event: { ...i.event, redriveCount: count },
          resolution: { kind: 'found', policy: { ...i.resolution.policy, maxRedrives: Math.min(count, 1000) } },
          facts: { ...i.facts, releasedByHand: false },
        };
      },
    ],
    ['paused', (i) => ({ ...i, facts: { ...i.facts, paused: true } })],
    ['the policy is a dry run', (i) => (i.resolution.kind === 'found' ? { ...i, resolution: { kind: 'found', policy: { ...i.resolution.policy, dryRun: true } } } : i)],
    ['the policy is disabled', (i) => (i.resolution.kind === 'found' ? { ...i, resolution: { kind: 'found', policy: { ...i.resolution.policy, enabled: false } } } : i)],
    ['no policy', (i) => ({ ...i, resolution: { kind: 'none' } })],
    ['the policy is invalid', (i) => ({ ...i, resolution: { kind: 'invalid', key: '*', error: new InvalidPolicyError('*', [{ field: 'x', message: 'y' }]) } })],
    [
      'the error matches nonRetryableErrors',
      (i) => {
        if (i.resolution.kind !== 'found') return i;
        const name = i.event.error ?? i.facts.current?.error ?? (i.event.status === 'TIMED_OUT' ? 'States.Timeout' : null);
        return { ...i, resolution: { kind: 'found', policy: { ...i.resolution.policy, nonRetryableErrors: [name ?? '*'] } } };
      },
    ],
    ['nonRetryableErrors is *', (i) => (i.resolution.kind === 'found' ? { ...i, resolution: { kind: 'found', policy: { ...i.resolution.policy, nonRetryableErrors: ['*'] } } } : i)],
    ['the event is NOT_REDRIVABLE', (i) => ({ ...i, event: { ...i.event, redriveStatus: 'NOT_REDRIVABLE' } })],
    ['the event is REDRIVABLE_BY_MAP_RUN', (i) => ({ ...i, event: { ...i.event, redriveStatus: 'REDRIVABLE_BY_MAP_RUN' } })],
    ['DescribeExecution says NOT_REDRIVABLE', (i) => ({ ...i, facts: { ...i.facts, current: { ...(i.facts.current ?? curOf(i)), redriveStatus: 'NOT_REDRIVABLE' } } })],
    ['DescribeExecution says REDRIVABLE_BY_MAP_RUN', (i) => ({ ...i, facts: { ...i.facts, current: { ...(i.facts.current ?? curOf(i)), redriveStatus: 'REDRIVABLE_BY_MAP_RUN' } } })],
    ['the event is RUNNING', (i) => ({ ...i, event: { ...i.event, status: 'RUNNING' } })],
    ['the event is SUCCEEDED', (i) => ({ ...i, event: { ...i.event, status: 'SUCCEEDED' } })],
    ['the event is PENDING_REDRIVE', (i) => ({ ...i, event: { ...i.event, status: 'PENDING_REDRIVE' } })],
    ['the execution is RUNNING now', (i) => ({ ...i, facts: { ...i.facts, current: { ...(i.facts.current ?? curOf(i)), status: 'RUNNING' } } })],
    ['the execution is SUCCEEDED now', (i) => ({ ...i, facts: { ...i.facts, current: { ...(i.facts.current ?? curOf(i)), status: 'SUCCEEDED' } } })],
    ['this failure is already redriven', (i) => ({ ...i, facts: { ...i.facts, thisFailure: { state: 'redriven' } } })],
    ['this failure has a live claim', (i) => ({ ...i, facts: { ...i.facts, thisFailure: { state: 'claimed', claimExpiresAt: i.now + 1 } } })],
    ['this failure is pending and not due', (i) => ({ ...i, facts: { ...i.facts, thisFailure: { state: 'pending', dueAt: i.now + 1 } } })],
    [
      'current.redriveCount > event.redriveCount',
      (i) => {
        const count = i.event.redriveCount ?? 0;
        return { ...i, event: { ...i.event, redriveCount: count }, facts: { ...i.facts, current: { ...(i.facts.current ?? curOf(i)), redriveCount: count + 1 } } };
      },
    ],
    [
      'a later failure is recorded',
      (i) => {
        const count = i.event.redriveCount ?? 0;
        return { ...i, event: { ...i.event, redriveCount: count }, facts: { ...i.facts, current: null, highestRecordedFailure: count + 1 } };
      },
    ],
    ['redriveCount is unknown', (i) => ({ ...i, event: { ...i.event, redriveCount: null }, facts: { ...i.facts, current: null } })],
    [
      'the status is not in the policy statuses',
      (i) => (i.resolution.kind === 'found' ? { ...i, event: { ...i.event, status: 'ABORTED' }, resolution: { kind: 'found', policy: { ...i.resolution.policy, statuses: ['FAILED', 'TIMED_OUT'] } } } : i),
    ],
  ];

  function curOf(i: Inputs): CurrentExecution {
    return { status: 'FAILED', redriveCount: i.event.redriveCount ?? 0, redriveStatus: 'REDRIVABLE', redriveStatusReason: null, stopDate: i.event.stopDate, error: i.event.error };
  }

  // One generated input is checked under every condition (1000+ runs per condition) so
  // that 24 conditions cost one generation; a failure names its condition.
  it(`never redrive or redrive-later when any of: ${never.map((n) => n[0]).join('; ')}`, () => {
    fc.assert(
      fc.property(fc.oneof(arbInputs, arbHappyInputs), (i) => {
        for (const [label, force] of never) {
          const forced = force(i);
          const d = run(forced);
          // Past the limit a failure may be held for a person (onExhausted: hold), never redriven.
          const allowed = d.decision === 'skip' || (d.decision === 'hold' && label === 'redriveCount >= maxRedrives');
          if (!allowed) throw new Error(`acted (${d.decision}/${d.reason}) although ${label}`);
          checkShape(d, forced);
        }
      }),
      { ...RUNS, numRuns: 3000 },
    );
  });

  it("a released held failure is redriven no sooner than its backoff (scheduled for then), a person's release within the limit too; past the limit a person's release is the redrive, at once, never stopped by the limit", () => {
    fc.assert(
      fc.property(fc.oneof(arbInputs, arbHappyInputs), fc.constantFrom('breaker-open', 'exhausted'), fc.boolean(), (i, reason, byHand) => {
        const heldWith = (releasedByHand: boolean) => ({ ...i, facts: { ...i.facts, thisFailure: { state: 'held', reason } as const, releasedByHand } });
        const held = heldWith(byHand);
        const d = run(held);
        checkShape(d, held);
        if (d.decision === 'redrive-later') expect(d.dueAt).toBeGreaterThan(i.now);
        if (d.decision === 'redrive') expect(d.reason).toBe('release');
        if (!byHand) return;
        expect(d.reason).not.toBe('limit-reached');
        const policy = i.resolution.kind === 'found' ? i.resolution.policy : undefined;
        if (policy && (i.event.redriveCount ?? 0) < policy.maxRedrives) {
          // Within the limit the person's release decides as the breaker's own (the words aside).
          const withoutWords = (x: object) => ({ ...x, detail: undefined });
          expect(withoutWords(d)).toEqual(withoutWords(run(heldWith(false))));
        } else expect(d.decision).not.toBe('redrive-later');
      }),
      RUNS,
    );
  });

  it('stale or handled skips do not depend on pause / dry run (the switches only turn would-be redrives into skips)', () => {
    fc.assert(
      fc.property(arbInputs, (i) => {
        const d = run(i);
        if (d.decision !== 'skip' || d.reason === 'paused' || d.reason === 'dry-run') return;
        const unpaused = run({ ...i, facts: { ...i.facts, paused: false } });
        expect(unpaused).toEqual(d);
      }),
      RUNS,
    );
  });

  it('approval: true turns every would-be redrive (now or later) into a hold awaiting-approval and changes nothing else; once approved it decides as without approval', () => {
    fc.assert(
      fc.property(fc.oneof(arbInputs, arbHappyInputs), fc.constantFrom(undefined, 'arn:aws:iam::123456789012:user/alice'), (i, approvedBy) => {
        if (i.resolution.kind !== 'found') return;
        const without = run({ ...i, facts: { ...i.facts, approvedBy } });
        const d = run({ ...i, resolution: { kind: 'found', policy: { ...i.resolution.policy, approval: true } }, facts: { ...i.facts, approvedBy } });
        if (approvedBy === undefined && acts(without)) {
          check(d.decision === 'hold' && d.reason === 'awaiting-approval', 'a would-be redrive not held for approval', d);
          check(d.redriveCount === without.redriveCount && d.errorName === without.errorName && d.policyKey === without.policyKey, 'subject changed', d);
        } else {
          expect(d).toEqual(without);
        }
        if (approvedBy !== undefined && d.decision === 'redrive') check(d.detail.includes(`approved by ${approvedBy}`), 'approver not in the detail', d);
      }),
      RUNS,
    );
  });
});

describe('decide(): state-scoped policies (neverAtStates, onlyAtStates)', () => {
  const STATE_NAMES = ['Validate', 'ChargeCard', 'ChargeRefund', 'Notify', 'Fanout', 'EachItem'];
  const arbStateEntry = fc.oneof(fc.constantFrom(...STATE_NAMES), fc.constantFrom('Charge*', '*Item', '*', 'TIMED_OUT', 'ABORTED', 'FAILED'));
  const arbFailedState = fc.oneof(
    { weight: 4, arbitrary: fc.record({ name: fc.constantFrom(...STATE_NAMES), enclosing: fc.uniqueArray(fc.constantFrom('Fanout', 'EachItem'), { maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.constant({ name: null, enclosing: [] as string[] }) },
  );
  const arbScope = fc.record({
    neverAtStates: fc.option(fc.uniqueArray(arbStateEntry, { maxLength: 3 }), { nil: undefined }),
    onlyAtStates: fc.option(fc.uniqueArray(arbStateEntry, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  });
  /** A pattern matches a name the way docs/policies.md says: `*` is any run of characters. */
  const matches = (pattern: string, name: string) => new RegExp(`^${pattern.split('*').join('.*')}$`).test(name);
  const at = (entries: readonly string[], s: { name: string | null; enclosing: readonly string[] }) =>
    s.name !== null && [s.name, ...s.enclosing].some((n) => entries.some((e) => matches(e, n)));

  const arbScoped = fc.tuple(fc.oneof(arbInputs, arbHappyInputs), arbScope, fc.option(arbFailedState, { nil: undefined, freq: 6 })).map(([i, scope, failedState]) => {
    const resolution: PolicyResolution = i.resolution.kind === 'found' ? { kind: 'found', policy: { ...i.resolution.policy, ...scope } } : i.resolution;
    return { ...i, resolution, facts: { ...i.facts, ...(failedState ? { failedState } : {}) }, scope, failedState };
  });

  it('never acts on a failure at a neverAtStates state, or (with onlyAtStates) at none of its states; never without the failed state', () => {
    fc.assert(
      fc.property(arbScoped, (i) => {
        const d = run(i);
        checkShape(d, i);
        if (!acts(d) && d.decision !== 'hold') return;
        const { neverAtStates, onlyAtStates } = i.scope;
        if (neverAtStates === undefined && onlyAtStates === undefined) return;
        check(i.failedState !== undefined, 'acted without knowing the failed state', d);
        const s = i.failedState!;
        check(!at(neverAtStates ?? [], s), 'acted on a failure at a neverAtStates state', d);
        if (onlyAtStates) check(s.name === null ? onlyAtStates.includes(i.event.status) : at(onlyAtStates, s), 'acted on a failure outside onlyAtStates', d);
      }),
      { ...RUNS, numRuns: 3000 },
    );
  });

  it('a scope the failed state is within changes nothing', () => {
    fc.assert(
      fc.property(arbScoped, (i) => {
        if (i.resolution.kind !== 'found' || i.failedState === undefined) return;
        const { neverAtStates, onlyAtStates } = i.scope;
        const s = i.failedState;
        const within = !at(neverAtStates ?? [], s) && (onlyAtStates === undefined || (s.name === null ? onlyAtStates.includes(i.event.status) : at(onlyAtStates, s)));
        if (!within) return;
        const unscoped = { ...i.resolution.policy, neverAtStates: undefined, onlyAtStates: undefined };
        expect(run(i)).toEqual(run({ ...i, resolution: { kind: 'found', policy: unscoped } }));
      }),
      RUNS,
    );
  });
});
