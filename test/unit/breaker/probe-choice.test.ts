/**
 * The probe choice (lambda/breaker/probe-choice.ts probeOrder): a probe uses one of the execution's
 * redrives, so the last one only when nothing has more left; rotation by probes so far;
 * then the most redrives left; then the oldest.
 */
import { parsePolicyItem, type RedrivePolicy } from '../../../contract/policy-schema';
import { heldDueAt, LAST_REDRIVE_WAIT_INTERVALS, lastRedriveWait, MAX_CANDIDATES, ProbeChoice, probeOrder } from '../../../lambda/breaker/probe-choice';
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

describe('ProbeChoice: the one choice the drain and redrivectl status make, fed oldest first', () => {
  const policy = (() => {
    const r = parsePolicyItem({ stateMachine: '*', maxRedrives: 3, intervalSeconds: 60, backoffRate: 2, jitter: 'NONE' });
    if (!r.ok) throw r.error;
    return r.policy as RedrivePolicy;
  })();
  const NOW = 10_000_000;
  const feed = (records: FailureRecord[], now = NOW) => {
    const choice = new ProbeChoice(policy);
    const seen = records.map((r) => ({ name: r.name, ...choice.consider(r, now) }));
    return { choice, seen };
  };

  it('only a failure whose own backoff has passed is a candidate; the others give the earliest due time', () => {
    const notDue = held('not-due', 1, NOW - 1_000); // due 120 s after it stopped
    const { choice } = feed([notDue]);
    expect(choice.best).toBeUndefined();
    expect(choice.waitingUntil).toBe(heldDueAt(notDue, policy, NOW));
    expect(choice.waitingUntil).toBe(NOW - 1_000 + 120_000);
  });

  it('the best due failure in probe order; one without a redrive left is flagged exhausted and never chosen', () => {
    const { choice, seen } = feed([held('exhausted', 3, NOW - 9_000_000), held('rc1', 1, NOW - 600_000), held('rc0-probed', 0, NOW - 500_000, 1)]);
    expect(seen.map((s) => s.exhausted)).toEqual([true, false, false]);
    expect(choice.best?.name).toBe('rc1');
    expect(choice.examined).toBe(3);
    expect(choice.newestStop).toBe(NOW - 500_000);
  });

  it('enough once a failure that used no redrive and was never probed is the best (nothing sorts before it), or at MAX_CANDIDATES', () => {
    expect(feed([held('rc1', 1, NOW - 600_000), held('fresh', 0, NOW - 600_000)]).seen.map((s) => s.enough)).toEqual([false, true]);
    const many = Array.from({ length: MAX_CANDIDATES }, (_, i) => held(`x${i}`, 3, NOW - 1_000_000 + i));
    expect(feed(many).seen.map((s) => s.enough).indexOf(true)).toBe(MAX_CANDIDATES - 1);
  });

  it("best on its last redrive: waits for one with more left whose backoff ends later, else for a newcomer after the opening, else goes", () => {
    const last = held('last', 2, NOW - 3_600_000);
    const spared = held('spared', 1, NOW - 1_000);
    expect(feed([last, spared]).choice.lastRedriveWait(NOW - 60_000, NOW)).toEqual({ reason: 'own-backoff', until: heldDueAt(spared, policy, NOW) });
    expect(feed([last]).choice.lastRedriveWait(NOW - 60_000, NOW)).toEqual({ reason: 'last-redrive', until: NOW - 60_000 + LAST_REDRIVE_WAIT_INTERVALS * policy.breaker.maxProbeIntervalSeconds * 1000 });
    expect(feed([last]).choice.lastRedriveWait(NOW - 99 * 3_600_000, NOW)).toBeUndefined();
    // Not on its last: no wait.
    expect(feed([held('rc0', 0, NOW - 3_600_000)]).choice.lastRedriveWait(NOW - 60_000, NOW)).toBeUndefined();
  });
});
