import {
  CANARY_SUCCEEDED,
  DEFAULT_WATCHED_STATUSES,
  matchesPattern,
  REDRIVE_SUCCEEDED,
  statusChangePattern,
  statusesProblem,
  STATUS_CHANGE_DETAIL_TYPE,
  STATUS_CHANGE_SOURCE,
  watchedStatusesOf,
  wildcardMatches,
} from '../../../contract/event-pattern';
import { canaryStateMachineName } from '../../../contract/canary';
import { rawFixture, STATE_MACHINE_ARN } from '../helpers';

/** The second `$or` branch: SUCCEEDED events of redriven executions (the breaker's success evidence). */
const SUCCEEDED_AFTER_REDRIVE = { status: ['SUCCEEDED'], redriveCount: [{ numeric: ['>', 1] }] };
/** The third: the canaries' SUCCEEDED events, at any redriveCount (the controller records their recovery). */
const CANARY_SUCCESS = { status: ['SUCCEEDED'], stateMachineArn: [{ wildcard: 'arn:*:states:*:*:stateMachine:AutoRedriveCanary*' }] };

describe('statusChangePattern', () => {
  it('defaults to FAILED and TIMED_OUT on every state machine, plus SUCCEEDED after a redrive', () => {
    expect(statusChangePattern()).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { $or: [{ status: ['FAILED', 'TIMED_OUT'] }, SUCCEEDED_AFTER_REDRIVE, CANARY_SUCCESS] },
    });
    expect(DEFAULT_WATCHED_STATUSES).toEqual(['FAILED', 'TIMED_OUT']);
    expect(REDRIVE_SUCCEEDED).toEqual(SUCCEEDED_AFTER_REDRIVE);
    expect(CANARY_SUCCEEDED).toEqual(CANARY_SUCCESS);
  });
  it('narrows to state machines and statuses; the SUCCEEDED-after-redrive branch stays whatever the statuses', () => {
    expect(statusChangePattern({ statuses: ['ABORTED'], stateMachineArns: [STATE_MACHINE_ARN] }).detail).toEqual({
      $or: [{ status: ['ABORTED'] }, SUCCEEDED_AFTER_REDRIVE, CANARY_SUCCESS],
      stateMachineArn: [STATE_MACHINE_ARN],
    });
    expect(statusChangePattern({ stateMachineArns: [] }).detail).not.toHaveProperty('stateMachineArn');
  });
  it('is plain JSON (what EventBridge and events.EventPattern accept), and each call gets its own copy', () => {
    const p = statusChangePattern({ statuses: ['FAILED', 'ABORTED'], stateMachineArns: [STATE_MACHINE_ARN] });
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
    p.detail.$or[0].status.push('TIMED_OUT');
    p.detail.$or[1].status.push('RUNNING');
    p.detail.$or[1].redriveCount!.push({ numeric: ['<', 9] });
    p.detail.$or[2].stateMachineArn!.push({ wildcard: '*' });
    expect(statusChangePattern({ statuses: ['FAILED', 'ABORTED'] }).detail.$or).toEqual([{ status: ['FAILED', 'ABORTED'] }, SUCCEEDED_AFTER_REDRIVE, CANARY_SUCCESS]);
    expect(REDRIVE_SUCCEEDED).toEqual(SUCCEEDED_AFTER_REDRIVE);
    expect(CANARY_SUCCEEDED).toEqual(CANARY_SUCCESS);
  });
  it('watchedStatusesOf: the statuses forwarded as failures (not SUCCEEDED)', () => {
    expect(watchedStatusesOf(statusChangePattern())).toEqual(['FAILED', 'TIMED_OUT']);
    expect(watchedStatusesOf(statusChangePattern({ statuses: ['ABORTED', 'FAILED'] }))).toEqual(['ABORTED', 'FAILED']);
  });
  it('rejects no statuses or a status RedriveExecution does not accept', () => {
    expect(() => statusChangePattern({ statuses: [] })).toThrow(/at least one/);
    expect(() => statusChangePattern({ statuses: ['SUCCEEDED' as never] })).toThrow(/SUCCEEDED/);
    expect(() => statusChangePattern({ statuses: ['RUNNING' as never] })).toThrow();
  });
});

