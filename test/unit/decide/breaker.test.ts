/**
 * The breaker's pure state machine (lambda/decide/breaker.ts), one test per transition and
 * per refusal, and the window arithmetic it rests on. Opening evidence is failed redrives
 * of distinct executions (`r_` buckets) unless redrives of the group also succeed (`s_`);
 * first failures (`c_`, written by older versions) open nothing.
 */
import { RELEASE_GRACE_MS } from '../../../contract/breaker';
import { BREAKER_DEFAULTS } from '../../../contract/policy-schema';
import {
  type BreakerState,
  bucketMs,
  CLOSED_STATE,
  confirmationMs,
  counterName,
  type CounterKind,
  countingTime,
  failuresInWindow,
  redriveFailuresInWindow,
  redriveSuccessesInWindow,
  redrivesFailing,
  holdDetail,
  type Observation,
  staleCounters,
  step,
  SUCCESSES_PER_FAILED_REDRIVE,
  verdictOf,
} from '../../../lambda/decide/breaker';
import { probeCheckDue, probeOutcomeOf } from '../../../lambda/decide/probe-outcome';

const S = { ...BREAKER_DEFAULTS, threshold: 5, windowSeconds: 300 }; // 2 executions' redrives failed again in 300 s, probes 30 s doubling to 240 s
const T0 = 1_700_000_000_000;
const ARN = 'arn:aws:states:us-east-1:123456789012:execution:orders:run-1';
const OTHER = 'arn:aws:states:us-east-1:123456789012:execution:orders:run-2';
const failure = (at: number, executionArn = ARN, redriveCount = 1): Extract<Observation, { kind: 'failure' }> => ({ kind: 'failure', at, executionArn, redriveCount });
const success = (at: number, redriveStartedAt: number | null, executionArn = OTHER, redriveCount = 2): Observation => ({ kind: 'success', at, executionArn, redriveCount, redriveStartedAt });

/** A state with `n` of `kind` counted at `at` (r: executions whose redrive failed again; s: redrives that succeeded; c: first failures, legacy). */
function counted(n: number, at: number, base: BreakerState = CLOSED_STATE, kind: CounterKind = 'r'): BreakerState {
  const name = counterName(at, S, kind);
  return { ...base, counts: { ...base.counts, [name]: (base.counts[name] ?? 0) + n } };
}

/** Failing since one confirmation period ago: the next failure with the evidence still there opens it. */
const failingFor = (state: BreakerState, at: number): BreakerState => ({ ...state, failingSince: at - confirmationMs(S, 0), opensAt: at });

function opened(at = T0): BreakerState {
  const s = step(failingFor(counted(2, at), at), failure(at), S);
  expect(s.state.status).toBe('open');
  return s.state;
}

const probe = (at: number, token = 'tok-1') => ({ executionArn: ARN, redriveCount: 0, token, startedAt: at });

function probing(at = T0): BreakerState {
  const open = opened(at);
  return step(open, { kind: 'probe-started', probe: probe(open.nextProbeAt!) }, S).state;
}

describe('the failure window', () => {
  test('six buckets per window, at least a second each; one counter family per kind of evidence (failed redrives by default)', () => {
    expect(bucketMs({ windowSeconds: 300 })).toBe(50_000);
    expect(bucketMs({ windowSeconds: 3 })).toBe(1000);
    expect(counterName(T0, S)).toBe(`r_50000_${Math.floor(T0 / 50_000)}`);
    expect(counterName(T0, S, 'c')).toBe(`c_50000_${Math.floor(T0 / 50_000)}`);
    expect(counterName(T0, S, 'r')).toBe(`r_50000_${Math.floor(T0 / 50_000)}`);
    expect(counterName(T0, S, 's')).toBe(`s_50000_${Math.floor(T0 / 50_000)}`);
  });

  test('counts only buckets of this window size that overlap the window, each kind on its own', () => {
    const state = {
      counts: {
        [counterName(T0, S, 'c')]: 2,
        [counterName(T0 - 200_000, S, 'c')]: 1,
        [counterName(T0 - 400_000, S, 'c')]: 7,
        [counterName(T0, S, 'r')]: 3,
        [counterName(T0 - 100_000, S, 'r')]: 1,
        [counterName(T0 - 400_000, S, 'r')]: 9,
        [counterName(T0 - 50_000, S, 's')]: 4,
        [counterName(T0 - 400_000, S, 's')]: 8,
        c_1000_5: 9,
        r_1000_5: 9,
        s_1000_5: 9,
        other: 3,
      },
    } as unknown as BreakerState;
    expect(failuresInWindow(state, T0, S)).toBe(3);
    expect(redriveFailuresInWindow(state, T0, S)).toBe(4);
    expect(redriveSuccessesInWindow(state, T0, S)).toBe(4);
    expect(staleCounters(state, T0, S).sort()).toEqual(
      [counterName(T0 - 400_000, S, 'c'), counterName(T0 - 400_000, S, 'r'), counterName(T0 - 400_000, S, 's'), 'c_1000_5', 'r_1000_5', 's_1000_5', 'other'].sort(),
    );
  });

  test('a failure is counted when it stopped; one that stopped before the window is not evidence of now', () => {
    expect(countingTime(T0 - 10_000, T0, S)).toBe(T0 - 10_000);
    expect(countingTime(T0 + 5_000, T0, S)).toBe(T0); // clock skew: not in the future
    expect(countingTime(null, T0, S)).toBe(T0);
    expect(countingTime(T0 - 300_000, T0, S)).toBeNull();
  });
});

