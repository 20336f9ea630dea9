/**
 * The outage breaker end to end: the real SDK against dynalite and the Step Functions
 * stand-in, on a simulated clock. A downstream is "down" (every run of the Task fails with
 * one error) and comes back; the breaker opens, holds, probes, closes and releases.
 */
import { handleStatusChange } from '../../lambda/event-path';
import { sweep } from '../../lambda/reconcile';
import { HELD_EXHAUSTED_SHARD, heldShard } from '../../contract/breaker';
import { giveUpNearWindowEnd } from '../../lambda/breaker/release';
import { METRIC } from '../../contract/metrics';
import { DETAIL_TYPE_BREAKER_CLOSED, DETAIL_TYPE_BREAKER_OPENED } from '../../contract/owner-events';
import type { StepBehaviour } from '../../local/sfn';
import { createMachine, FIXTURE_START, redrivesOf, type SimEnv, simEnv, startExecution, startEachSecond, names, drainAt, OPENS_AT_ONCE } from '../support/local';

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

/** Drains once a simulated minute until `done()` (at most `minutes`). */
async function drainEachMinuteUntil(done: () => Promise<boolean> | boolean, minutes = 60): Promise<void> {
  for (let i = 0; i < minutes && !(await done()); i++) await drainAt(env, env.clock.now() + 60 * SECOND);
}

/**
 * Opens the group's breaker the way an outage does: two executions fail, their redrives
 * (60 s later, the policy's backoff) fail again with the same error. Returns their ARNs.
 */
async function openByTwoFailedRedrives(sm: string, prefix = 'first'): Promise<string[]> {
  const arns = await startEachSecond(env, sm, names(prefix, 2));
  expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'closed' }); // first failures alone are evidence of nothing
  await drainAt(env, env.clock.now() + 60 * SECOND);
  expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'open' });
  return arns;
}

describe('open -> probe -> close -> release', () => {
  test('an outage: two failed redrives open it, later failures are held, probes find it still down, then up; everything held is released and recovers', async () => {
    const world = { down: true };
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: OPENS_AT_ONCE });
    const sm = await createMachine(env, 'orders', LAMBDA, downstream(world));
    const first = await openByTwoFailedRedrives(sm);
    const later = await startEachSecond(env, sm, names('e', 6));
    const arns = [...first, ...later];

    for (const arn of later) expect((await env.deps.audit.trail(arn)).map((t) => `${t.decision}/${t.reason}/${t.action}`)).toEqual(['hold/breaker-open/held']);
    const opened = env.notifier.breakerEvents.filter((e) => e.detailType === DETAIL_TYPE_BREAKER_OPENED);
    expect(opened).toHaveLength(1);
    expect(opened[0].detail).toMatchObject({ stateMachineArn: sm, errorName: OUTAGE_ERROR, failuresInWindow: 2 });
    expect(JSON.stringify(env.notifier.breakerEvents)).not.toContain('hunter2');
    expect(env.metrics.sum(METRIC.breakerOpened)).toBe(1);

    // While down: probes fail (same error) and back off; no held execution is redriven
    // before its policy's own backoff (60 s x 2^redriveCount after its failure).
    await drainEachMinuteUntil(() => env.metrics.sum(METRIC.probes, { Outcome: 'same-error' }) >= 2, 30);
    expect(env.metrics.sum(METRIC.probes, { Outcome: 'same-error' })).toBeGreaterThanOrEqual(2);
    for (const r of env.standIn.redrives) {
      const failures = await env.deps.ledger.failuresOf(r.executionArn);
      const redriven = failures.find((f) => (r.clientToken ?? '').startsWith(`ar-${f.redriveCount}-`));
      expect(redriven).toBeDefined();
      expect(r.at).toBeGreaterThanOrEqual(redriven!.stopDate! + 60_000 * 2 ** redriven!.redriveCount - SECOND);
    }
    expect(later.map((a) => redrivesOf(env, a)).filter((n) => n === 0).length).toBeGreaterThanOrEqual(4); // most held used nothing

    // The downstream is back: a probe succeeds, the breaker closes, everything held is released.
    world.down = false;
    await drainEachMinuteUntil(() => arns.every((a) => env.standIn.getExecution(a)?.status === 'SUCCEEDED'), 30);
    for (const arn of arns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    const closed = env.notifier.breakerEvents.filter((e) => e.detailType === DETAIL_TYPE_BREAKER_CLOSED);
    expect(closed.map((e) => e.detail.reason)).toEqual(['probe-succeeded']);
    expectNoFailureRedrivenTwice();
    const trail = await env.deps.audit.trail(later[5]);
    expect(trail[0]).toMatchObject({ source: 'event', decision: 'hold', reason: 'breaker-open' });
    expect(trail.at(-1)).toMatchObject({ action: 'redriven' });

    await drainAt(env, env.clock.now() + 3 * 60 * SECOND);
    expect(await env.deps.breakers.active()).toEqual([]);
    expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'closed' });
  });

  test('a probe whose status-change events are lost: the drain learns its outcome from DescribeExecution', async () => {
    const world = { down: true };
    env = await simEnv(FIXTURE_START, { detachBus: true });
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: OPENS_AT_ONCE });
    const sm = await createMachine(env, 'orders', LAMBDA, downstream(world));
    // Only the events delivered here reach the controller.
    const deliver = async (arn: string, redriveCount: number) => {
      await env.standIn.idle();
      const e = env.standIn.events.find((x) => x.detail.executionArn === arn && x.detail.status === 'FAILED' && x.detail.redriveCount === redriveCount)!;
      await handleStatusChange(e, env.deps);
    };
    const arns: string[] = [];
    for (let i = 0; i < 5; i++) {
      arns.push(await startExecution(env, sm, `lost-${i}`));
      await deliver(arns[i], 0);
      env.clock.advanceTo(env.clock.now() + SECOND);
    }
    // The first two redrives fail again and their events are delivered: it opens.
    await drainAt(env, env.clock.now() + 60 * SECOND);
    for (const arn of arns.slice(0, 2)) await deliver(arn, 1);
    expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'open' });
    // From now on no event is delivered: probes are learned from DescribeExecution only.
    world.down = false;
    await drainEachMinuteUntil(async () => (await env.deps.breakers.read(groupOf(sm))).status !== 'open', 10);
    expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ closeReason: 'probe-succeeded' });
    // Held and scheduled failures come back; any whose failure event was lost is found by the sweep.
    await drainEachMinuteUntil(() => false, 3);
    await sweep(env.deps, { since: FIXTURE_START });
    await env.standIn.idle();
    await drainEachMinuteUntil(() => arns.every((a) => env.standIn.getExecution(a)?.status === 'SUCCEEDED'), 10);
    for (const arn of arns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    expectNoFailureRedrivenTwice();
  });
});

