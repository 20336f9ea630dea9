import { decide } from '../../../lambda/decide/decide';
import { delaySeconds, jitterFraction } from '../../../lambda/decide/backoff';
import { SKIP_REASONS, type CurrentExecution, type Decision, type ExecutionFacts, type PolicyResolution, type SkipReason } from '../../../lambda/decide/decision';
import type { StatusChange } from '../../../lambda/event/status-change';
import { InvalidPolicyError, type RedrivePolicy } from '../../../contract/policy-schema';
import { EXECUTION_ARN, facts, fixtureEvent, policy, STATE_MACHINE_ARN } from '../helpers';

const found = (overrides: Partial<RedrivePolicy> = {}): PolicyResolution => ({ kind: 'found', policy: policy({ key: STATE_MACHINE_ARN, jitter: 'NONE', ...overrides }) });
const STOP0 = 1700116682923; // fixture 01 stopDate
const STOP1 = 1700116751634; // fixture 03
const STOP2 = 1700116856509; // fixture 04

const current = (overrides: Partial<CurrentExecution> = {}): CurrentExecution => ({
  status: 'FAILED',
  redriveCount: 0,
  redriveStatus: 'REDRIVABLE',
  redriveStatusReason: null,
  stopDate: STOP0,
  error: 'Lambda.AWSLambdaException',
  ...overrides,
});

function expectSkip(d: Decision, reason: SkipReason): void {
  expect(d.decision).toBe('skip');
  expect(d.reason).toBe(reason);
  expect(d.detail.length).toBeGreaterThan(0);
}