describe('redrivesFailing: the opening condition', () => {
  const window = (r: number, s: number, c = 0) => counted(c, T0, counted(s, T0, counted(r, T0), 's'), 'c');

  test.each([
    // [failed redrives (distinct executions), successful redrives, failing?]
    [0, 0, false],
    [1, 0, false], // one execution: a poisoned one is a bug, not an outage
    [2, 0, true],
    [2, 1, false], // 1 success > 2 x 0.25
    [4, 1, true], // 1 <= 4 x 0.25: the boundary still counts as failing
    [4, 2, false],
    [8, 2, true],
    [8, 3, false],
    [20, 5, true],
    [20, 6, false],
  ])('%d failed redrives, %d successes -> %s', (r, s, expected) => {
    expect(redrivesFailing(window(r, s), T0, S)).toBe(expected);
  });

  test('the successes allowed are a quarter of the failed redrives', () => {
    expect(SUCCESSES_PER_FAILED_REDRIVE).toBe(0.25);
  });

  test('first failures (legacy c_ buckets) count for nothing, however many', () => {
    expect(redrivesFailing(window(0, 0, 10_000), T0, S)).toBe(false);
    expect(redrivesFailing(window(1, 0, 10_000), T0, S)).toBe(false);
  });

  test('the threshold is the policy\'s redriveFailureThreshold', () => {
    expect(redrivesFailing(window(2, 0), T0, { ...S, redriveFailureThreshold: 3 })).toBe(false);
    expect(redrivesFailing(window(3, 0), T0, { ...S, redriveFailureThreshold: 3 })).toBe(true);
  });

  test('another state machine open for the same specific error: one execution\'s failed redrive is enough, successes still count', () => {
    expect(redrivesFailing(window(1, 0), T0, S, true)).toBe(true);
    expect(redrivesFailing(window(0, 0), T0, S, true)).toBe(false);
    expect(redrivesFailing(window(1, 1), T0, S, true)).toBe(false);
    expect(step(counted(1, T0), { kind: 'failure', at: T0, executionArn: ARN, redriveCount: 1, siblingOpen: true }, S).state.status).toBe('open');
    expect(step(counted(1, T0), { kind: 'failure', at: T0, executionArn: ARN, redriveCount: 1 }, S).state.status).toBe('closed');
  });

  test('only evidence in the window counts: old failed redrives do not add up, old successes do not excuse new failures', () => {
    const old = counted(1, T0 - 400_000);
    expect(redrivesFailing(counted(1, T0, old), T0, S)).toBe(false);
    const oldSuccesses = counted(10, T0 - 400_000, CLOSED_STATE, 's');
    expect(redrivesFailing(counted(2, T0, oldSuccesses), T0, S)).toBe(true);
    expect(redrivesFailing(counted(2, T0, counted(10, T0 - 100_000, CLOSED_STATE, 's')), T0, S)).toBe(false);
  });
});

