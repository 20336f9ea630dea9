/**
 * The outage breaker end to end: the real SDK against dynalite and the Step Functions
 * stand-in, on a simulated clock. A downstream is "down" (every run of the Task fails with
 * one error) and comes back; the breaker opens, holds, probes, closes and releases.
 */
import { handleStatusChange } from '../../lambda/event-path';
import { sweep } from '../../lambda/reconcile';
import { HELD_EXHAUSTED_SHARD, heldShard } from '../../contract/breaker';
import { METRIC } from '../../contract/metrics';
import { DETAIL_TYPE_BREAKER_CLOSED, DETAIL_TYPE_BREAKER_OPENED } from '../../contract/owner-events';
import type { StepBehaviour } from '../../local/sfn';
import { createMachine, FIXTURE_START, redrivesOf, type SimEnv, simEnv, startExecution, startEachSecond, names, drainAt } from '../support/local';

jest.setTimeout(60_000);

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:downstream';
const OUTAGE_ERROR = 'Lambda.ServiceException';
const SECOND = 1000;

/** A downstream that is down until `world.down` is false. */
function downstream(world: { down: boolean }): StepBehaviour {
  return () => (world.down ? { ok: false, error: OUTAGE_ERROR, cause: 'downstream answered 503' } : { ok: true });
}

let env: SimEnv;
afterEach(async () => env?.stop());

const groupOf = (sm: string) => ({ stateMachineArn: sm, errorName: OUTAGE_ERROR });

/**
 * Every failure redriven at most once, per the stand-in's own log: each redrive carries
 * its failure's clientToken (ar-<redriveCount>-<hash of the ARN>), so a second redrive
 * meant for the same failure would repeat a token.
 */
function expectNoFailureRedrivenTwice() {
  const tokens = env.standIn.redrives.map((r) => `${r.executionArn} ${r.clientToken}`);
  expect(tokens.filter((t, i) => tokens.indexOf(t) !== i)).toEqual([]);
  for (const r of env.standIn.redrives) expect(r.clientToken).toMatch(/^ar-\d+-/);
}