describe('matchesPattern with the real events', () => {
  const p = statusChangePattern();
  it.each([
    ['failed0', true],
    ['running1', false],
    ['failed1', true],
    ['failed2', true],
    ['succeeded3', true], // SUCCEEDED after redrive 3: the breaker's evidence that redrives succeed
  ] as const)('%s -> %s', (name, expected) => {
    expect(matchesPattern(p, rawFixture(name))).toBe(expected);
  });
  it('a first run that succeeded (redriveCount 0) or a first redrive that succeeded (1) is not forwarded; nor one without a numeric redriveCount', () => {
    const e = rawFixture('succeeded3');
    expect(matchesPattern(p, { ...e, detail: { ...e.detail, redriveCount: 2 } })).toBe(true);
    expect(matchesPattern(p, { ...e, detail: { ...e.detail, redriveCount: 1 } })).toBe(false);
    expect(matchesPattern(p, { ...e, detail: { ...e.detail, redriveCount: 0 } })).toBe(false);
    expect(matchesPattern(p, { ...e, detail: { ...e.detail, redriveCount: -1 } })).toBe(false);
    expect(matchesPattern(p, { ...e, detail: { ...e.detail, redriveCount: '3' } })).toBe(false);
    expect(matchesPattern(p, { ...e, detail: { ...e.detail, redriveCount: undefined } })).toBe(false);
  });
  it('RUNNING is never forwarded, redriven or not; a failure is forwarded at any redriveCount', () => {
    const running = rawFixture('running1');
    for (const redriveCount of [0, 1, 5]) expect(matchesPattern(p, { ...running, detail: { ...running.detail, redriveCount } })).toBe(false);
    const failed = rawFixture('failed0');
    for (const redriveCount of [0, 2, undefined]) expect(matchesPattern(p, { ...failed, detail: { ...failed.detail, redriveCount } })).toBe(true);
  });
  it('the statuses choose the failures only: ABORTED-only still forwards SUCCEEDED after a redrive, not FAILED', () => {
    const aborted = statusChangePattern({ statuses: ['ABORTED'] });
    expect(matchesPattern(aborted, rawFixture('failed1'))).toBe(false);
    expect(matchesPattern(aborted, rawFixture('succeeded3'))).toBe(true);
    const e = rawFixture('failed1');
    expect(matchesPattern(aborted, { ...e, detail: { ...e.detail, status: 'ABORTED' } })).toBe(true);
    expect(matchesPattern(p, { ...e, detail: { ...e.detail, status: 'ABORTED' } })).toBe(false);
  });
  it('respects the state machine filter, source and detail-type, for failures and successes alike', () => {
    for (const name of ['failed0', 'succeeded3'] as const) {
      const e = rawFixture(name);
      expect(matchesPattern(statusChangePattern({ stateMachineArns: [STATE_MACHINE_ARN] }), e)).toBe(true);
      expect(matchesPattern(statusChangePattern({ stateMachineArns: [`${STATE_MACHINE_ARN}x`] }), e)).toBe(false);
      expect(matchesPattern(p, { ...e, source: 'aws.lambda' })).toBe(false);
      expect(matchesPattern(p, { ...e, 'detail-type': 'x' })).toBe(false);
      expect(matchesPattern(p, { ...e, detail: null })).toBe(false);
      expect(STATUS_CHANGE_SOURCE).toBe(e.source);
      expect(STATUS_CHANGE_DETAIL_TYPE).toBe(e['detail-type']);
    }
  });
  it.each([null, undefined, 'x', 1, []])('non-object %p never matches', (e) => {
    expect(matchesPattern(p, e)).toBe(false);
  });
});

describe('statusesProblem: the one statuses check', () => {
  it.each([
    [[], 'statuses must contain at least one status'],
    [['FAILED', 'DONE'], "statuses: 'DONE' is not one of FAILED, TIMED_OUT, ABORTED"],
    [['FAILED', 'FAILED'], 'statuses contains duplicates: FAILED, FAILED'],
    [['FAILED', 'TIMED_OUT', 'ABORTED'], undefined],
  ])('%j -> %s', (statuses, problem) => {
    expect(statusesProblem('statuses', statuses)).toBe(problem);
  });
  it('statusChangePattern refuses what it refuses', () => {
    expect(() => statusChangePattern({ statuses: ['TIMED_OUT', 'TIMED_OUT'] })).toThrow(/^statuses contains duplicates/);
  });
});

describe('the canary branch', () => {
  const p = statusChangePattern();
  const succeeded = rawFixture('succeeded3');
  const canaryArn = (partition: string, region: string, account: string) =>
    `arn:${partition}:states:${region}:${account}:stateMachine:${canaryStateMachineName('payments')}`;
  const canaryEvent = (redriveCount: number, stateMachineArn = canaryArn('aws', 'eu-west-1', '111122223333')) => ({
    ...succeeded,
    detail: { ...succeeded.detail, stateMachineArn, redriveCount },
  });

  it("forwards a canary's SUCCEEDED at any redriveCount, in any partition, Region and account", () => {
    for (const redriveCount of [0, 1, 2]) expect(matchesPattern(p, canaryEvent(redriveCount))).toBe(true);
    expect(matchesPattern(p, canaryEvent(1, canaryArn('aws-us-gov', 'us-gov-west-1', '444455556666')))).toBe(true);
  });
  it("does not forward other state machines' first-redrive successes, nor a name that only contains the prefix", () => {
    expect(matchesPattern(p, canaryEvent(1, 'arn:aws:states:eu-west-1:111122223333:stateMachine:Orders'))).toBe(false);
    expect(matchesPattern(p, canaryEvent(1, 'arn:aws:states:eu-west-1:111122223333:stateMachine:MyAutoRedriveCanary'))).toBe(false);
    expect(matchesPattern(p, { ...canaryEvent(1), detail: { ...canaryEvent(1).detail, status: 'RUNNING' } })).toBe(false);
  });
  it('wildcardMatches: * is any run of characters (also none), \\* a literal star, other characters literal', () => {
    expect(wildcardMatches({ wildcard: 'a*c' }, 'ac')).toBe(true);
    expect(wildcardMatches({ wildcard: 'a*c' }, 'abbbc')).toBe(true);
    expect(wildcardMatches({ wildcard: 'a*c' }, 'abcd')).toBe(false);
    expect(wildcardMatches({ wildcard: 'a.c' }, 'abc')).toBe(false);
    expect(wildcardMatches({ wildcard: 'a\\*c' }, 'a*c')).toBe(true);
    expect(wildcardMatches({ wildcard: 'a\\*c' }, 'abc')).toBe(false);
    expect(wildcardMatches({ wildcard: '*' }, 42)).toBe(false);
  });
});
