/**
 * The breaker's opening signals and its probe choice, end to end (real SDK against
 * dynalite and the Step Functions stand-in, simulated clock): a slow outage's failed
 * redrives make it failing, and it opens once they are still failing after the wait (the
 * next redrive delay + a probe interval), an execution's last redrive waiting for it; a
 * flaky state machine's successes arrive within the wait and it never opens; isolated
 * failures whose redrives succeed never open it; and the probe is the held failure with the
 * most redrives left, not the oldest, and spends a last redrive once its policy's backoff has passed.
 */
import { heldShard } from '../../contract/breaker';
import type { StepBehaviour } from '../../local/sfn';
import { METRIC } from '../../contract/metrics';
import { drain } from '../../lambda/scheduled-drain';
import { createMachine, FIXTURE_START, redrivesOf, type SimEnv, simEnv, startEachSecond, drainAt, OPENS_AT_ONCE } from '../support/local';

jest.setTimeout(60_000);

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:downstream';
const OUTAGE_ERROR = 'Lambda.ServiceException';
const SECOND = 1000;

let env: SimEnv;
afterEach(async () => env?.stop());

const groupOf = (sm: string) => ({ stateMachineArn: sm, errorName: OUTAGE_ERROR });

test('a slow outage: when their redrives fail again it is failing, not open, and redrives follow the policy; still failing after the wait, it opens and holds', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', maxRedrives: 3 });
  const sm = await createMachine(env, 'orders', LAMBDA, () => ({ ok: false, error: OUTAGE_ERROR, cause: 'downstream answered 503' }));
  const arns = await startEachSecond(env, sm, ['e-0', 'e-1', 'e-2']);
  expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'closed', failingSince: null });

  // Their first redrives come due: each fails again with the same error.
  await drainAt(env, env.clock.now() + 60 * SECOND);
  const failing = await env.deps.breakers.read(groupOf(sm));
  expect(failing).toMatchObject({ status: 'closed' });
  // The wait: the failed redrive's next delay (60 s x 2) plus one probe interval (30 s).
  expect(failing.opensAt! - failing.failingSince!).toBe(150 * SECOND);
  expect(env.metrics.sum(METRIC.breakerOpened)).toBe(0);
  for (const arn of arns) expect(redrivesOf(env, arn)).toBe(1);

  // Their second redrives (due 120 s after, within the wait) go at the policy's pace and fail
  // again; a failure seen after the wait, with no success meanwhile, opens it and is held.
  await drainAt(env, failing.opensAt! - SECOND);
  for (const arn of arns) expect(redrivesOf(env, arn)).toBe(2);
  expect((await env.deps.breakers.read(groupOf(sm))).status).not.toBe('open');
  await drainAt(env, failing.opensAt!);
  const [late] = await startEachSecond(env, sm, ['late-0']);
  expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'open', failingSince: null });
  expect(env.metrics.sum(METRIC.breakerOpened)).toBe(1);
  expect(await env.deps.ledger.get(late, 0)).toMatchObject({ state: 'held', reason: 'breaker-open' });
  // Their last redrives (due 240 s after the second failures) are held when they come due: no redrive spent into the outage.
  await drainAt(env, env.clock.now() + 240 * SECOND);
  for (const arn of arns) expect(redrivesOf(env, arn)).toBe(2);
});

test('a flaky state machine starting up: failed redrives first, their successes one backoff later, within the wait: it never opens, nothing is held', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 10, jitter: 'NONE', maxRedrives: 3 });
  // Each execution fails twice, then succeeds (a flaky dependency, not an outage).
  const sm = await createMachine(env, 'orders', LAMBDA, ({ attempt }) => (attempt <= 2 ? { ok: false, error: OUTAGE_ERROR, cause: 'flaky' } : { ok: true }));
  const arns = await startEachSecond(env, sm, ['f-0', 'f-1', 'f-2', 'f-3', 'f-4', 'f-5']);
  await drainAt(env, env.clock.now() + 12 * SECOND); // first redrives fail again: failing
  const failing = await env.deps.breakers.read(groupOf(sm));
  expect(failing.failingSince).not.toBeNull();
  for (let s = 0; s < 6; s++) await drainAt(env, env.clock.now() + 10 * SECOND); // second redrives succeed
  for (const arn of arns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
  expect(env.metrics.sum(METRIC.breakerOpened)).toBe(0);
  expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'closed', failingSince: null, opensAt: null });
  expect(await env.deps.ledger.heldCount(heldShard(groupOf(sm)))).toBe(0);
});