describe('open -> probe -> close -> release', () => {
  test('an outage: failures are held once 5 have failed, probes find it still down, then up; everything held is released and recovers', async () => {
    const world = { down: true };
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: { threshold: 5 } });
    const sm = await createMachine(env, 'orders', LAMBDA, downstream(world));
    const arns = await startEachSecond(env, sm, names('e', 8));

    // The first four were scheduled (backoff); the fifth opened the breaker; the rest are held.
    const decisions = await Promise.all(arns.map(async (a) => (await env.deps.audit.trail(a)).map((t) => `${t.decision}/${t.reason}/${t.action}`)));
    expect(decisions.slice(0, 4)).toEqual(Array(4).fill(['redrive-later/backoff/scheduled']));
    expect(decisions.slice(4)).toEqual(Array(4).fill(['hold/breaker-open/held']));
    expect(env.standIn.redrives).toHaveLength(0);
    const [open] = await env.deps.breakers.active();
    expect(open).toMatchObject({ group: groupOf(sm), state: { status: 'open', probe: null, failedProbes: 0 } });
    const opened = env.notifier.breakerEvents.filter((e) => e.detailType === DETAIL_TYPE_BREAKER_OPENED);
    expect(opened).toHaveLength(1);
    expect(opened[0].detail).toMatchObject({ stateMachineArn: sm, errorName: OUTAGE_ERROR, failuresInWindow: 5, held: 1, reason: 'threshold' });
    expect(opened[0].detail.firstFailure).toEqual({ executionArn: arns[4], error: OUTAGE_ERROR, cause: 'downstream answered 503' });
    expect(JSON.stringify(env.notifier.breakerEvents)).not.toContain('hunter2');
    expect(env.metrics.sum(METRIC.breakerOpened)).toBe(1);
    expect((await env.deps.ledger.get(arns[5], 0))?.state).toBe('held');

    // The scheduled four come due: held, without a DescribeExecution each. The first probe
    // (30 s after opening) redrives the oldest held failure, which fails again.
    const describesBefore = env.standIn.calls.filter((c) => c.op === 'DescribeExecution').length;
    await drainAt(env, open.state.nextProbeAt! + 30 * SECOND);
    expect(await env.deps.ledger.heldCount(heldShard(groupOf(sm)))).toBe(8);
    expect(redrivesOf(env, arns[0])).toBe(1);
    expect(redrivesOf(env, arns[1])).toBe(0);
    // Only the probe was described (the due ones were held without a look).
    expect(env.standIn.calls.filter((c) => c.op === 'DescribeExecution').length - describesBefore).toBeLessThanOrEqual(11);
    let [b] = await env.deps.breakers.active();
    expect(b.state).toMatchObject({ status: 'open', probe: null, failedProbes: 1, probeIntervalMs: 60_000 });
    expect((await env.deps.ledger.get(arns[0], 1))?.state).toBe('held');
    expect(env.metrics.sum(METRIC.probes, { Outcome: 'same-error' })).toBe(1);

    // Not yet due: nothing happens.
    await drainAt(env, b.state.nextProbeAt! - SECOND);
    expect(env.standIn.redrives).toHaveLength(1);

    // The downstream is back: the next probe (another execution) succeeds, the breaker
    // closes and the same drain run releases every held failure.
    world.down = false;
    const report = await drainAt(env, b.state.nextProbeAt!);
    expect(redrivesOf(env, arns[1])).toBe(1);
    const closed = env.notifier.breakerEvents.filter((e) => e.detailType === DETAIL_TYPE_BREAKER_CLOSED);
    expect(closed.map((e) => e.detail)).toMatchObject([{ reason: 'probe-succeeded', held: 7, failedProbes: 1, status: 'releasing' }]);
    expect(report.breakers?.released.length).toBe(7);
    for (const arn of arns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    expect(redrivesOf(env, arns[0])).toBe(2); // probe, then release of its second failure
    for (const arn of arns.slice(1)) expect(redrivesOf(env, arn)).toBe(1);
    expectNoFailureRedrivenTwice();
    const trail = await env.deps.audit.trail(arns[7]);
    expect(trail.map((t) => `${t.source}:${t.decision}/${t.reason}/${t.action}`)).toEqual(['event:hold/breaker-open/held', 'release:redrive/release/redriven']);
    const probeTrail = await env.deps.audit.trail(arns[1]);
    expect(probeTrail.map((t) => `${t.source}:${t.decision}/${t.reason}/${t.action}`)).toEqual([
      'event:redrive-later/backoff/scheduled',
      'drain:hold/breaker-open/held',
      'probe:redrive/probe/redriven',
    ]);

    // Releasing until the grace period has passed with nothing left, then closed.
    [b] = await env.deps.breakers.active();
    expect(b.state.status).toBe('releasing');
    await drainAt(env, env.clock.now() + 3 * 60 * SECOND);
    expect(await env.deps.breakers.active()).toEqual([]);
    expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'closed' });
    expect(env.metrics.sum(METRIC.breakerClosed, { Reason: 'probe-succeeded' })).toBe(1);
  });

  test('a probe whose status-change events are lost: the drain learns its outcome from DescribeExecution', async () => {
    const world = { down: true };
    env = await simEnv(FIXTURE_START, { detachBus: true });
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: { threshold: 5 } });
    const sm = await createMachine(env, 'orders', LAMBDA, downstream(world));
    const arns: string[] = [];
    for (let i = 0; i < 6; i++) {
      arns.push(await startExecution(env, sm, `lost-${i}`));
      await env.standIn.idle();
      const failed = env.standIn.events.find((e) => e.detail.executionArn === arns[i] && e.detail.status === 'FAILED')!;
      await handleStatusChange(failed, env.deps); // only the first failures are delivered
      env.clock.advanceTo(env.clock.now() + SECOND);
    }
    let [b] = await env.deps.breakers.active();
    expect(b.state.status).toBe('open');
    await drainAt(env, b.state.nextProbeAt! + 60 * SECOND); // probe fails; its event is never delivered
    [b] = await env.deps.breakers.active();
    expect(b.state).toMatchObject({ status: 'open', probe: null, failedProbes: 1 });
    // The probe's second failure is not in the ledger (its event was lost), so it is not
    // held; the reconciliation sweep finds it like any failure whose event was lost.
    world.down = false;
    await drainAt(env, b.state.nextProbeAt!);
    expect(env.notifier.breakerEvents.map((e) => e.detail.reason)).toEqual(['threshold', 'probe-succeeded']);
    const lostProbe = arns.filter((a) => env.standIn.getExecution(a)?.status !== 'SUCCEEDED');
    expect(lostProbe).toHaveLength(1);
    expect((await env.deps.ledger.failuresOf(lostProbe[0])).map((f) => [f.redriveCount, f.state, f.reason])).toEqual([[0, 'redriven', 'probe']]);
    const swept = await sweep(env.deps, { since: FIXTURE_START });
    await env.standIn.idle();
    expect(swept.unknownToLedger).toBe(1);
    expect(swept.outcomes.map((o) => o.decision.decision)).toEqual(['redrive-later']); // its backoff
    await drainAt(env, env.clock.now() + 5 * 60 * SECOND);
    for (const arn of arns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    expectNoFailureRedrivenTwice();
  });
});