describe('a shared dependency recovers', () => {
  test("one group's probe succeeds: open groups with the same error name on other state machines probe in the same drain run; another error's group waits", async () => {
    const world = { down: true };
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: OPENS_AT_ONCE });
    const billing = await createMachine(env, 'billing', LAMBDA, downstream(world));
    const orders = await createMachine(env, 'orders', `${LAMBDA}-2`, downstream(world));
    const reports = await createMachine(env, 'reports', `${LAMBDA}-3`, () => ({ ok: false, error: 'Custom.ReportsDown', cause: 'its own outage' }));
    const stateOf = async (sm: string, errorName = OUTAGE_ERROR) => (await env.deps.breakers.read({ stateMachineArn: sm, errorName }))!;

    // billing opens first; its probes fail and back off.
    await openByTwoFailedRedrives(billing, 'b');
    const billingArns = await startEachSecond(env, billing, names('bh', 3));
    await drainEachMinuteUntil(async () => (await stateOf(billing)).failedProbes >= 2, 20);
    const billingBackedOff = await stateOf(billing);
    expect(billingBackedOff).toMatchObject({ status: 'open' });
    expect(billingBackedOff.probeIntervalMs).toBeGreaterThanOrEqual(120_000);
    // Then orders and reports open.
    const orderArns = [...(await openByTwoFailedRedrives(orders, 'o')), ...(await startEachSecond(env, orders, names('oh', 3)))];
    const reportsArns = await startEachSecond(env, reports, names('r', 2));
    await drainAt(env, env.clock.now() + 60 * SECOND);
    const reportsOpen = await stateOf(reports, 'Custom.ReportsDown');
    expect(reportsOpen).toMatchObject({ status: 'open' });

    world.down = false;
    await drainEachMinuteUntil(async () => (await stateOf(orders)).status !== 'open', 10);
    expect(await stateOf(orders)).toMatchObject({ closeReason: 'probe-succeeded' });
    const billingNow = await stateOf(billing);
    expect(billingNow).toMatchObject({ closeReason: 'probe-succeeded' });
    expect(billingNow.closedAt!).toBeLessThan(billingBackedOff.nextProbeAt! + billingBackedOff.probeIntervalMs!);
    await drainEachMinuteUntil(() => [...billingArns, ...orderArns].every((a) => env.standIn.getExecution(a)?.status === 'SUCCEEDED'), 10);
    for (const arn of [...billingArns, ...orderArns]) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    // Another error name is another dependency: reports is still open.
    expect((await stateOf(reports, 'Custom.ReportsDown')).status).toBe('open');
    expect(reportsArns).toHaveLength(2);
    expectNoFailureRedrivenTwice();
  });
});