describe('closed', () => {
  test('below the threshold a failure passes and nothing is written', () => {
    const state = counted(1, T0);
    const s = step(state, failure(T0), S);
    expect(s).toEqual({ state, changed: false, effects: [{ kind: 'pass' }] });
    expect(verdictOf(s)).toBe('pass');
  });

  test('first failures alone never open it, whatever their number and the old threshold', () => {
    const state = counted(1_000, T0, CLOSED_STATE, 'c');
    const s = step(state, failure(T0, ARN, 0), S);
    expect(s).toEqual({ state, changed: false, effects: [{ kind: 'pass' }] });
    expect(step(state, failure(T0, ARN, 0), { ...S, threshold: 1 }).state.status).toBe('closed');
  });

  test('redrives of 2 distinct executions that failed again: failing (written once), open one confirmation later if still so, the opener held', () => {
    const one = counted(1, T0, counted(30, T0, CLOSED_STATE, 'c'));
    expect(step(one, failure(T0), S)).toMatchObject({ changed: false, effects: [{ kind: 'pass' }] });
    const two = counted(1, T0 + 60_000, one);
    const failing = step(two, { ...failure(T0 + 60_000, OTHER, 1), nextRedriveDelayMs: 4_000 }, S);
    expect(failing).toMatchObject({ changed: true, state: { status: 'closed', version: 1, failingSince: T0 + 60_000, opensAt: T0 + 94_000 } });
    expect(failing.effects).toEqual([{ kind: 'failing', opensAt: T0 + 94_000 }, { kind: 'pass' }]);
    // Before opensAt: failures pass, nothing written.
    expect(step(failing.state, failure(T0 + 93_999, OTHER, 1), S)).toEqual({ state: failing.state, changed: false, effects: [{ kind: 'pass' }] });
    const s = step(failing.state, failure(T0 + 94_000, OTHER, 1), S);
    expect(s.changed).toBe(true);
    expect(s.state).toMatchObject({
      status: 'open',
      version: 2,
      openedAt: T0 + 94_000,
      nextProbeAt: T0 + 124_000,
      probeIntervalMs: 30_000,
      probe: null,
      failedProbes: 0,
      firstFailure: { executionArn: OTHER, redriveCount: 1, at: T0 + 94_000 },
      failingSince: null,
      opensAt: null,
    });
    expect(s.effects).toEqual([{ kind: 'opened', failuresInWindow: 30, redriveFailuresInWindow: 2, redriveSuccessesInWindow: 0, reopened: false }, { kind: 'hold' }]);
    expect(verdictOf(s)).toBe('hold');
  });

  test('confirmation: the failed redrive\'s next redrive delay plus one probe interval, at most the window', () => {
    expect(confirmationMs(S, 0)).toBe(30_000);
    expect(confirmationMs(S, 120_000)).toBe(150_000);
    expect(confirmationMs(S, 3_600_000)).toBe(300_000);
    expect(confirmationMs({ windowSeconds: 600, probeIntervalSeconds: 5 }, -1)).toBe(5_000);
    // The policy's own wait wins, beyond the window too; 0 opens at first sight.
    expect(confirmationMs({ ...S, openAfterSeconds: 45 }, 120_000)).toBe(45_000);
    expect(confirmationMs({ ...S, openAfterSeconds: 900 }, 0)).toBe(900_000);
    const atOnce = step(counted(2, T0), failure(T0), { ...S, openAfterSeconds: 0 });
    expect(atOnce.state).toMatchObject({ status: 'open', openedAt: T0, failingSince: null });
    expect(verdictOf(atOnce)).toBe('hold');
  });

  test('failing, then successes: it does not open, and the suspicion is dropped (by a success or the next failure)', () => {
    const failing = step(counted(2, T0), failure(T0), S).state;
    expect(failing.failingSince).toBe(T0);
    // Flaky: successes arrive one backoff later, before opensAt.
    const later = counted(1, T0 + 10_000, failing, 's');
    const bySuccess = step(later, success(T0 + 10_000, T0 + 5_000), S);
    expect(bySuccess).toMatchObject({ changed: true, state: { status: 'closed', failingSince: null, opensAt: null, version: failing.version + 1 }, effects: [] });
    const byFailure = step(later, failure(T0 + 40_000), S);
    expect(byFailure).toMatchObject({ changed: true, state: { status: 'closed', failingSince: null, opensAt: null }, effects: [{ kind: 'pass' }] });
    // Too few successes (at most a quarter of the failed redrives) change nothing.
    const few = counted(1, T0 + 10_000, counted(8, T0 + 10_000, failing), 's');
    expect(step(few, success(T0 + 10_000, T0 + 5_000), S)).toMatchObject({ changed: false, effects: [{ kind: 'ignored' }] });
    expect(step(few, failure(T0 + 30_000), S).state.status).toBe('open');
  });

  test('a suspicion whose wait ended over a window ago starts afresh (it does not open on evidence seen long ago)', () => {
    // Its wait ended 200 s ago (less than the window): the next failure still opens it.
    expect(step({ ...counted(2, T0), failingSince: T0 - 500_000, opensAt: T0 - 200_000 }, failure(T0), S).state.status).toBe('open');
    const old = { ...counted(2, T0), failingSince: T0 - 331_000, opensAt: T0 - 301_000 };
    const s = step(old, failure(T0), S);
    expect(s.state).toMatchObject({ status: 'closed', failingSince: T0, opensAt: T0 + 30_000 });
    expect(verdictOf(s)).toBe('pass');
  });

  test('another state machine\'s open breaker for the same specific error (a confirmed shared outage) opens it at once', () => {
    const s = step(counted(1, T0), { ...failure(T0), siblingOpen: true, nextRedriveDelayMs: 600_000 }, S);
    expect(s.state).toMatchObject({ status: 'open', openedAt: T0 });
    expect(verdictOf(s)).toBe('hold');
  });

  test('a first failure seen once the window is failing is held too (it opens the breaker)', () => {
    const s = step(failingFor(counted(2, T0), T0), failure(T0, OTHER, 0), S);
    expect(s.state).toMatchObject({ status: 'open', firstFailure: { executionArn: OTHER, redriveCount: 0 } });
    expect(verdictOf(s)).toBe('hold');
  });

  test('one execution failing again and again (counted once per window, as the event path does) never opens it', () => {
    // The event path counts an execution's failed redrive only when none of its earlier
    // failed redrives is in the window (lambda/act/breaker-gate.ts).
    let state = CLOSED_STATE;
    let lastFailedRedrive = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < 120; i++) {
      const at = T0 + i * 30_000; // an hour, its redrive failing again every 30 s
      if (lastFailedRedrive <= at - S.windowSeconds * 1000) state = counted(1, at, state);
      lastFailedRedrive = at;
      const s = step(state, failure(at, ARN, i + 1), S);
      expect(s.effects).toEqual([{ kind: 'pass' }]);
      state = s.state;
    }
    expect(redriveFailuresInWindow(state, T0 + 119 * 30_000, S)).toBe(0); // counted once, at the start
  });

  test('flaky executions whose redrives succeed more than a quarter of the time keep it closed; an outage with few successes opens it', () => {
    // 8 executions' redrives failed again in the window; 3 of their redrives succeeded.
    const flaky = counted(3, T0 + 10_000, counted(8, T0), 's');
    const s = step(flaky, failure(T0 + 10_000), S);
    expect(s).toEqual({ state: flaky, changed: false, effects: [{ kind: 'pass' }] });
    // The same failures with 2 successes: at most a quarter, failing.
    const outage = failingFor(counted(2, T0 + 10_000, counted(8, T0), 's'), T0 + 10_000);
    const o = step(outage, failure(T0 + 10_000), S);
    expect(o.state.status).toBe('open');
    expect(o.effects[0]).toEqual({ kind: 'opened', failuresInWindow: 0, redriveFailuresInWindow: 8, redriveSuccessesInWindow: 2, reopened: false });
  });

  test('defaults: an hour of flaky executions (2 failed redrives and 1 success a minute) stays closed; 2 failed redrives without successes open it', () => {
    const D = BREAKER_DEFAULTS;
    const add = (state: BreakerState, at: number, kind: CounterKind, n = 1) => {
      const name = counterName(at, D, kind);
      return { ...state, counts: { ...state.counts, [name]: (state.counts[name] ?? 0) + n } };
    };
    let state = CLOSED_STATE;
    for (let i = 0; i < 120; i++) {
      const at = T0 + i * 30_000;
      state = add(add(state, at, 'r'), at, 'c', 5); // a failed redrive of a new execution every 30 s, and first failures
      if (i % 2 === 0) state = add(state, at, 's'); // a redrive succeeding every minute
      const s = step(state, failure(at, `${ARN}-${i}`), D);
      expect([i, s.state.status]).toEqual([i, 'closed']);
      state = s.state;
    }
    expect(step(failingFor(add(CLOSED_STATE, T0, 'r', 2), T0), failure(T0), D).state.status).toBe('open');
  });

  test('redrive failures spread wider than the window never open it', () => {
    let state = CLOSED_STATE;
    for (let i = 0; i < 20; i++) {
      const at = T0 + i * 400_000; // one every 400 s: never 2 in any window of 300 s (+ one bucket)
      state = counted(1, at, state);
      expect(redriveFailuresInWindow(state, at, S)).toBe(1);
      const s = step(state, failure(at, `${ARN}-${i}`), S);
      expect(s.state.status).toBe('closed');
      state = s.state;
    }
  });

  test('opening drops stale counters from the stored state', () => {
    const s = step(counted(2, T0, counted(3, T0 - 1_000_000, counted(4, T0 - 1_000_000, CLOSED_STATE, 's'))), failure(T0), S);
    expect(Object.keys(s.state.counts)).toEqual([counterName(T0, S, 'r')]);
  });
});