test("an outage with maxRedrives 2: while it is failing, each execution's last redrive waits for the opening and is then held, not spent; the release recovers them", async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, jitter: 'NONE', maxRedrives: 2 });
  const world = { down: true };
  const sm = await createMachine(env, 'orders', LAMBDA, () => (world.down ? { ok: false, error: OUTAGE_ERROR, cause: 'downstream answered 503' } : { ok: true }));
  const [first, ...arns] = await startEachSecond(env, sm, ['e-0', 'e-1', 'e-2']);
  const failing = await env.deps.breakers.read(groupOf(sm));
  expect(failing).toMatchObject({ status: 'closed' });
  expect(failing.opensAt! - failing.failingSince!).toBe(30 * SECOND); // no backoff: one probe interval
  // e-0's redrives both failed before a second execution's had: one execution is no
  // evidence, so its last went at once and it is given up, as with the breaker off.
  expect(redrivesOf(env, first)).toBe(2);
  // The others' last redrives wait for opensAt; the drain then opens it and holds them.
  for (const arn of arns) expect(redrivesOf(env, arn)).toBe(1);
  expect(await env.deps.ledger.get(arns[1], 1)).toMatchObject({ state: 'pending', dueAt: failing.opensAt });
  await drainAt(env, failing.opensAt!);
  expect((await env.deps.breakers.read(groupOf(sm))).status).toBe('open');
  for (const arn of arns) expect(redrivesOf(env, arn)).toBe(1);
  expect(await env.deps.ledger.heldCount(heldShard(groupOf(sm)))).toBe(2);
  world.down = false;
  // Every held failure is on its last redrive: the probe first waits (up to 4 x 240 s after
  // the opening) for a new failure with more left, then spends one; the release follows.
  for (let m = 1; m <= 20; m++) await drainAt(env, failing.opensAt! + m * 60 * SECOND);
  for (const arn of arns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
});

test.each([
  ['a new execution has succeeded since the opening: the outage is over, and the probe goes at the next drain run', true, false],
  ['no new execution: failures a minute old may mean the outage goes on, so the probe waits, until the group has been quiet for a maximum probe interval', false, false],
  ['ListExecutions is down: no evidence of a success, and the probe waits as for a quiet group', true, true],
])("the probe's wait before spending a last redrive (maxRedrives 2, the outage over): %s", async (_name, startsNewcomer, listingDown) => {
  env = await simEnv(FIXTURE_START, { standIn: { fault: (op) => (listingDown && op === 'ListExecutions' ? 'server-error' : undefined) } });
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, jitter: 'NONE', maxRedrives: 2 });
  const world = { down: true };
  const sm = await createMachine(env, 'orders', LAMBDA, () => (world.down ? { ok: false, error: OUTAGE_ERROR, cause: 'downstream answered 503' } : { ok: true }));
  const [, ...arns] = await startEachSecond(env, sm, ['e-0', 'e-1', 'e-2']);
  const lastFailure = env.clock.now();
  const { opensAt } = await env.deps.breakers.read(groupOf(sm));
  await drainAt(env, opensAt!);
  const opened = await env.deps.breakers.read(groupOf(sm));
  expect(opened.status).toBe('open');
  world.down = false;
  // Its successful run is not forwarded (the rule forwards no first-run SUCCEEDED): only ListExecutions shows it.
  if (startsNewcomer) await startEachSecond(env, sm, ['after-outage']);
  await drainAt(env, opened.nextProbeAt! + 60 * SECOND);
  // With the evidence, the probe's success and the release come in that one drain run.
  expect(arns.map((a) => redrivesOf(env, a))).toEqual(startsNewcomer && !listingDown ? [2, 2] : [1, 1]);
  // Quiet for a maximum probe interval (240 s) since the last failure: the last redrive is spent, not 16 minutes after the opening.
  const quiet = lastFailure + 240 * SECOND;
  for (let at = opened.nextProbeAt! + 120 * SECOND; at <= quiet + 60 * SECOND; at += 60 * SECOND) await drainAt(env, at);
  for (const arn of arns) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
});

