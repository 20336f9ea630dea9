/**
 * The breaker gate's writes on the group's one breaker item (docs/reliability.md, partition
 * model): a first failure is never counted (the item is read, at most once a second per
 * instance); a redrive that failed again is counted, until the instance has seen the breaker
 * open, after which it reads the item (at most once a second), so a storm on one state
 * machine and error puts at most `redriveFailureThreshold` + one count per instance on it.
 * On dynalite, counting the calls each instance sends.
 */
import { breakerPk } from '../../../contract/breaker';
import { baseDelaySeconds } from '../../../lambda/decide/backoff';
import { confirmationMs } from '../../../lambda/decide/breaker';
import type { Decision } from '../../../lambda/decide/decision';
import { gateByBreaker, type GateInput } from '../../../lambda/act/breaker-gate';
import { InMemoryMetrics, MemoryLog } from '../../../lambda/observability/telemetry';
import { AuditTrail } from '../../../lambda/record/audit-trail';
import { BreakerStore } from '../../../lambda/record/breaker-store';
import { FailureLedger } from '../../../lambda/record/failure-ledger';
import { MemoryNotifier } from '../../../lambda/record/owner-notifier';
import { useLedgerTable } from '../../support/dynalite';
import { fixtureEvent, policy, STATE_MACHINE_ARN, T0 } from '../helpers';

const table = useLedgerTable();
const ERROR = 'Lambda.ServiceException';
const POLICY = policy({ breaker: { ...policy().breaker, enabled: true, threshold: 3 } });
const GROUP = { stateMachineArn: STATE_MACHINE_ARN, errorName: ERROR };

const redrive: Decision = { decision: 'redrive', reason: 'no-delay', policyKey: '*', redriveCount: 0, errorName: ERROR, detail: 'redrive 1 of 3' };