describe('open', () => {
  test('a failure is held and nothing is written', () => {
    expect(step(opened(), failure(T0 + 1), S)).toMatchObject({ changed: false, effects: [{ kind: 'hold' }] });
    expect(step(opened(), failure(T0 + 1, OTHER, 0), S)).toMatchObject({ changed: false, effects: [{ kind: 'hold' }] });
  });

  test('a probe starts only when due, only one at a time', () => {
    const open = opened();
    expect(step(open, { kind: 'probe-started', probe: probe(open.nextProbeAt! - 1) }, S).effects).toEqual([{ kind: 'ignored', why: 'the next probe is not due yet' }]);
    const started = step(open, { kind: 'probe-started', probe: probe(open.nextProbeAt!) }, S);
    expect(started).toMatchObject({ changed: true, state: { probe: probe(open.nextProbeAt!), version: open.version + 1 }, effects: [{ kind: 'probe', outcome: 'started' }] });
    expect(step(started.state, { kind: 'probe-started', probe: probe(open.nextProbeAt! + 1, 'tok-2') }, S).effects[0]).toMatchObject({ kind: 'ignored' });
  });

  test('probe succeeded: releasing, counting starts afresh', () => {
    const s = step(counted(3, T0 + 40_000, probing()), { kind: 'probe-result', token: 'tok-1', outcome: 'succeeded', at: T0 + 45_000 }, S);
    expect(s.state).toMatchObject({ status: 'releasing', closedAt: T0 + 45_000, closeReason: 'probe-succeeded', probe: null, nextProbeAt: null, counts: {} });
    expect(s.effects).toEqual([{ kind: 'probe', outcome: 'succeeded' }, { kind: 'closed', reason: 'probe-succeeded' }]);
  });

  test('probe failed with another error: releasing (the outage that opened it is over)', () => {
    const s = step(probing(), { kind: 'probe-result', token: 'tok-1', outcome: 'different-error', at: T0 + 45_000 }, S);
    expect(s.state).toMatchObject({ status: 'releasing', closeReason: 'probe-different-error' });
  });

  test('probe failed with the same error: open, the interval doubles up to the cap', () => {
    let state = probing();
    const intervals: number[] = [];
    for (let i = 0; i < 6; i++) {
      const at = state.probe!.startedAt + 20_000;
      const s = step(state, { kind: 'probe-result', token: state.probe!.token, outcome: 'same-error', at }, S);
      expect(s.state).toMatchObject({ status: 'open', probe: null, failedProbes: i + 1, nextProbeAt: at + s.state.probeIntervalMs! });
      intervals.push(s.state.probeIntervalMs!);
      state = step(s.state, { kind: 'probe-started', probe: probe(s.state.nextProbeAt!, `tok-${i + 2}`) }, S).state;
    }
    expect(intervals).toEqual([60_000, 120_000, 240_000, 240_000, 240_000, 240_000]);
  });

  test('inconclusive (only older versions report it): the interval doubles, not counted as a failed probe', () => {
    const s = step(probing(), { kind: 'probe-result', token: 'tok-1', outcome: 'inconclusive', at: T0 + 1_000_000 }, S);
    expect(s.state).toMatchObject({ status: 'open', probe: null, failedProbes: 0, probeIntervalMs: 60_000, nextProbeAt: T0 + 1_060_000 });
  });

  test('never started (rejected, crashed): the next probe may start at once', () => {
    const s = step(probing(), { kind: 'probe-result', token: 'tok-1', outcome: 'not-started', at: T0 + 31_000 }, S);
    expect(s.state).toMatchObject({ status: 'open', probe: null, nextProbeAt: T0 + 31_000, probeIntervalMs: 30_000 });
  });

  test('a result for another probe (stale token, or already reported by the other path) changes nothing', () => {
    const state = probing();
    for (const outcome of ['succeeded', 'same-error', 'different-error', 'inconclusive', 'not-started'] as const) {
      expect(step(state, { kind: 'probe-result', token: 'tok-old', outcome, at: T0 + 50_000 }, S)).toEqual({ state, changed: false, effects: [{ kind: 'ignored', why: 'not the probe in flight' }] });
    }
    const reported = step(state, { kind: 'probe-result', token: 'tok-1', outcome: 'same-error', at: T0 + 50_000 }, S).state;
    expect(step(reported, { kind: 'probe-result', token: 'tok-1', outcome: 'succeeded', at: T0 + 51_000 }, S).changed).toBe(false);
  });

  test('a group with the same error recovered after this one last learned anything: the next probe is due now, once', () => {
    const open = opened(); // opened at T0, next probe at T0 + 30 s
    const recovered = { kind: 'sibling-recovered', recoveredAt: T0 + 10_000, at: T0 + 12_000 } as const;
    const s = step(open, recovered, S);
    expect(s).toMatchObject({ changed: true, state: { status: 'open', nextProbeAt: T0 + 12_000, probeIntervalMs: 30_000, version: open.version + 1 }, effects: [{ kind: 'advanced' }] });
    // Already due: nothing to bring forward (the same recovery seen again changes nothing).
    expect(step(s.state, { ...recovered, at: T0 + 13_000 }, S).effects).toEqual([{ kind: 'ignored', why: 'the next probe is already due' }]);
    // After a probe of its own failed again, an older recovery says nothing new; a newer one does.
    const failedAgain = step(probing(), { kind: 'probe-result', token: 'tok-1', outcome: 'same-error', at: T0 + 50_000 }, S).state; // next probe at T0 + 110 s
    expect(step(failedAgain, { ...recovered, at: T0 + 60_000 }, S).effects).toEqual([{ kind: 'ignored', why: 'this group learned more recently than the recovery' }]);
    expect(step(failedAgain, { kind: 'sibling-recovered', recoveredAt: T0 + 55_000, at: T0 + 60_000 }, S).state.nextProbeAt).toBe(T0 + 60_000);
    // Opened after the recovery: its own failures are newer evidence.
    expect(step(open, { kind: 'sibling-recovered', recoveredAt: T0 - 1, at: T0 + 5_000 }, S).changed).toBe(false);
    // A probe in flight, or not open: ignored.
    expect(step(probing(), recovered, S).effects).toEqual([{ kind: 'ignored', why: 'a probe is in flight' }]);
    expect(step(CLOSED_STATE, recovered, S).effects).toEqual([{ kind: 'ignored', why: 'breaker is closed' }]);
  });

  test('no held failure to probe: releasing (they go through decide(), which gives up the exhausted ones)', () => {
    expect(step(opened(), { kind: 'no-probe-candidate', at: T0 + 30_000 }, S).state).toMatchObject({ status: 'releasing', closeReason: 'no-probe-candidate' });
    expect(step(probing(), { kind: 'no-probe-candidate', at: T0 + 30_000 }, S).changed).toBe(false);
  });

  test('breaker turned off in the policy, or released by hand: releasing', () => {
    expect(step(opened(), { kind: 'disabled', at: T0 + 1 }, S).state).toMatchObject({ status: 'releasing', closeReason: 'breaker-disabled' });
    expect(step(probing(), { kind: 'closed-by-hand', at: T0 + 1 }, S).state).toMatchObject({ status: 'releasing', closeReason: 'released-by-hand', probe: null });
  });
});

