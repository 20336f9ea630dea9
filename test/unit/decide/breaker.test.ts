/**
 * The breaker's pure state machine (lambda/decide/breaker.ts), one test per transition and
 * per refusal, and the window arithmetic it rests on.
 */
import { RELEASE_GRACE_MS } from '../../../contract/breaker';
import { BREAKER_DEFAULTS } from '../../../contract/policy-schema';
import {
  type BreakerState,
  bucketMs,
  CLOSED_STATE,
  counterName,
  countingTime,
  failuresInWindow,
  redriveFailuresInWindow,
  holdDetail,
  type Observation,
  probeOutcomeOf,
  staleCounters,
  step,
  verdictOf,
} from '../../../lambda/decide/breaker';

const S = { ...BREAKER_DEFAULTS, threshold: 5, windowSeconds: 300 }; // threshold 5 (or 2 redrives failed again) in 300 s, probes 30 s doubling to 240 s
const T0 = 1_700_000_000_000;
const ARN = 'arn:aws:states:us-east-1:123456789012:execution:orders:run-1';
const failure = (at: number, executionArn = ARN): Observation => ({ kind: 'failure', at, executionArn, redriveCount: 0 });

/** A state with `n` failures counted at `at`. */
function counted(n: number, at: number, base: BreakerState = CLOSED_STATE, kind: 'c' | 'r' = 'c'): BreakerState {
  const name = counterName(at, S, kind);
  return { ...base, counts: { ...base.counts, [name]: (base.counts[name] ?? 0) + n } };
}

function opened(at = T0): BreakerState {
  const s = step(counted(5, at), failure(at), S);
  expect(s.state.status).toBe('open');
  return s.state;
}

const probe = (at: number, token = 'tok-1') => ({ executionArn: ARN, redriveCount: 0, token, startedAt: at });

function probing(at = T0): BreakerState {
  const open = opened(at);
  return step(open, { kind: 'probe-started', probe: probe(open.nextProbeAt!) }, S).state;
}

describe('the failure window', () => {
  test('six buckets per window, at least a second each', () => {
    expect(bucketMs({ windowSeconds: 300 })).toBe(50_000);
    expect(bucketMs({ windowSeconds: 3 })).toBe(1000);
    expect(counterName(T0, S)).toBe(`c_50000_${Math.floor(T0 / 50_000)}`);
  });

  test('counts only buckets of this window size that overlap the window', () => {
    const state = { counts: { [counterName(T0, S)]: 2, [counterName(T0 - 200_000, S)]: 1, [counterName(T0 - 400_000, S)]: 7, c_1000_5: 9, other: 3 } } as unknown as BreakerState;
    expect(failuresInWindow(state, T0, S)).toBe(3);
    expect(staleCounters(state, T0, S).sort()).toEqual([counterName(T0 - 400_000, S), 'c_1000_5', 'other'].sort());
  });

  test('a failure is counted when it stopped; one that stopped before the window is not evidence of now', () => {
    expect(countingTime(T0 - 10_000, T0, S)).toBe(T0 - 10_000);
    expect(countingTime(T0 + 5_000, T0, S)).toBe(T0); // clock skew: not in the future
    expect(countingTime(null, T0, S)).toBe(T0);
    expect(countingTime(T0 - 300_000, T0, S)).toBeNull();
  });
});