test("a shared dependency: while another state machine's breaker for the same error keeps failing its probes, a quiet group's last redrives wait; that breaker's successful probe ends the wait at once", async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, jitter: 'NONE', maxRedrives: 2 });
  const world = { down: true };
  const behaviour: StepBehaviour = () => (world.down ? { ok: false, error: OUTAGE_ERROR, cause: 'Lambda service 500' } : { ok: true });
  const quiet = await createMachine(env, 'orders', LAMBDA, behaviour);
  const busy = await createMachine(env, 'billing', 'arn:aws:lambda:us-east-1:123456789012:function:billing', behaviour);
  const [, ...held] = await startEachSecond(env, quiet, ['q-0', 'q-1', 'q-2']);
  await startEachSecond(env, busy, ['b-0', 'b-1', 'b-2']);
  const opensAt = Math.max(...(await Promise.all([quiet, busy].map(async (sm) => (await env.deps.breakers.read(groupOf(sm))).opensAt!))));
  await drainAt(env, opensAt);
  for (const sm of [quiet, busy]) expect((await env.deps.breakers.read(groupOf(sm))).status).toBe('open');
  // Ten minutes of the outage: the busy state machine's new executions fail and its probes
  // of them fail; the quiet group has no failure of its own after its first minute.
  for (let m = 1; m <= 10; m++) {
    await startEachSecond(env, busy, [`b-new-${m}`]);
    await drainAt(env, opensAt + m * 60 * SECOND);
  }
  expect(held.map((a) => redrivesOf(env, a))).toEqual([1, 1]);
  expect(env.standIn.redrives.filter((r) => r.executionArn.includes(':billing:')).length).toBeGreaterThan(6);
  // The dependency is back: the busy group's next probe succeeds, and the quiet group probes in that drain run.
  world.down = false;
  let busyClosedAt: number | undefined;
  let quietRedrivenAt: number | undefined;
  for (let m = 11; m <= 16 && quietRedrivenAt === undefined; m++) {
    await drainAt(env, opensAt + m * 60 * SECOND);
    if (busyClosedAt === undefined && (await env.deps.breakers.read(groupOf(busy))).status !== 'open') busyClosedAt = env.clock.now();
    if (held.some((a) => redrivesOf(env, a) === 2)) quietRedrivenAt = env.clock.now();
  }
  expect(busyClosedAt).toBeDefined();
  expect(quietRedrivenAt).toBe(busyClosedAt);
  await drainAt(env, env.clock.now() + 60 * SECOND);
  for (const arn of held) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
});

test('isolated failures whose redrives succeed never open it (a trickle)', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE' });
  // Each execution fails on its first run only: its redrive succeeds.
  const sm = await createMachine(env, 'orders', LAMBDA, ({ attempt }) => (attempt === 1 ? { ok: false, error: OUTAGE_ERROR, cause: 'one-off' } : { ok: true }));
  for (let minute = 0; minute < 8; minute++) {
    await startEachSecond(env, sm, [`t-${minute}-a`, `t-${minute}-b`]);
    await drainAt(env, env.clock.now() + 30 * SECOND);
  }
  await drainAt(env, env.clock.now() + 120 * SECOND);
  expect(env.metrics.sum(METRIC.breakerOpened)).toBe(0);
  expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'closed' });
});