describe('a redrive succeeded (its SUCCEEDED event)', () => {
  test('the probe\'s redrive succeeded: releasing with probe-succeeded, as if the drain had reported it; the drain\'s later report is ignored', () => {
    const state = counted(1, T0 + 40_000, probing());
    const p = state.probe!;
    const s = step(state, success(T0 + 50_000, p.startedAt + 100, p.executionArn, p.redriveCount + 1), S);
    expect(s.changed).toBe(true);
    expect(s.state).toMatchObject({ status: 'releasing', version: state.version + 1, closedAt: T0 + 50_000, closeReason: 'probe-succeeded', probe: null, nextProbeAt: null, counts: {} });
    expect(s.effects).toEqual([{ kind: 'probe', outcome: 'succeeded' }, { kind: 'closed', reason: 'probe-succeeded' }]);
    expect(step(s.state, { kind: 'probe-result', token: p.token, outcome: 'succeeded', at: T0 + 60_000 }, S)).toMatchObject({ changed: false, effects: [{ kind: 'ignored' }] });
  });

  test('a redrive that started after the opening succeeded: releasing with redrive-succeeded (a probe in flight is dropped)', () => {
    const open = opened();
    const s = step(open, success(T0 + 20_000, T0 + 1), S);
    expect(s.state).toMatchObject({ status: 'releasing', version: open.version + 1, closedAt: T0 + 20_000, closeReason: 'redrive-succeeded', probe: null, nextProbeAt: null, counts: {} });
    expect(s.effects).toEqual([{ kind: 'closed', reason: 'redrive-succeeded' }]);
    const whileProbing = step(probing(), success(T0 + 40_000, T0 + 35_000), S);
    expect(whileProbing.state).toMatchObject({ status: 'releasing', closeReason: 'redrive-succeeded', probe: null });
    expect(whileProbing.effects).toEqual([{ kind: 'closed', reason: 'redrive-succeeded' }]);
  });

  test('the probe execution redriven again by hand since, then succeeded after the opening: redrive-succeeded (not the probe\'s redrive)', () => {
    const state = probing();
    const s = step(state, success(T0 + 60_000, T0 + 55_000, ARN, 3), S);
    expect(s.state).toMatchObject({ status: 'releasing', closeReason: 'redrive-succeeded' });
    expect(s.effects).toEqual([{ kind: 'closed', reason: 'redrive-succeeded' }]);
  });

  test('a redrive that started before the opening (it may have passed the failing step before the outage), or at an unknown time, is ignored', () => {
    const state = probing();
    for (const startedAt of [T0 - 1, T0 - 3_600_000, null]) {
      expect(step(state, success(T0 + 50_000, startedAt), S)).toEqual({ state, changed: false, effects: [{ kind: 'ignored', why: 'the redrive started before the breaker opened' }] });
    }
    // Not the probe: same execution, another redrive that started before the opening.
    expect(step(state, success(T0 + 50_000, T0 - 10, ARN, 5), S).changed).toBe(false);
  });

  test('once the failed redrives that opened it have left the window, a success of a redrive started before the opening weighs against nothing: ignored (probes decide)', () => {
    const open = opened(); // 2 failed redrives counted at T0
    const withSuccesses = counted(5, T0 + 400_000, open, 's');
    expect(redriveFailuresInWindow(withSuccesses, T0 + 400_000, S)).toBe(0);
    expect(step(withSuccesses, success(T0 + 400_000, T0 - 1), S)).toEqual({ state: withSuccesses, changed: false, effects: [{ kind: 'ignored', why: 'the redrive started before the breaker opened' }] });
    // Within the window, enough successes still outweigh them (flaky, not an outage).
    const soon = counted(1, T0 + 10_000, open, 's');
    expect(step(soon, success(T0 + 10_000, T0 - 1), S).state).toMatchObject({ status: 'releasing', closeReason: 'redrive-succeeded' });
  });

  test('not open: ignored (closed or releasing; a success is counted by the event path, not by step)', () => {
    expect(step(CLOSED_STATE, success(T0, T0 - 1), S)).toEqual({ state: CLOSED_STATE, changed: false, effects: [{ kind: 'ignored', why: 'breaker is closed' }] });
    const failing = counted(1, T0);
    expect(step(failing, success(T0, T0), S)).toEqual({ state: failing, changed: false, effects: [{ kind: 'ignored', why: 'breaker is closed' }] });
    const releasing = step(probing(), { kind: 'probe-result', token: 'tok-1', outcome: 'succeeded', at: T0 + 45_000 }, S).state;
    expect(step(releasing, success(T0 + 50_000, T0 + 46_000, ARN, 1), S)).toEqual({ state: releasing, changed: false, effects: [{ kind: 'ignored', why: 'breaker is releasing' }] });
  });
});