describe('the event path of a fresh failure', () => {
  test('no ledger read and no breaker write: claimed, then redriven or (once open) held, each with its audit entry in the settling write', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1, jitter: 'NONE', breaker: OPENS_AT_ONCE });
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
    let counts = 0;
    const count = env.deps.breakers.count.bind(env.deps.breakers);
    env.deps.breakers.count = async (...args) => {
      counts++;
      return count(...args);
    };
    // Two fresh failures, redriven at once; their redrives fail again: it opens.
    const first = await startEachSecond(env, sm, names('f', 2));
    expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'open' });
    expect(counts).toBe(2); // only the failed redrives were counted
    const later = await startEachSecond(env, sm, names('g', 3));
    const firstEvents = async (arn: string) => (await env.deps.audit.trail(arn)).filter((t) => t.redriveCount === 0).map((t) => `${t.source}:${t.decision}/${t.reason}/${t.action}`);
    for (const arn of first) expect(await firstEvents(arn)).toEqual(['event:redrive/no-delay/redriven']);
    for (const arn of later) expect(await firstEvents(arn)).toEqual(['event:hold/breaker-open/held']);
    // The only history reads were for the redriven ones' second failures (redriveCount 1).
    expect(new Set(read)).toEqual(new Set(first));
    expect(counts).toBe(2);
    for (const arn of later) {
      expect(await env.deps.ledger.get(arn, 0)).toMatchObject({ state: 'held', heldAt: expect.any(Number), decisions: [expect.objectContaining({ decision: 'hold', action: 'held' })] });
      expect(await env.deps.ledger.get(arn, 0)).not.toHaveProperty('claimToken');
    }
    expect(claimsNew).toBe(5);

    // maxRedrives 1: every held failure is on its last redrive; the probe spends one as soon
    // as its policy would have (at once), and the release follows within minutes.
    world.down = false;
    await drainEachMinuteUntil(() => later.every((a) => env.standIn.getExecution(a)?.status === 'SUCCEEDED'), 5);
    for (const arn of later) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    expect(claimsNew).toBe(5);
  });
});

describe('isolated failures never open it', () => {
  test('four failures within the window, then one more long after: all decided normally', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, breaker: OPENS_AT_ONCE });
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

describe('failed redrives open it, one execution alone never does', () => {
  test('one execution failing again and again (poisoned) follows its policy to exhaustion: no breaker, no Breaker Opened event', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 6, breaker: OPENS_AT_ONCE });
    const sm = await createMachine(env, 'orders', LAMBDA, { kind: 'fail', error: OUTAGE_ERROR });
    const [arn] = await startEachSecond(env, sm, names('e', 1));
    expect(redrivesOf(env, arn)).toBe(6);
    expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'closed' });
    expect(env.notifier.breakerEvents).toEqual([]);
    expect(await env.deps.ledger.get(arn, 6)).toMatchObject({ state: 'skipped', reason: 'limit-reached' });
    expect(env.notifier.events.map((e) => e.detail.reason)).toEqual(['limit-reached']);
  });

  test('flaky executions whose redrives often succeed do not open it (successes of redrives are evidence)', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 3, breaker: OPENS_AT_ONCE });
    // Each fails twice, then succeeds: half of all redrives fail with the same error.
    const sm = await createMachine(env, 'orders', LAMBDA, { kind: 'fail-times', times: 2, error: OUTAGE_ERROR });
    const arns = await startEachSecond(env, sm, names('e', 12));
    for (const arn of arns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    expect(env.metrics.sum(METRIC.breakerOpened)).toBe(0);
    expect(env.metrics.sum(METRIC.redrivesSucceeded)).toBe(12);
  });
});

describe('hold after exhaustion', () => {
  test('onExhausted: hold keeps the failure (no owner "Exhausted" event); near the end of the 14-day window it is given up with a reason and an owner event', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1, onExhausted: 'hold', holdMarginHours: 24, breaker: OPENS_AT_ONCE });
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

describe('the end of the redrive window', () => {
  test('a failure held by a breaker with redrives left is redriven once before its window ends, not given up with redrives unused', async () => {
    env = await simEnv(FIXTURE_START);
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', maxRedrives: 3, holdMarginHours: 24, breaker: OPENS_AT_ONCE });
    const sm = await createMachine(env, 'orders', LAMBDA, downstream({ down: true }));
    await openByTwoFailedRedrives(sm);
    const [held] = await startEachSecond(env, sm, names('h', 1));
    const record = await env.deps.ledger.get(held, 0);
    expect(record).toMatchObject({ state: 'held', reason: 'breaker-open' });
    // A day before its window ends (the outage went on: no probe ever chose it), the drain's give-up pass.
    env.clock.advanceTo(record!.stopDate! + 13 * 24 * 3600 * SECOND + SECOND);
    const snapshot = await env.deps.policies.snapshot(env.clock.now());
    await giveUpNearWindowEnd(env.deps, snapshot, [heldShard(groupOf(sm))]);
    await env.settle();
    expect(redrivesOf(env, held)).toBe(1);
    const trail = await env.deps.audit.trail(held);
    expect(trail.some((t) => t.reason === 'redrive-window-ending')).toBe(false);
    expect(trail.some((t) => t.decision === 'redrive' && t.action === 'redriven')).toBe(true);
  });
});