describe('decide: redrive and redrive-later with the real events', () => {
  it('01 (FAILED, count 0): backoff from stopDate -> redrive-later', () => {
    const now = STOP0 + 1_000;
    const d = decide(fixtureEvent('failed0'), found(), facts(), now);
    expect(d).toEqual({
      decision: 'redrive-later',
      reason: 'backoff',
      policyKey: STATE_MACHINE_ARN,
      redriveCount: 0,
      errorName: 'Lambda.AWSLambdaException',
      delaySeconds: 59,
      dueAt: STOP0 + 60_000,
      detail: "redrive 1 of 3 (error Lambda.AWSLambdaException matches 'States.ALL') in 59s (backoff 60s from the failure)",
    });
  });

  it('03 (count 1) and 04 (count 2) back off exponentially', () => {
    const d1 = decide(fixtureEvent('failed1'), found(), facts(), STOP1);
    expect(d1).toMatchObject({ decision: 'redrive-later', redriveCount: 1, delaySeconds: 120, dueAt: STOP1 + 120_000 });
    expect(d1.detail).toContain('redrive 2 of 3');
    const d2 = decide(fixtureEvent('failed2'), found(), facts(), STOP2);
    expect(d2).toMatchObject({ decision: 'redrive-later', redriveCount: 2, delaySeconds: 240, dueAt: STOP2 + 240_000 });
    expect(d2.detail).toContain('redrive 3 of 3');
  });

  it('late event: backoff measured from stopDate, already elapsed -> redrive now (no-delay)', () => {
    const d = decide(fixtureEvent('failed0'), found(), facts(), STOP0 + 60_000);
    expect(d).toEqual({
      decision: 'redrive',
      reason: 'no-delay',
      policyKey: STATE_MACHINE_ARN,
      redriveCount: 0,
      errorName: 'Lambda.AWSLambdaException',
      detail: "redrive 1 of 3 (error Lambda.AWSLambdaException matches 'States.ALL')",
    });
    expect(decide(fixtureEvent('failed0'), found(), facts(), STOP0 + 86_400_000).decision).toBe('redrive');
  });

  it('one millisecond before due -> redrive-later by 1 s', () => {
    expect(decide(fixtureEvent('failed0'), found(), facts(), STOP0 + 59_999)).toMatchObject({ decision: 'redrive-later', delaySeconds: 1, dueAt: STOP0 + 60_000 });
  });

  it('intervalSeconds 0 -> redrive immediately (no-delay)', () => {
    expect(decide(fixtureEvent('failed0'), found({ intervalSeconds: 0 }), facts(), STOP0)).toMatchObject({ decision: 'redrive', reason: 'no-delay' });
  });

  it('a stopDate ahead of the clock (skew) counts as now', () => {
    expect(decide(fixtureEvent('failed0'), found(), facts(), STOP0 - 2_000)).toMatchObject({ decision: 'redrive-later', delaySeconds: 60, dueAt: STOP0 - 2_000 + 60_000 });
    expect(decide(fixtureEvent('failed0'), found({ intervalSeconds: 0 }), facts(), STOP0 - 2_000)).toMatchObject({ decision: 'redrive', reason: 'no-delay' });
  });

  it('no stopDate: backoff counts from now', () => {
    const d = decide(fixtureEvent('failed0', { stopDate: null }), found(), facts(), STOP0);
    expect(d).toMatchObject({ decision: 'redrive-later', delaySeconds: 60, dueAt: STOP0 + 60_000 });
  });

  it('FULL jitter uses the deterministic fraction of (executionArn, redriveCount)', () => {
    const p = policy({ key: '*', jitter: 'FULL' });
    const expectedDelay = delaySeconds(p, 1, jitterFraction(EXECUTION_ARN, 1));
    const d = decide(fixtureEvent('failed1'), { kind: 'found', policy: p }, facts(), STOP1);
    if (expectedDelay === 0) expect(d.decision).toBe('redrive');
    else expect(d).toMatchObject({ decision: 'redrive-later', dueAt: STOP1 + expectedDelay * 1000 });
    expect(expectedDelay).toBeLessThanOrEqual(120);
  });

  it('due: a pending record whose time has come -> redrive (due), even inside the computed backoff', () => {
    const d = decide(fixtureEvent('failed0'), found(), facts({ thisFailure: { state: 'pending', dueAt: STOP0 + 5_000 } }), STOP0 + 5_000);
    expect(d).toMatchObject({ decision: 'redrive', reason: 'due', redriveCount: 0 });
  });

  it('retry-abandoned-claim: an expired claim -> redrive (retry-abandoned-claim)', () => {
    const d = decide(fixtureEvent('failed0'), found(), facts({ thisFailure: { state: 'claimed', claimExpiresAt: STOP0 + 1_000 } }), STOP0 + 1_000);
    expect(d).toMatchObject({ decision: 'redrive', reason: 'retry-abandoned-claim' });
  });

  it('a skipped record does not block a new decision (reconsideration)', () => {
    const d = decide(fixtureEvent('failed0'), found(), facts({ thisFailure: { state: 'skipped', reason: 'paused' } }), STOP0 + 60_000);
    expect(d).toMatchObject({ decision: 'redrive', reason: 'no-delay' });
  });

  it('TIMED_OUT with a null error is treated as States.Timeout', () => {
    const ev = fixtureEvent('failed0', { status: 'TIMED_OUT', error: null, cause: null });
    const d = decide(ev, found({ errorEquals: ['States.Timeout'] }), facts(), STOP0 + 60_000);
    expect(d).toMatchObject({ decision: 'redrive', errorName: 'States.Timeout' });
    expect(d.detail).toContain("error States.Timeout matches 'States.Timeout'");
    expectSkip(decide(ev, found({ errorEquals: ['Lambda.*'] }), facts(), STOP0 + 60_000), 'error-not-matched');
    expectSkip(decide(ev, found({ nonRetryableErrors: ['States.Timeout'] }), facts(), STOP0 + 60_000), 'error-not-retryable');
  });

  it('a FAILED event with a null error takes the error from DescribeExecution', () => {
    const ev = fixtureEvent('failed0', { error: null });
    const d = decide(ev, found({ errorEquals: ['Lambda.*'] }), facts({ current: current() }), STOP0 + 60_000);
    expect(d).toMatchObject({ decision: 'redrive', errorName: 'Lambda.AWSLambdaException' });
  });

  it('a FAILED event with no error anywhere: only States.ALL matches', () => {
    const ev = fixtureEvent('failed0', { error: null });
    expect(decide(ev, found(), facts(), STOP0 + 60_000)).toMatchObject({ decision: 'redrive', errorName: null });
    const d = decide(ev, found({ errorEquals: ['Lambda.*'] }), facts(), STOP0 + 60_000);
    expectSkip(d, 'error-not-matched');
    expect(d.detail).toContain('(none)');
  });

  it('an event without redriveCount uses DescribeExecution', () => {
    const ev = fixtureEvent('failed1', { redriveCount: null, redriveStatus: null });
    const d = decide(ev, found(), facts({ current: current({ redriveCount: 1 }) }), STOP1 + 120_000);
    expect(d).toMatchObject({ decision: 'redrive', redriveCount: 1 });
  });

  it('ABORTED is redriven when the policy opts in', () => {
    const ev = fixtureEvent('failed0', { status: 'ABORTED', error: null });
    expect(decide(ev, found({ statuses: ['ABORTED'] }), facts(), STOP0 + 60_000)).toMatchObject({ decision: 'redrive' });
  });
});