describe('releasing', () => {
  const releasing = () => step(probing(), { kind: 'probe-result', token: 'tok-1', outcome: 'succeeded', at: T0 + 45_000 }, S).state;

  test('failures pass while the window fills again', () => {
    expect(step(counted(1, T0 + 50_000, releasing()), failure(T0 + 50_000), S).effects).toEqual([{ kind: 'pass' }]);
    expect(step(counted(100, T0 + 50_000, releasing(), 'c'), failure(T0 + 50_000, ARN, 0), S).effects).toEqual([{ kind: 'pass' }]);
  });

  test('it opens again when redrives fail again, probing again after the first interval (the last probe did succeed)', () => {
    const again = step(failingFor(counted(2, T0 + 50_000, releasing()), T0 + 50_000), failure(T0 + 50_000), S);
    expect(again.state).toMatchObject({ status: 'open', openedAt: T0 + 50_000, probeIntervalMs: 30_000, nextProbeAt: T0 + 80_000, closedAt: null, closeReason: null, failedProbes: 0 });
    expect(again.effects[0]).toEqual({ kind: 'opened', failuresInWindow: 0, redriveFailuresInWindow: 2, redriveSuccessesInWindow: 0, reopened: true });
  });

  test('closed for good only after the grace period (a hold decided just before the close is still found)', () => {
    const s = releasing();
    expect(step(s, { kind: 'release-finished', at: s.closedAt! + RELEASE_GRACE_MS - 1 }, S).changed).toBe(false);
    const done = step(s, { kind: 'release-finished', at: s.closedAt! + RELEASE_GRACE_MS }, S);
    expect(done).toMatchObject({ changed: true, state: { status: 'closed' }, effects: [{ kind: 'finished' }] });
    expect(step(done.state, { kind: 'release-finished', at: T0 + 10 * RELEASE_GRACE_MS }, S).changed).toBe(false);
  });

  test('observations that need an open breaker are ignored', () => {
    const s = releasing();
    for (const obs of [
      { kind: 'probe-started', probe: probe(T0 + 100_000) },
      { kind: 'no-probe-candidate', at: T0 + 100_000 },
      { kind: 'disabled', at: T0 + 100_000 },
      { kind: 'closed-by-hand', at: T0 + 100_000 },
      { kind: 'success', at: T0 + 100_000, executionArn: OTHER, redriveCount: 1, redriveStartedAt: T0 + 90_000 },
    ] as Observation[]) {
      expect(step(s, obs, S).changed).toBe(false);
    }
  });
});