describe('closed', () => {
  test('below the threshold a failure passes and nothing is written', () => {
    const s = step(counted(4, T0), failure(T0), S);
    expect(s).toMatchObject({ changed: false, effects: [{ kind: 'pass' }] });
    expect(verdictOf(s)).toBe('pass');
  });

  test('at the threshold it opens: version+1, first probe one interval later, the opener held', () => {
    const s = step(counted(5, T0), failure(T0), S);
    expect(s.changed).toBe(true);
    expect(s.state).toMatchObject({
      status: 'open',
      version: 1,
      openedAt: T0,
      nextProbeAt: T0 + 30_000,
      probeIntervalMs: 30_000,
      probe: null,
      failedProbes: 0,
      firstFailure: { executionArn: ARN, redriveCount: 0, at: T0 },
    });
    expect(s.effects).toEqual([{ kind: 'opened', failuresInWindow: 5, redriveFailuresInWindow: 0, reopened: false }, { kind: 'hold' }]);
    expect(verdictOf(s)).toBe('hold');
  });

  test('redrives of 2 distinct executions that failed again open it, with few first failures', () => {
    const one = counted(1, T0, counted(2, T0), 'r');
    expect(step(one, failure(T0), S)).toMatchObject({ changed: false, effects: [{ kind: 'pass' }] });
    const two = counted(1, T0 + 60_000, one, 'r');
    const s = step(two, failure(T0 + 60_000), S);
    expect(s.state.status).toBe('open');
    expect(s.effects).toEqual([{ kind: 'opened', failuresInWindow: 2, redriveFailuresInWindow: 2, reopened: false }, { kind: 'hold' }]);
  });

  test('redrive failures spread wider than the window never open it', () => {
    const old = counted(1, T0, CLOSED_STATE, 'r');
    const later = T0 + 400_000;
    expect(redriveFailuresInWindow(counted(1, later, old, 'r'), later, S)).toBe(1);
    expect(step(counted(1, later, old, 'r'), failure(later), S).state.status).toBe('closed');
  });

  test('defaults: a trickle of 2 independent failures a minute (10 per 5-minute window) stays closed; a burst of 20 opens it', () => {
    const D = BREAKER_DEFAULTS;
    let state = CLOSED_STATE;
    for (let i = 0; i < 120; i++) {
      const at = T0 + i * 30_000; // an hour, one first failure every 30 s, redrives succeed
      const name = counterName(at, D);
      state = step({ ...state, counts: { ...state.counts, [name]: (state.counts[name] ?? 0) + 1 } }, failure(at), D).state;
      expect(state.status).toBe('closed');
    }
    const burst = { ...CLOSED_STATE, counts: { [counterName(T0, D)]: D.threshold } };
    expect(step(burst, failure(T0), D).state.status).toBe('open');
  });

  test('failures spread wider than the window never open it', () => {
    let state = CLOSED_STATE;
    for (let i = 0; i < 20; i++) {
      const at = T0 + i * 100_000; // one every 100 s: at most 3-4 in any 300 s
      state = counted(1, at, state);
      const s = step(state, failure(at), S);
      expect(s.state.status).toBe('closed');
      state = s.state;
    }
  });

  test('opening drops stale counters from the stored state', () => {
    const s = step(counted(5, T0, counted(3, T0 - 1_000_000)), failure(T0), S);
    expect(Object.keys(s.state.counts)).toEqual([counterName(T0, S)]);
  });
});

describe('open', () => {
  test('a failure is held and nothing is written', () => {
    expect(step(opened(), failure(T0 + 1), S)).toMatchObject({ changed: false, effects: [{ kind: 'hold' }] });
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

  test('inconclusive (still running after probeTimeout): the interval doubles, not counted as a failed probe', () => {
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

describe('releasing', () => {
  const releasing = () => step(probing(), { kind: 'probe-result', token: 'tok-1', outcome: 'succeeded', at: T0 + 45_000 }, S).state;

  test('failures pass while the window fills again', () => {
    expect(step(counted(4, T0 + 50_000, releasing()), failure(T0 + 50_000), S).effects).toEqual([{ kind: 'pass' }]);
  });

  test('it opens again at the threshold, probing again after the first interval (the last probe did succeed)', () => {
    const again = step(counted(5, T0 + 50_000, releasing()), failure(T0 + 50_000), S);
    expect(again.state).toMatchObject({ status: 'open', probeIntervalMs: 30_000, nextProbeAt: T0 + 80_000, closedAt: null, closeReason: null, failedProbes: 0 });
    expect(again.effects[0]).toEqual({ kind: 'opened', failuresInWindow: 5, redriveFailuresInWindow: 0, reopened: true });
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

test('the hold detail names the group, the open time and the next probe', () => {
  const open = opened();
  expect(holdDetail('orders / Lambda.ServiceException', open, T0, S)).toBe(
    `breaker open for orders / Lambda.ServiceException since ${new Date(T0).toISOString()} (5+ executions failed, or 2+ redrives failed again, within 300s); ` +
      `held, not redriven, no redrive used; next probe at ${new Date(T0 + 30_000).toISOString()}; released when a probe succeeds`,
  );
});