describe('decide: one example per skip reason', () => {
  const late = STOP0 + 3_600_000;
  const invalid: PolicyResolution = {
    kind: 'invalid',
    key: STATE_MACHINE_ARN,
    error: new InvalidPolicyError(STATE_MACHINE_ARN, [{ field: 'maxRedrive', message: 'unknown attribute' }]),
  };
  const cases: Array<[SkipReason, string, StatusChange, PolicyResolution, ExecutionFacts, number, RegExp | undefined]> = [
    ['no-policy', 'no policy', fixtureEvent('failed0'), { kind: 'none' }, facts(), late, /no policy matches .*opt-in/],
    ['policy-disabled', 'enabled=false', fixtureEvent('failed0'), found({ enabled: false }), facts(), late, /enabled=false/],
    ['policy-invalid', 'invalid policy', fixtureEvent('failed0'), invalid, facts(), late, /maxRedrive: unknown attribute/],
    ['status-not-covered', '02 RUNNING', fixtureEvent('running1'), found(), facts(), late, /RUNNING/],
    ['status-not-covered', '05 SUCCEEDED', fixtureEvent('succeeded3'), found(), facts(), late, /SUCCEEDED/],
    ['status-not-covered', 'PENDING_REDRIVE', fixtureEvent('failed0', { status: 'PENDING_REDRIVE' }), found(), facts(), late, undefined],
    ['status-not-covered', 'ABORTED not in the default statuses', fixtureEvent('failed0', { status: 'ABORTED' }), found(), facts(), late, /FAILED, TIMED_OUT, not ABORTED/],
    ['not-redrivable', 'event NOT_REDRIVABLE', fixtureEvent('failed0', { redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: 'Execution redrivable period exceeded' }), found(), facts(), late, /redrivable period exceeded/],
    ['not-redrivable', 'current NOT_REDRIVABLE', fixtureEvent('failed0'), found(), facts({ current: current({ redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: 'Execution history event limit exceeded' }) }), late, /history event limit/],
    ['map-run-child', 'event REDRIVABLE_BY_MAP_RUN', fixtureEvent('failed0', { redriveStatus: 'REDRIVABLE_BY_MAP_RUN' }), found(), facts(), late, /parent/],
    ['map-run-child', 'current REDRIVABLE_BY_MAP_RUN', fixtureEvent('failed0'), found(), facts({ current: current({ redriveStatus: 'REDRIVABLE_BY_MAP_RUN' }) }), late, undefined],
    ['error-not-retryable', 'States.Runtime', fixtureEvent('failed0', { error: 'States.Runtime' }), found(), facts(), late, /States\.Runtime/],
    ['error-not-retryable', 'custom Lambda.* non-retryable', fixtureEvent('failed0'), found({ nonRetryableErrors: ['Lambda.*'] }), facts(), late, /matches nonRetryableErrors 'Lambda\.\*'/],
    ['error-not-matched', 'errorEquals States.Timeout', fixtureEvent('failed0'), found({ errorEquals: ['States.Timeout'] }), facts(), late, /none of errorEquals \[States\.Timeout\]/],
    ['limit-reached', '04 with maxRedrives 2', fixtureEvent('failed2'), found({ maxRedrives: 2 }), facts(), late, /already redriven 2 time\(s\).*allows 2/],
    ['limit-reached', 'maxRedrives 0', fixtureEvent('failed0'), found({ maxRedrives: 0 }), facts(), late, undefined],
    ['stale-event', 'current redriveCount higher', fixtureEvent('failed1'), found(), facts({ current: current({ redriveCount: 2 }) }), late, /redriveCount is now 2/],
    ['stale-event', 'current RUNNING', fixtureEvent('failed1'), found(), facts({ current: current({ redriveCount: 1, status: 'RUNNING' }) }), late, /RUNNING now/],
    ['stale-event', 'current SUCCEEDED', fixtureEvent('failed2'), found(), facts({ current: current({ redriveCount: 2, status: 'SUCCEEDED' }) }), late, undefined],
    ['stale-event', 'a later failure recorded', fixtureEvent('failed1'), found(), facts({ highestRecordedFailure: 2 }), late, /redriveCount 2/],
    ['already-handled', 'redriven', fixtureEvent('failed0'), found(), facts({ thisFailure: { state: 'redriven' } }), late, /redrive 1 was already made/],
    ['already-handled', 'live claim', fixtureEvent('failed0'), found(), facts({ thisFailure: { state: 'claimed', claimExpiresAt: late + 1 } }), late, /right now/],
    ['already-handled', 'pending, not yet due', fixtureEvent('failed0'), found(), facts({ thisFailure: { state: 'pending', dueAt: late + 1 } }), late, new RegExp(new Date(late + 1).toISOString())],
    ['dry-run', 'dry run, due', fixtureEvent('failed0'), found({ dryRun: true }), facts(), late, /dry run; would redrive 1 of 3 .* now$/],
    ['dry-run', 'dry run, backoff', fixtureEvent('failed0'), found({ dryRun: true }), facts(), STOP0 + 1_000, /would redrive 1 of 3 .* in 59s$/],
    ['paused', 'paused', fixtureEvent('failed0'), found(), facts({ paused: true }), late, /paused; would otherwise redrive 1 of 3/],
    ['malformed-event', 'no redriveCount and no DescribeExecution', fixtureEvent('failed0', { redriveCount: null }), found(), facts(), late, /no redriveCount/],
    ['state-excluded', 'failed at a neverAtStates state', fixtureEvent('failed0'), found({ neverAtStates: ['Charge*'] }), facts({ failedState: { name: 'ChargeCard', enclosing: [] } }), late, /^failed at state ChargeCard; ChargeCard matches neverAtStates 'Charge\*'$/],
    ['state-excluded', 'inside an excluded Parallel state', fixtureEvent('failed0'), found({ neverAtStates: ['Payments'] }), facts({ failedState: { name: 'Call', enclosing: ['Each', 'Payments'] } }), late, /failed at state Call \(in Each, in Payments\); Payments matches neverAtStates 'Payments'/],
    ['state-excluded', 'the failed state not known', fixtureEvent('failed0'), found({ neverAtStates: ['Charge'] }), facts(), late, /not known/],
    ['state-not-included', 'failed at a state onlyAtStates does not list', fixtureEvent('failed0'), found({ onlyAtStates: ['Validate'] }), facts({ failedState: { name: 'ChargeCard', enclosing: [] } }), late, /ChargeCard, which matches none of onlyAtStates \[Validate\]/],
    ['state-not-included', 'TIMED_OUT: onlyAtStates without the TIMED_OUT entry', fixtureEvent('failed0', { status: 'TIMED_OUT', error: null }), found({ onlyAtStates: ['*'] }), facts({ failedState: { name: null, enclosing: [] } }), late, /timed out as a whole\); onlyAtStates \[\*\] does not list TIMED_OUT/],
  ];

  it.each(cases)('%s (%s)', (reason, _label, event, resolution, f, now, detail) => {
    const d = decide(event, resolution, f, now);
    expectSkip(d, reason);
    if (detail) expect(d.detail).toMatch(detail);
    expect(d).not.toHaveProperty('dueAt');
    expect(d).not.toHaveProperty('delaySeconds');
  });

  // Skip reasons the controller records without calling decide() (redrive-window-ending: breaker/release.ts;
  // account-not-served: unserved-failure.ts).
  // rejected: lambda/approval/approve.ts (a person's rejection of a failure held for approval).
  const CONTROLLER_ONLY: readonly string[] = ['unknown-account', 'redrive-window-ending', 'account-not-served', 'rejected'];

  it('covers every skip reason decide() can give', () => {
    expect(new Set([...cases.map((c) => c[0]), ...CONTROLLER_ONLY])).toEqual(new Set(SKIP_REASONS));
  });

  it('state-scoped: a failure at another state, an enclosing state listed in onlyAtStates, and TIMED_OUT are redriven', () => {
    const at = (name: string | null, enclosing: string[] = []) => facts({ failedState: { name, enclosing } });
    expect(decide(fixtureEvent('failed0'), found({ neverAtStates: ['Charge*'] }), at('Validate'), late)).toMatchObject({ decision: 'redrive' });
    expect(decide(fixtureEvent('failed0'), found({ onlyAtStates: ['Fan*'] }), at('Call', ['Fanout']), late)).toMatchObject({ decision: 'redrive' });
    const timedOut = fixtureEvent('failed0', { status: 'TIMED_OUT', error: null });
    expect(decide(timedOut, found({ neverAtStates: ['*'] }), at(null), late)).toMatchObject({ decision: 'redrive' });
    expect(decide(timedOut, found({ onlyAtStates: ['Validate', 'TIMED_OUT'] }), at(null), late)).toMatchObject({ decision: 'redrive' });
    // Earlier checks come first: a redriven failure is already handled, whatever its state.
    expect(decide(fixtureEvent('failed0'), found({ neverAtStates: ['*'] }), facts({ thisFailure: { state: 'redriven' } }), late)).toMatchObject({ reason: 'already-handled' });
  });

  it('records policyKey (null without a policy), redriveCount and errorName on skips', () => {
    expect(decide(fixtureEvent('failed0'), { kind: 'none' }, facts(), late)).toMatchObject({ policyKey: null, redriveCount: 0, errorName: 'Lambda.AWSLambdaException' });
    expect(decide(fixtureEvent('failed0'), invalid, facts(), late)).toMatchObject({ policyKey: STATE_MACHINE_ARN });
    expect(decide(fixtureEvent('failed0', { redriveCount: null }), found(), facts(), late)).toMatchObject({ redriveCount: null });
  });
});