describe('what DescribeExecution says about a probe', () => {
  const group = { errorName: 'Lambda.ServiceException' };
  const p = probe(T0);
  const view = (status: string, redriveCount: number, error: string | null = null) => ({ status, redriveCount, error });
  const outcome = (current: ReturnType<typeof view> | undefined, now = T0 + 10_000) => probeOutcomeOf(group, p, current, now, 180_000);

  test.each([
    ['the execution is gone', undefined, 'not-started'],
    ['not redriven yet (the answer lags, or the starter crashed): wait', view('FAILED', 0, 'Lambda.ServiceException'), 'running'],
    ['running', view('RUNNING', 1), 'running'],
    ['succeeded', view('SUCCEEDED', 1), 'succeeded'],
    ['failed again, same error', view('FAILED', 1, 'Lambda.ServiceException'), 'same-error'],
    ['failed again, another error', view('FAILED', 1, 'States.TaskFailed'), 'different-error'],
    ['timed out (no error name: States.Timeout)', view('TIMED_OUT', 1), 'different-error'],
    ['redriven again since (by hand) and succeeded', view('SUCCEEDED', 3), 'succeeded'],
  ] as const)('%s', (_label, current, expected) => {
    expect(outcome(current)).toBe(expected);
  });

  test('never redriven after the claim timeout: not started; still running however long (a long workflow): running, never inconclusive', () => {
    expect(outcome(view('FAILED', 0, 'Lambda.ServiceException'), T0 + 180_001)).toBe('not-started');
    expect(outcome(view('RUNNING', 1), T0 + 900_001)).toBe('running');
    expect(outcome(view('RUNNING', 1), T0 + 13 * 24 * 3_600_000)).toBe('running');
  });
});