/** Drains at the next probe time, then each minute, until a probe was redriven (a held failure becomes due under its policy's backoff). */
async function nextProbe(): Promise<void> {
  const before = env.standIn.redrives.length;
  const b = await env.deps.breakers.read(groupOf(env.standIn.redrives[0]?.executionArn.replace(/:execution:([^:]+):.*/, ':stateMachine:$1') ?? ''));
  await drainAt(env, Math.max(env.clock.now(), b.nextProbeAt ?? 0));
  for (let i = 0; i < 10 && env.standIn.redrives.length === before; i++) await drainAt(env, env.clock.now() + 60 * SECOND);
}

test('the probe is the held failure with the most redrives left, not the oldest; an execution is not probed twice while others were not', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', maxRedrives: 3, breaker: OPENS_AT_ONCE });
  const sm = await createMachine(env, 'orders', LAMBDA, () => ({ ok: false, error: OUTAGE_ERROR, cause: 'downstream answered 503' }));
  const early = await startEachSecond(env, sm, ['early-0', 'early-1']);
  // Both redrives fail again: the second opens it and is held with redriveCount 1 (the
  // first was already scheduled; the drain holds it when it comes due).
  await drainAt(env, env.clock.now() + 60 * SECOND);
  expect(await env.deps.breakers.read(groupOf(sm))).toMatchObject({ status: 'open' });
  const late = await startEachSecond(env, sm, ['late-0', 'late-1']); // held with redriveCount 0, stopped later
  expect(await env.deps.ledger.heldCount(heldShard(groupOf(sm)))).toBe(3);

  await nextProbe();
  expect(late.map((a) => redrivesOf(env, a))).toEqual([1, 0]); // the oldest with no redrive used
  expect(early.map((a) => redrivesOf(env, a))).toEqual([1, 1]);
  const reheld = await env.deps.ledger.get(late[0], 1);
  expect(reheld).toMatchObject({ state: 'held', probes: 1 });

  await nextProbe();
  expect(late.map((a) => redrivesOf(env, a))).toEqual([1, 1]); // rotation: the other one, not late-0 again
  await nextProbe();
  // Every held failure now has 2 redrives left and none was probed but late-0/late-1: an early one.
  expect(early.map((a) => redrivesOf(env, a)).sort()).toEqual([1, 2]);
  expect(late.map((a) => redrivesOf(env, a))).toEqual([1, 1]);
});

test("maxRedrives 1: the probe spends a held failure's last redrive as soon as its policy's backoff has passed (not half an hour later), and the release follows", async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', maxRedrives: 1, breaker: OPENS_AT_ONCE });
  const world = { down: true };
  const sm = await createMachine(env, 'orders', LAMBDA, () => (world.down ? { ok: false, error: OUTAGE_ERROR, cause: 'downstream answered 503' } : { ok: true }));
  await startEachSecond(env, sm, ['e-0', 'e-1']);
  await drainAt(env, env.clock.now() + 60 * SECOND); // their only redrives fail again: it opens
  expect((await env.deps.breakers.read(groupOf(sm))).status).toBe('open');
  const held = await startEachSecond(env, sm, ['h-0', 'h-1', 'h-2']);
  world.down = false; // a blip: over already
  const heldAt = env.clock.now();
  // Before the held failures' own backoff (60 s) nothing of theirs is redriven.
  await drainAt(env, heldAt + 30 * SECOND);
  expect(held.map((a) => redrivesOf(env, a))).toEqual([0, 0, 0]);
  // Within a few minutes: probed at its due time, closed, everything released.
  for (let m = 1; m <= 4; m++) await drainAt(env, heldAt + m * 60 * SECOND);
  for (const arn of held) expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
  expect(env.clock.now() - heldAt).toBeLessThanOrEqual(5 * 60 * SECOND);
});