describe('a shared dependency recovers', () => {
  test("one group's probe succeeds: open groups with the same error name on other state machines probe in the same drain run; another error's group waits", async () => {
    const world = { down: true };
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: { threshold: 5 } });
    const billing = await createMachine(env, 'billing', LAMBDA, downstream(world));
    const orders = await createMachine(env, 'orders', `${LAMBDA}-2`, downstream(world));
    const reports = await createMachine(env, 'reports', `${LAMBDA}-3`, () => ({ ok: false, error: 'Custom.ReportsDown', cause: 'its own outage' }));
    const stateOf = async (sm: string, errorName = OUTAGE_ERROR) => (await env.deps.breakers.read({ stateMachineArn: sm, errorName }))!;

    // billing opens first, and its first probe fails: its next probe is a minute away.
    const billingArns = await startEachSecond(env, billing, names('b', 6));
    await drainAt(env, (await stateOf(billing)).nextProbeAt!);
    const billingBackedOff = await stateOf(billing);
    expect(billingBackedOff).toMatchObject({ status: 'open', failedProbes: 1, probeIntervalMs: 60_000 });
    // Then orders and reports open; orders probes first.
    const orderArns = await startEachSecond(env, orders, names('o', 6));
    await startEachSecond(env, reports, names('r', 6));
    const ordersOpen = await stateOf(orders);
    const reportsOpen = await stateOf(reports, 'Custom.ReportsDown');
    expect(ordersOpen.nextProbeAt!).toBeLessThan(billingBackedOff.nextProbeAt!);
    expect(reportsOpen).toMatchObject({ status: 'open' });

    world.down = false;
    await drainAt(env, ordersOpen.nextProbeAt!);
    // orders' probe succeeded, so billing probed at once (not at its next probe time) and closed too.
    expect(await stateOf(orders)).toMatchObject({ closeReason: 'probe-succeeded' });
    const billingNow = await stateOf(billing);
    expect(billingNow).toMatchObject({ closeReason: 'probe-succeeded' });
    expect(billingNow.closedAt!).toBeLessThan(billingBackedOff.nextProbeAt!);
    for (const arn of billingArns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    // Another error name is another dependency: reports keeps its own schedule.
    expect(await stateOf(reports, 'Custom.ReportsDown')).toEqual(reportsOpen);
    // (orders' first four were scheduled before it opened: they are redriven when due.)
    await drainAt(env, env.clock.now() + 60 * SECOND);
    for (const arn of orderArns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    expectNoFailureRedrivenTwice();
  });
});

describe('the event path of a fresh failure', () => {
  test('no ledger read: claimed, counted, then redriven or (once open) held, each with its audit entry in the settling write', async () => {
    env = await simEnv(FIXTURE_START);
    // Redriven at once; redrives that fail again do not open it (a high redrive threshold), 5 first failures do.
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1, jitter: 'NONE', breaker: { threshold: 5, redriveFailureThreshold: 100 } });
    const world = { down: true };
    const sm = await createMachine(env, 'orders', LAMBDA, downstream(world));
    const read: string[] = [];
    let claimsNew = 0;
    const claimNew = env.deps.ledger.claimNew.bind(env.deps.ledger);
    env.deps.ledger.claimNew = async (...args) => {
      claimsNew++;
      return claimNew(...args);
    };
    const failuresOf = env.deps.ledger.failuresOf.bind(env.deps.ledger);
    env.deps.ledger.failuresOf = async (arn) => {
      read.push(arn);
      return failuresOf(arn);
    };
    const arns = await startEachSecond(env, sm, names('f', 7));
    const firstEvents = async (arn: string) => (await env.deps.audit.trail(arn)).filter((t) => t.redriveCount === 0).map((t) => `${t.source}:${t.decision}/${t.reason}/${t.action}`);
    for (const arn of arns.slice(0, 4)) expect(await firstEvents(arn)).toEqual(['event:redrive/no-delay/redriven']);
    for (const arn of arns.slice(4)) expect(await firstEvents(arn)).toEqual(['event:hold/breaker-open/held']);
    // The only history reads were for the redriven ones' second failures (redriveCount 1).
    expect(new Set(read)).toEqual(new Set(arns.slice(0, 4)));
    for (const arn of arns.slice(4)) {
      expect(await env.deps.ledger.get(arn, 0)).toMatchObject({ state: 'held', heldAt: expect.any(Number), decisions: [expect.objectContaining({ decision: 'hold', action: 'held' })] });
      expect(await env.deps.ledger.get(arn, 0)).not.toHaveProperty('claimToken');
    }
    expect(await env.deps.ledger.heldCount(heldShard(groupOf(sm)))).toBe(3);
    expect(env.metrics.sum(METRIC.heldFailures)).toBe(3);
    expect(claimsNew).toBe(7);

    // Probe and release go through the event path too, but never try a fresh claim: their records exist.
    world.down = false;
    // (maxRedrives 1: a probe spends an execution's last redrive only after LAST_REDRIVE_PROBE_WAIT_INTERVALS.)
    await drainAt(env, env.clock.now() + 40 * 60 * SECOND);
    for (const arn of arns.slice(4)) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    expect(claimsNew).toBe(7);
  });
});

