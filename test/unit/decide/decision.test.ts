/** The decision vocabulary: the one skip builder and the two lists of skips that mean something more. */
import { NOTEWORTHY_SKIPS, RECONSIDERABLE_SKIPS, SKIP_REASONS, skipDecision } from '../../../lambda/decide/decision';

describe('skipDecision', () => {
  it('builds a skip with the reason, the detail and what it was about, nothing else', () => {
    expect(skipDecision('paused', 'the controller is paused', { policyKey: 'orders-*', redriveCount: 2, errorName: 'States.Timeout' })).toStrictEqual({
      decision: 'skip',
      reason: 'paused',
      policyKey: 'orders-*',
      redriveCount: 2,
      errorName: 'States.Timeout',
      detail: 'the controller is paused',
    });
  });

  it('ignores anything else the subject carries (an event or a record may be passed whole)', () => {
    const subject = { policyKey: null, redriveCount: null, errorName: null, executionArn: 'arn:x' };
    expect(Object.keys(skipDecision('malformed-event', 'bad', subject))).toEqual(['decision', 'reason', 'policyKey', 'redriveCount', 'errorName', 'detail']);
  });
});

describe('skip lists', () => {
  it.each([
    ['RECONSIDERABLE_SKIPS', RECONSIDERABLE_SKIPS],
    ['NOTEWORTHY_SKIPS', NOTEWORTHY_SKIPS],
  ])('%s are skip reasons, each once', (_name, list) => {
    expect(list.filter((r) => !(SKIP_REASONS as readonly string[]).includes(r))).toEqual([]);
    expect(new Set(list).size).toBe(list.length);
  });

  it('the sweep reconsiders the "not now" skips, not the final ones', () => {
    expect([...RECONSIDERABLE_SKIPS].sort()).toEqual(['dry-run', 'no-policy', 'paused', 'policy-disabled', 'policy-invalid']);
  });

  it('owners hear about a give-up: the limit, an error not worth retrying, a policy that cannot be applied, a held failure given up before its redrive window ends', () => {
    expect([...NOTEWORTHY_SKIPS].sort()).toEqual(['account-not-served', 'error-not-retryable', 'limit-reached', 'policy-invalid', 'redrive-window-ending', 'state-excluded']);
  });
});