describe('decide: precedence', () => {
  const late = STOP0 + 3_600_000;
  it('status before policy: a RUNNING event with no policy is status-not-covered', () => {
    expectSkip(decide(fixtureEvent('running1'), { kind: 'none' }, facts(), late), 'status-not-covered');
  });
  it('limit before the switches: paused or dry run at the limit reports limit-reached', () => {
    expectSkip(decide(fixtureEvent('failed2'), found({ maxRedrives: 2, dryRun: true }), facts({ paused: true }), late), 'limit-reached');
  });
  it('paused before dry run', () => {
    expectSkip(decide(fixtureEvent('failed0'), found({ dryRun: true }), facts({ paused: true }), late), 'paused');
  });
  it('non-retryable before errorEquals', () => {
    expectSkip(decide(fixtureEvent('failed0', { error: 'States.Runtime' }), found({ errorEquals: ['Lambda.*'] }), facts(), late), 'error-not-retryable');
  });
  it('already-handled before error checks and the limit', () => {
    expectSkip(decide(fixtureEvent('failed2', { error: 'States.Runtime' }), found({ maxRedrives: 0 }), facts({ thisFailure: { state: 'redriven' } }), late), 'already-handled');
  });
  it('stale before already-handled', () => {
    expectSkip(decide(fixtureEvent('failed0'), found(), facts({ thisFailure: { state: 'redriven' }, current: current({ redriveCount: 1 }) }), late), 'stale-event');
  });
  it('a due pending record still respects pause, dry run, limit and errors', () => {
    const due = { thisFailure: { state: 'pending' as const, dueAt: late } };
    expectSkip(decide(fixtureEvent('failed0'), found(), facts({ ...due, paused: true }), late), 'paused');
    expectSkip(decide(fixtureEvent('failed0'), found({ dryRun: true }), facts(due), late), 'dry-run');
    expectSkip(decide(fixtureEvent('failed0'), found({ maxRedrives: 0 }), facts(due), late), 'limit-reached');
    expectSkip(decide(fixtureEvent('failed0', { error: 'States.Runtime' }), found(), facts(due), late), 'error-not-retryable');
  });
  it('event NOT_REDRIVABLE beats a REDRIVABLE DescribeExecution answer', () => {
    expectSkip(decide(fixtureEvent('failed0', { redriveStatus: 'NOT_REDRIVABLE' }), found(), facts({ current: current() }), late), 'not-redrivable');
  });
  it('highestRecordedFailure equal to this failure is not stale', () => {
    expect(decide(fixtureEvent('failed1'), found(), facts({ highestRecordedFailure: 1 }), STOP1 + 120_000).decision).toBe('redrive');
  });
  it('current with the same redriveCount and FAILED is fine', () => {
    expect(decide(fixtureEvent('failed1'), found(), facts({ current: current({ redriveCount: 1 }) }), STOP1 + 120_000).decision).toBe('redrive');
  });
});