describe('isolated failures never open it', () => {
  test('four failures within the window, then one more long after: all decided normally', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0 });
    const sm = await createMachine(env, 'orders', LAMBDA, { kind: 'fail-times', times: 1, error: OUTAGE_ERROR });
    await startEachSecond(env, sm, names('e', 4));
    env.clock.advanceTo(env.clock.now() + 20 * 60 * SECOND); // past the 15-minute window
    const [late] = await startEachSecond(env, sm, names('late', 1));
    expect(env.standIn.redrives).toHaveLength(5);
    expect(await env.deps.breakers.active()).toEqual([]);
    expect(env.standIn.getExecution(late)?.status).toBe('SUCCEEDED');
  });

  test('breaker: { enabled: false } turns it off for a policy', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1, breaker: { enabled: false } });
    const sm = await createMachine(env, 'orders', LAMBDA, { kind: 'fail-times', times: 1, error: OUTAGE_ERROR });
    await startEachSecond(env, sm, names('e', 10));
    expect(env.standIn.redrives).toHaveLength(10);
    expect(await env.deps.breakers.active()).toEqual([]);
  });
});

describe('failed redrives open it', () => {
  test('one execution failing again and again counts its first failure once, and each failed redrive', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 6 });
    const sm = await createMachine(env, 'orders', LAMBDA, { kind: 'fail', error: OUTAGE_ERROR });
    const [arn] = await startEachSecond(env, sm, names('e', 1));
    // First failure counted once (threshold 20 is far), but its second failed redrive is the
    // second redrive failure of the group: held before more redrives are spent.
    expect(redrivesOf(env, arn)).toBe(2);
    expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'open' });
    expect(await env.deps.ledger.get(arn, 2)).toMatchObject({ state: 'held', reason: 'breaker-open' });
  });
});

describe('hold after exhaustion', () => {
  test('onExhausted: hold keeps the failure (no owner "Exhausted" event); near the end of the 14-day window it is given up with a reason and an owner event', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1, onExhausted: 'hold', holdMarginHours: 24 });
    const sm = await createMachine(env, 'orders', LAMBDA, { kind: 'fail', error: 'Custom.Broken' });
    const [arn] = await startEachSecond(env, sm, names('e', 1));
    expect(redrivesOf(env, arn)).toBe(1);
    const record = await env.deps.ledger.get(arn, 1);
    expect(record).toMatchObject({ state: 'held', reason: 'exhausted' });
    expect(await env.deps.ledger.heldCount(HELD_EXHAUSTED_SHARD)).toBe(1);
    expect(env.notifier.events).toEqual([]);
    expect(env.metrics.sum(METRIC.heldFailures, { Reason: 'exhausted' })).toBe(1);

    await drainAt(env, record!.stopDate! + 12 * 24 * 3600 * SECOND);
    expect((await env.deps.ledger.get(arn, 1))?.state).toBe('held');
    await drainAt(env, record!.stopDate! + 13 * 24 * 3600 * SECOND + SECOND);
    expect(await env.deps.ledger.get(arn, 1)).toMatchObject({ state: 'skipped', reason: 'redrive-window-ending' });
    expect(env.notifier.events.map((e) => [e.detailType, e.detail.reason])).toEqual([['Auto Redrive Skipped', 'redrive-window-ending']]);
    const trail = await env.deps.audit.trail(arn);
    expect(trail.at(-1)).toMatchObject({ decision: 'skip', reason: 'redrive-window-ending', action: 'skipped' });
  });
});