function input(i: number, now: number, redriveCount = 0): GateInput {
  const executionArn = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:storm-${i}`;
  const event = fixtureEvent('failed0', { executionArn, stopDate: now - 10, redriveCount, error: ERROR });
  // A failed redrive: the execution's previous failure (redriven) had the same error.
  const previous = { executionArn, stateMachineArn: STATE_MACHINE_ARN, redriveCount: redriveCount - 1, errorName: ERROR, stopDate: now - 60_000, updatedAt: now - 60_000, state: 'redriven' };
  const failures = redriveCount > 0 ? ([previous] as never) : [];
  return { event, resolution: { kind: 'found', policy: POLICY }, failures, thisRecord: undefined, source: 'event', now };
}

/** One Lambda instance: its own breaker store (and cache), its calls to the breaker item counted. */
function instance() {
  const breakers = new BreakerStore(table().doc, table().name);
  const deps = {
    breakers,
    ledger: new FailureLedger(table().doc, table().name, 30),
    audit: new AuditTrail(table().doc, table().name, 30),
    metrics: new InMemoryMetrics(),
    log: new MemoryLog(),
    notifier: new MemoryNotifier(),
    clock: () => T0,
  };
  return { deps, breakers };
}

/** Counts (UpdateItem with ADD) and reads (GetItem) of the breaker item, from every instance. */
function watchBreakerItem() {
  const calls = { counts: 0, reads: 0 };
  const send = table().doc.send.bind(table().doc);
  const spy = jest.spyOn(table().doc, 'send').mockImplementation(((command: { constructor: { name: string }; input: Record<string, any> }) => {
    if (command.input?.Key?.pk === breakerPk(GROUP)) {
      if (command.constructor.name === 'UpdateCommand' && String(command.input.UpdateExpression).startsWith('ADD')) calls.counts++;
      if (command.constructor.name === 'GetCommand') calls.reads++;
    }
    return send(command as never);
  }) as never);
  return { calls, restore: () => spy.mockRestore() };
}

test('a closed group: a first failure is no count (one read a second per instance); a failed redrive is one count', async () => {
  const watch = watchBreakerItem();
  try {
    const { deps } = instance();
    for (let i = 0; i < 5; i++) expect((await gateByBreaker(redrive, input(i, T0 + i), deps)).decision).toBe('redrive');
    expect(watch.calls).toEqual({ counts: 0, reads: 1 });
    expect((await gateByBreaker({ ...redrive, redriveCount: 1 }, input(10, T0 + 10, 1), deps)).decision).toBe('redrive');
    expect(watch.calls).toEqual({ counts: 1, reads: 1 });
  } finally {
    watch.restore();
  }
});

test('once open, an instance stops counting: redriveFailureThreshold counts (failing), one more when it opens, at most one more per other instance, then reads at most once a second', async () => {
  const watch = watchBreakerItem();
  try {
    const a = instance();
    const decisions: string[] = [];
    const failedRedrive = { ...redrive, redriveCount: 1 };
    // Instance a: 2 executions' failed redrives: failing, both still redriven (the policy's pace).
    for (let i = 0; i < 2; i++) decisions.push((await gateByBreaker(failedRedrive, input(i, T0 + 10 + i * 20, 1), a.deps)).decision);
    expect(decisions).toEqual(['redrive', 'redrive']);
    const failing = await a.breakers.read(GROUP);
    expect(failing).toMatchObject({ status: 'closed', failingSince: T0 + 30 });
    // Still failing once their next redrives had time to report: a third opens it; 40 more arrive within the same second.
    const opensAt = failing.opensAt!;
    expect(opensAt).toBe(T0 + 30 + confirmationMs(POLICY.breaker, baseDelaySeconds(POLICY, 1) * 1000));
    for (let i = 2; i < 43; i++) decisions.push((await gateByBreaker(failedRedrive, input(i, opensAt + i * 20, 1), a.deps)).decision);
    expect(decisions.slice(2).every((d) => d === 'hold')).toBe(true);
    // 3 counted (the opener knows it is open); the 40 others over 0.8 s: one read, no count.
    expect(watch.calls.counts).toBe(3);
    expect(watch.calls.reads).toBeLessThanOrEqual(2);

    // Another instance, that has not seen it open: one count, then none.
    const b = instance();
    for (let i = 100; i < 120; i++) expect((await gateByBreaker(failedRedrive, input(i, opensAt + 900 + i, 1), b.deps)).decision).toBe('hold');
    expect(watch.calls.counts).toBe(4);
    // First failures of yet another instance: held on a read, never counted.
    const c = instance();
    for (let i = 200; i < 210; i++) expect((await gateByBreaker(redrive, input(i, opensAt + 1000 + i), c.deps)).decision).toBe('hold');
    expect(watch.calls.counts).toBe(4);
    expect((await a.breakers.read(GROUP)).status).toBe('open');
  } finally {
    watch.restore();
  }
});

describe('while the group is failing but not open yet', () => {
  const failedRedrive = (redriveCount: number): Decision => ({ ...redrive, redriveCount, detail: `redrive ${redriveCount + 1} of 3` });

  async function failing() {
    const a = instance();
    for (let i = 0; i < 2; i++) expect((await gateByBreaker(failedRedrive(1), input(i, T0 + i, 1), a.deps)).decision).toBe('redrive');
    const state = await a.breakers.read(GROUP);
    expect(state).toMatchObject({ status: 'closed', failingSince: T0 + 1 });
    return { a, opensAt: state.opensAt! };
  }

  test("an execution's last redrive is scheduled for the opening; its other redrives follow the policy", async () => {
    const { a, opensAt } = await failing();
    // Redrive 3 of 3 (redriveCount 2): its last; due now under the policy, it waits for opensAt.
    const last = await gateByBreaker(failedRedrive(2), input(10, T0 + 5_000, 2), a.deps);
    expect(last).toMatchObject({ decision: 'redrive-later', reason: 'breaker-failing', redriveCount: 2, dueAt: opensAt, delaySeconds: Math.ceil((opensAt - T0 - 5_000) / 1000) });
    expect(last.detail).toContain('last redrive (3 of 3) waits until');
    // Already scheduled after opensAt by its backoff: unchanged.
    const later: Decision = { ...failedRedrive(2), decision: 'redrive-later', reason: 'backoff', delaySeconds: 600, dueAt: opensAt + 1 } as Decision;
    expect(await gateByBreaker(later, input(11, T0 + 5_000, 2), a.deps)).toBe(later);
    // Not its last: redriven at the policy's pace.
    expect((await gateByBreaker(failedRedrive(1), input(12, T0 + 5_000, 1), a.deps)).decision).toBe('redrive');
    // The event path's claim of a fresh failure is never scheduled (maxRedrives 1 would make it a last redrive).
    const one = { ...input(13, T0 + 5_000, 0), resolution: { kind: 'found', policy: { ...POLICY, maxRedrives: 1 } }, claimed: true } as GateInput;
    expect((await gateByBreaker(redrive, one, a.deps)).decision).toBe('redrive');
  });

  test('the drain carrying out a due redrive after opensAt opens it (nothing counted) and holds; before opensAt it redrives', async () => {
    const { a, opensAt } = await failing();
    const drain = (now: number): GateInput => ({ ...input(20, now, 2), source: 'drain' });
    const watch = watchBreakerItem();
    try {
      expect((await gateByBreaker(failedRedrive(2), drain(opensAt - 1_000), instance().deps)).decision).toBe('redrive');
      const held = await gateByBreaker(failedRedrive(2), drain(opensAt), instance().deps);
      expect(held).toMatchObject({ decision: 'hold', reason: 'breaker-open' });
      expect(watch.calls.counts).toBe(0);
    } finally {
      watch.restore();
    }
    expect(await a.breakers.read(GROUP)).toMatchObject({ status: 'open', openedAt: opensAt });
    expect(a.deps.notifier.breakerEvents).toHaveLength(0); // announced by the instance that opened it
  });

  test('a redrive the breaker had released, failing again, reopens it at once (no wait)', async () => {
    const { a } = await failing();
    const released = input(30, T0 + 2_000, 1);
    const heldBefore = { ...(released.failures[0] as object), heldAt: T0 - 120_000 };
    expect((await gateByBreaker(failedRedrive(1), { ...released, failures: [heldBefore] as never }, a.deps)).decision).toBe('hold');
    expect(await a.breakers.read(GROUP)).toMatchObject({ status: 'open', openedAt: T0 + 2_000 });
  });
});