test('a sparse group in a shared outage: with another state machine open for the same specific error, one execution\'s failed redrive opens it; with an error of its own it does not', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', maxRedrives: 3 });
  const down = () => ({ ok: false as const, error: OUTAGE_ERROR, cause: 'downstream answered 503' });
  const busy = await createMachine(env, 'busy', LAMBDA, down);
  // The busy one opens at once (its own policy); the sparse one keeps the default wait, which a shared outage skips.
  await env.putPolicy({ stateMachine: busy, intervalSeconds: 60, jitter: 'NONE', maxRedrives: 3, breaker: OPENS_AT_ONCE });
  const sparse = await createMachine(env, 'sparse', `${LAMBDA}-2`, down);
  const loner = await createMachine(env, 'loner', `${LAMBDA}-3`, () => ({ ok: false, error: 'Custom.OwnBug', cause: 'a bug of its own' }));
  await startEachSecond(env, busy, ['b-0', 'b-1']);
  await drainAt(env, env.clock.now() + 60 * SECOND);
  expect((await env.deps.breakers.read(groupOf(busy))).status).toBe('open');

  const [one] = await startEachSecond(env, sparse, ['s-0']);
  const [own] = await startEachSecond(env, loner, ['l-0']);
  await drainAt(env, env.clock.now() + 60 * SECOND); // their first redrives fail again
  expect(redrivesOf(env, one)).toBe(1);
  expect((await env.deps.breakers.read(groupOf(sparse))).status).toBe('open');
  expect(await env.deps.ledger.get(one, 1)).toMatchObject({ state: 'held', reason: 'breaker-open' });
  expect(redrivesOf(env, own)).toBe(1);
  expect((await env.deps.breakers.read({ stateMachineArn: loner, errorName: 'Custom.OwnBug' })).status).toBe('closed');
});

test.each([
  ['releasing', { breakers: { releaseBudgetMs: 0 } }],
  ['closed', {}],
] as const)("a redrive scheduled before the opening that comes due once the breaker is %s goes out as the release does: no DescribeExecution (a storm's scheduled redrives are not paced at 15/s)", async (status, options) => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', maxRedrives: 3, backoffRate: 4, breaker: OPENS_AT_ONCE });
  const world = { down: true };
  const sm = await createMachine(env, 'orders', LAMBDA, () => (world.down ? { ok: false, error: OUTAGE_ERROR, cause: 'downstream answered 503' } : { ok: true }));
  const [scheduled] = await startEachSecond(env, sm, ['s-0', 'h-0', 'h-1']);
  // s-0's redrive fails first (one execution: no evidence) and its next is scheduled 240 s
  // later (past the release's 2-minute grace); h-0's failed redrive opens it, and h-1's is held.
  await drainAt(env, env.clock.now() + 60 * SECOND);
  expect((await env.deps.breakers.read(groupOf(sm))).status).toBe('open');
  const pending = (await env.deps.ledger.get(scheduled, 1))!;
  expect(pending).toMatchObject({ state: 'pending' });
  // A failure held with its backoff (60 s) shorter than s-0's: the probe.
  await startEachSecond(env, sm, ['h-2']);
  world.down = false;
  // A probe succeeds; releasing: releases get no time in these runs; closed: the release ran.
  for (let i = 0; i < 24 && (await env.deps.breakers.read(groupOf(sm))).status !== status; i++) {
    env.clock.advanceTo(env.clock.now() + 10 * SECOND);
    await drain(env.deps, options);
    await env.settle();
  }
  expect((await env.deps.breakers.read(groupOf(sm))).status).toBe(status);
  expect(env.clock.now()).toBeLessThan(pending.dueAt!);
  const describedBefore = env.standIn.calls.filter((c) => c.op === 'DescribeExecution').length;
  env.clock.advanceTo(pending.dueAt!);
  await drain(env.deps, options);
  await env.settle();
  expect(redrivesOf(env, scheduled)).toBe(2);
  expect(env.standIn.getExecution(scheduled)?.status).toBe('SUCCEEDED');
  expect(env.standIn.calls.filter((c) => c.op === 'DescribeExecution').length).toBe(describedBefore);
});