describe('decide: approval before redrive (policy approval: true)', () => {
  const late = STOP0 + 3_600_000;
  const ALICE = 'arn:aws:sts::123456789012:assumed-role/oncall/alice';
  it('a failure the policy would redrive now is held awaiting-approval, naming the redrive it waits for', () => {
    const d = decide(fixtureEvent('failed0'), found({ approval: true }), facts(), late);
    expect(d).toMatchObject({ decision: 'hold', reason: 'awaiting-approval', redriveCount: 0, errorName: 'Lambda.AWSLambdaException', policyKey: STATE_MACHINE_ARN });
    expect(d.detail).toContain('would redrive 1 of 3');
    expect(d.detail).toContain('redrivectl approve or reject');
  });
  it('a failure the policy would redrive later (backoff) is held at once too', () => {
    expect(decide(fixtureEvent('failed0'), found({ approval: true, intervalSeconds: 600 }), facts(), STOP0 + 1000)).toMatchObject({ decision: 'hold', reason: 'awaiting-approval' });
  });
  it('approved: redriven through the normal path (release of the held record), the approver in the detail; backoff still applies', () => {
    const held = { thisFailure: { state: 'held' as const, reason: 'awaiting-approval' } };
    const d = decide(fixtureEvent('failed0'), found({ approval: true }), facts({ ...held, approvedBy: ALICE }), late);
    expect(d).toMatchObject({ decision: 'redrive', reason: 'release' });
    expect(d.detail).toContain(`approved by ${ALICE}`);
    const early = decide(fixtureEvent('failed0'), found({ approval: true, intervalSeconds: 600 }), facts({ ...held, approvedBy: ALICE }), STOP0 + 1000);
    expect(early).toMatchObject({ decision: 'redrive-later', reason: 'backoff' });
  });
  it('what decide() skips comes first: limit, non-retryable and unmatched errors, pause and dry run are not held for approval', () => {
    expectSkip(decide(fixtureEvent('failed2'), found({ approval: true, maxRedrives: 2 }), facts(), late), 'limit-reached');
    expectSkip(decide(fixtureEvent('failed0', { error: 'States.Runtime' }), found({ approval: true }), facts(), late), 'error-not-retryable');
    expectSkip(decide(fixtureEvent('failed0'), found({ approval: true, errorEquals: ['Other.*'] }), facts(), late), 'error-not-matched');
    expectSkip(decide(fixtureEvent('failed0'), found({ approval: true }), facts({ paused: true }), late), 'paused');
    expectSkip(decide(fixtureEvent('failed0'), found({ approval: true, dryRun: true }), facts(), late), 'dry-run');
  });
  it('onExhausted hold at the limit is held as exhausted (for redrivectl release), not for approval', () => {
    expect(decide(fixtureEvent('failed2'), found({ approval: true, maxRedrives: 2, onExhausted: 'hold' }), facts(), late)).toMatchObject({ decision: 'hold', reason: 'exhausted' });
  });
  it('approval: false (the default) never holds for approval', () => {
    expect(decide(fixtureEvent('failed0'), found(), facts(), late)).toMatchObject({ decision: 'redrive', reason: 'no-delay' });
  });
});