describe('probeCheckDue: when the drain asks Step Functions about a running probe', () => {
  const p = probe(T0);
  const MIN = 60_000;
  /** Ages (ms) at which a drain running every minute from `offset` after the start checks the probe, up to `hours`. */
  const checks = (hours: number, offset = 0, settings = S) => {
    const ages: number[] = [];
    for (let age = offset; age <= hours * 3_600_000; age += MIN) if (probeCheckDue(p, T0 + age, settings)) ages.push(age);
    return ages;
  };
  const gaps = (ages: number[]) => ages.slice(1).map((a, i) => a - ages[i]);

  test('every run within probeTimeoutSeconds', () => {
    for (let age = 0; age <= S.probeTimeoutSeconds * 1000; age += 7_000) expect([age, probeCheckDue(p, T0 + age, S)]).toEqual([age, true]);
    expect(checks(0.25)).toHaveLength(16); // ages 0 .. 15 min
    const short = { ...S, probeTimeoutSeconds: 120 };
    expect(probeCheckDue(p, T0 + 120_000, short)).toBe(true);
  });

  test('between probeTimeoutSeconds and 2 h it is checked about every eighth of its age, not every run', () => {
    // From 15 to 30 min an eighth of the age is about 2-4 min: fewer than 10 of the 15 runs check.
    expect(checks(0.5).filter((a) => a > 15 * MIN).length).toBeLessThan(10);
    // In the second hour an eighth of the age is 7.5-15 min: at most 8 checks.
    expect(checks(2).filter((a) => a > 3_600_000).length).toBeLessThanOrEqual(8);
  });

  test('never more than 15 minutes apart, however long it runs (a workflow of days), whatever the drain\'s phase', () => {
    for (const offset of [0, 1_000, 29_000, 59_999]) {
      const ages = checks(72, offset);
      expect(Math.max(...gaps(ages))).toBeLessThanOrEqual(15 * MIN);
      expect(ages[ages.length - 1]).toBeGreaterThan(72 * 3_600_000 - 15 * MIN);
    }
  });

  test('sparser as it ages: a day-old probe is checked about every 15 minutes, not every run', () => {
    const day2 = checks(48).filter((a) => a > 24 * 3_600_000);
    expect(day2.length).toBeGreaterThanOrEqual(24 * 4 - 1);
    expect(day2.length).toBeLessThanOrEqual(24 * 4 + 1);
    expect(Math.min(...gaps(day2))).toBeGreaterThanOrEqual(14 * MIN);
  });

  test('a drain running less often than a minute (tickMs) still sees it at least every 15 minutes', () => {
    const tick = 5 * MIN;
    const ages: number[] = [];
    for (let age = 0; age <= 24 * 3_600_000; age += tick) if (probeCheckDue(p, T0 + age, S, tick)) ages.push(age);
    expect(Math.max(...gaps(ages))).toBeLessThanOrEqual(15 * MIN);
  });
});

test('the hold detail names the group, the open time and the next probe', () => {
  const open = opened();
  expect(holdDetail('orders / Lambda.ServiceException', open, T0, S)).toMatch(
    new RegExp(
      `^breaker open for orders / Lambda\\.ServiceException since ${new Date(T0).toISOString().replace(/\./g, '\\.')} \\(.*2\\+ .*redrives failed again.* within 300s\\); ` +
        `held, not redriven, no redrive used; next probe at ${new Date(T0 + 30_000).toISOString().replace(/\./g, '\\.')}; released when a probe succeeds$`,
    ),
  );
  const inFlight = probing();
  expect(holdDetail('g', inFlight, T0 + 40_000, S)).toContain(`probe ${ARN} in flight`);
  expect(holdDetail('g', { ...open, nextProbeAt: T0 }, T0 + 1, S)).toContain('next probe when the drain runs');
});

test('the hold detail does not say that first failures (threshold) open the breaker', () => {
  expect(holdDetail('orders / Lambda.ServiceException', opened(), T0, S)).not.toContain('executions failed, or');
});
