import { DEFAULT_WATCHED_STATUSES, matchesPattern, statusChangePattern, statusesProblem, STATUS_CHANGE_DETAIL_TYPE, STATUS_CHANGE_SOURCE } from '../../../contract/event-pattern';
import { rawFixture, STATE_MACHINE_ARN } from '../helpers';

describe('statusChangePattern', () => {
  it('defaults to FAILED and TIMED_OUT on every state machine', () => {
    expect(statusChangePattern()).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['FAILED', 'TIMED_OUT'] },
    });
    expect(DEFAULT_WATCHED_STATUSES).toEqual(['FAILED', 'TIMED_OUT']);
  });
  it('narrows to state machines and statuses', () => {
    expect(statusChangePattern({ statuses: ['ABORTED'], stateMachineArns: [STATE_MACHINE_ARN] }).detail).toEqual({ status: ['ABORTED'], stateMachineArn: [STATE_MACHINE_ARN] });
    expect(statusChangePattern({ stateMachineArns: [] }).detail).not.toHaveProperty('stateMachineArn');
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
    ['succeeded3', false],
  ] as const)('%s -> %s', (name, expected) => {
    expect(matchesPattern(p, rawFixture(name))).toBe(expected);
  });
  it('respects the state machine filter, source and detail-type', () => {
    const e = rawFixture('failed0');
    expect(matchesPattern(statusChangePattern({ stateMachineArns: [STATE_MACHINE_ARN] }), e)).toBe(true);
    expect(matchesPattern(statusChangePattern({ stateMachineArns: [`${STATE_MACHINE_ARN}x`] }), e)).toBe(false);
    expect(matchesPattern(p, { ...e, source: 'aws.lambda' })).toBe(false);
    expect(matchesPattern(p, { ...e, 'detail-type': 'x' })).toBe(false);
    expect(matchesPattern(p, { ...e, detail: null })).toBe(false);
    expect(STATUS_CHANGE_SOURCE).toBe(e.source);
    expect(STATUS_CHANGE_DETAIL_TYPE).toBe(e['detail-type']);
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
