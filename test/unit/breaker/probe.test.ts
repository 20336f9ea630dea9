/**
 * The probe choice (lambda/breaker/probe.ts probeOrder): a probe uses one of the execution's
 * redrives, so the last one only when nothing has more left; rotation by probes so far;
 * then the most redrives left; then the oldest.
 */
import { parsePolicyItem, type RedrivePolicy } from '../../../contract/policy-schema';
import { LAST_REDRIVE_WAIT_INTERVALS, lastRedriveWait, probeOrder } from '../../../lambda/breaker/probe';
import type { FailureRecord } from '../../../lambda/record/failure-ledger';

const held = (name: string, redriveCount: number, stopDate: number, probes?: number) =>
  ({ executionArn: `arn:aws:states:us-east-1:123456789012:execution:orders:${name}`, name, redriveCount, stopDate, updatedAt: stopDate, ...(probes ? { probes } : {}) }) as unknown as FailureRecord;

const choose = (records: FailureRecord[], maxRedrives = 3) => [...records].sort((a, b) => probeOrder(a, b, maxRedrives)).map((r) => r.name);

test('most redrives left first, not the oldest', () => {
  expect(choose([held('old-rc1', 1, 100), held('new-rc0', 0, 200)])).toEqual(['new-rc0', 'old-rc1']);
});

test("an execution's last redrive only when no held failure has more left", () => {
  expect(choose([held('last', 2, 100), held('probed-twice', 1, 300, 2)])).toEqual(['probed-twice', 'last']);
  expect(choose([held('last-b', 2, 200), held('last-a', 2, 100)])).toEqual(['last-a', 'last-b']);
});

test('rotation: fewer probes before more redrives left; oldest among equals; records without the attribute count as never probed', () => {
  expect(choose([held('probed', 0, 100, 1), held('never', 1, 300)], 5)).toEqual(['never', 'probed']);
  expect(choose([held('b', 0, 200), held('a', 0, 100)])).toEqual(['a', 'b']);
});

describe("lastRedriveWait: before a probe spends an execution's last redrive", () => {
  const policyOf = (maxRedrives: number) => {
    const r = parsePolicyItem({ stateMachine: '*', maxRedrives });
    if (!r.ok) throw r.error;
    return r.policy as RedrivePolicy;
  };
  const OPENED = 1_000_000;
  const newcomerWaitEnds = (p: RedrivePolicy) => OPENED + LAST_REDRIVE_WAIT_INTERVALS * p.breaker.maxProbeIntervalSeconds * 1000;

  it('waits for a held failure with more left whose backoff ends later, whenever that is', () => {
    expect(lastRedriveWait(policyOf(3), OPENED, OPENED + 99 * 3_600_000, OPENED + 98 * 3_600_000)).toEqual({ reason: 'own-backoff', until: OPENED + 99 * 3_600_000 });
  });

  it('otherwise waits for a newcomer only in the first few maximum probe intervals after the opening', () => {
    const p = policyOf(3);
    expect(lastRedriveWait(p, OPENED, undefined, OPENED)).toEqual({ reason: 'last-redrive', until: newcomerWaitEnds(p) });
    expect(lastRedriveWait(p, OPENED, undefined, newcomerWaitEnds(p) - 1)).toEqual({ reason: 'last-redrive', until: newcomerWaitEnds(p) });
    expect(lastRedriveWait(p, OPENED, undefined, newcomerWaitEnds(p))).toBeUndefined();
  });

  it('maxRedrives 1: every held failure is on its last, and none waits', () => {
    expect(lastRedriveWait(policyOf(1), OPENED, undefined, OPENED)).toBeUndefined();
  });
});
