/**
 * Approval before redrive (policy `approval: true`), end to end on dynalite and the
 * stand-in: a failure is held for a person with an `Auto Redrive Approval Requested` event
 * (no redrive used); approve releases it through the normal path (audited, approvedBy on
 * the record) and it succeeds; reject records a skip with the person's reason; an approval
 * not given in time is given up before the redrive window ends, with an event; an approved
 * failure held by an open breaker is not held for approval again when released.
 */
import { HELD_APPROVAL_SHARD } from '../../contract/approval';
import { REDRIVE_WINDOW_MS } from '../../contract/breaker';
import { METRIC } from '../../contract/metrics';
import { approveExecution, approveStateMachine, awaitingApproval, rejectExecution, summarize } from '../../lambda/approval/approve';
import { ReleaseWhilePausedError } from '../../lambda/breaker/release';
import { processStatusChange } from '../../lambda/event-path';
import { eventFromRecord } from '../../lambda/event/from-record';
import { drain } from '../../lambda/scheduled-drain';
import type { StepBehaviour } from '../../local/sfn';
import { createMachine, drainAt, FIXTURE_START, names, redrivesOf, type SimEnv, simEnv, startEachSecond, OPENS_AT_ONCE } from '../support/local';

jest.setTimeout(60_000);

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:charge-card';
const ERROR = 'Payments.Timeout';
const ALICE = 'arn:aws:sts::123456789012:assumed-role/oncall/alice';
const HOUR = 3_600_000;

let env: SimEnv;
afterEach(async () => env?.stop());

const world = { down: true };
const downstream: StepBehaviour = () => (world.down ? { ok: false, error: ERROR, cause: 'gateway timeout' } : { ok: true });
beforeEach(() => {
  world.down = true;
});

const trailOf = async (arn: string) => (await env.deps.audit.trail(arn)).map((t) => `${t.source}:${t.decision}/${t.reason}/${t.action}`);
const statusOf = (arn: string) => env.standIn.getExecution(arn)?.status;

async function setUp(policy: Record<string, unknown> = {}): Promise<string> {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, approval: true, ...policy, breaker: OPENS_AT_ONCE });
  return createMachine(env, 'payments', LAMBDA, downstream);
}

test('held for approval: no redrive, one Approval Requested event (not repeated by a second delivery); approve redrives it through the normal path and it succeeds', async () => {
  const sm = await setUp();
  const [arn] = await startEachSecond(env, sm, names('charge', 1));

  expect(redrivesOf(env, arn)).toBe(0);
  const [record] = await env.deps.ledger.failuresOf(arn);
  expect(record).toMatchObject({ state: 'held', reason: 'awaiting-approval', dueShard: expect.stringMatching(/^HELD-APPROVAL#/) });
  expect(await trailOf(arn)).toEqual(['event:hold/awaiting-approval/held']);
  expect(env.metrics.sum(METRIC.heldFailures, { Reason: 'awaiting-approval' })).toBe(1);

  expect(env.notifier.approvalRequests).toHaveLength(1);
  const [request] = env.notifier.approvalRequests;
  expect(request).toMatchObject({ executionArn: arn, stateMachineArn: sm, error: ERROR, cause: 'gateway timeout', redriveCount: 0, policyKey: '*' });
  expect(request.approveCommand).toBe(`npx redrivectl approve ${arn}`);
  expect(request).not.toHaveProperty('failedState');
  // It may wait until holdMarginHours (24) before the 14-day window ends.
  expect(Date.parse(request.approveBy)).toBe(record.stopDate! + REDRIVE_WINDOW_MS - 24 * HOUR);
  expect(request.mayWaitSeconds).toBe(Math.floor((Date.parse(request.approveBy) - Date.parse(request.heldAt)) / 1000));

  // The same event again (a second delivery, the sweep): still held, no second request, nothing redriven.
  await processStatusChange(eventFromRecord(record, env.clock.now(), 'event'), env.deps, { source: 'event' });
  expect(env.notifier.approvalRequests).toHaveLength(1);
  expect(redrivesOf(env, arn)).toBe(0);

  // The drain does not touch it.
  await drainAt(env, env.clock.now() + HOUR);
  expect(redrivesOf(env, arn)).toBe(0);
  expect(summarize(await awaitingApproval(env.deps.ledger))).toEqual([{ stateMachineArn: sm, count: 1, oldest: expect.objectContaining({ executionArn: arn }) }]);

  world.down = false;
  const outcomes = await approveExecution(arn, ALICE, env.deps);
  await env.settle();
  expect(outcomes.map((o) => `${o.decision.decision}/${o.decision.reason}/${o.action}`)).toEqual(['redrive/release/redriven']);
  expect(outcomes[0].decision.detail).toContain(`approved by ${ALICE}`);
  expect(redrivesOf(env, arn)).toBe(1);
  expect(statusOf(arn)).toBe('SUCCEEDED');
  const [after] = await env.deps.ledger.failuresOf(arn);
  expect(after).toMatchObject({ state: 'redriven', approvedBy: ALICE });
  // The second delivery is in the trail too (a repeated hold), without a second request.
  expect(await trailOf(arn)).toEqual(['event:hold/awaiting-approval/held', 'event:hold/awaiting-approval/held', 'release:redrive/release/redriven']);
  expect(await awaitingApproval(env.deps.ledger)).toEqual([]);
  // Approving again finds nothing held for approval.
  expect(await approveExecution(arn, ALICE, env.deps)).toEqual([]);
});

test('a failed approved redrive is a new failure: held for approval again (each redrive is approved)', async () => {
  const sm = await setUp();
  const [arn] = await startEachSecond(env, sm, names('again', 1));
  await approveExecution(arn, ALICE, env.deps);
  await env.settle();
  const records = await env.deps.ledger.failuresOf(arn);
  expect(records.map((r) => `${r.redriveCount}:${r.state}/${r.reason}`)).toEqual(['0:redriven/redriven', '1:held/awaiting-approval']);
  expect(records[1].approvedBy).toBeUndefined();
  expect(env.notifier.approvalRequests.map((r) => r.redriveCount)).toEqual([0, 1]);
});

test('reject: a skip rejected with the person and the reason, audited; nothing redriven; approve then finds nothing', async () => {
  const sm = await setUp();
  const [arn] = await startEachSecond(env, sm, names('refund', 1));
  const rejected = await rejectExecution(arn, ALICE, 'the card was charged: INC-42', env.deps);
  expect(rejected.map((r) => r.redriveCount)).toEqual([0]);
  const [record] = await env.deps.ledger.failuresOf(arn);
  expect(record).toMatchObject({ state: 'skipped', reason: 'rejected', rejectedBy: ALICE, rejectedWhy: 'the card was charged: INC-42' });
  expect(record.dueShard).toBeUndefined();
  const trail = await env.deps.audit.trail(arn);
  expect(trail.map((t) => `${t.decision}/${t.reason}/${t.action}`)).toEqual(['hold/awaiting-approval/held', 'skip/rejected/skipped']);
  expect(trail[1].detail).toBe(`rejected by ${ALICE}: the card was charged: INC-42`);
  expect(await approveExecution(arn, ALICE, env.deps)).toEqual([]);
  await drainAt(env, env.clock.now() + HOUR);
  expect(redrivesOf(env, arn)).toBe(0);
});

test('approve --state-machine approves every failure of that state machine held for approval, oldest first; refused while paused (they stay held)', async () => {
  const sm = await setUp();
  const other = await createMachine(env, 'other', LAMBDA, downstream);
  const arns = await startEachSecond(env, sm, names('batch', 3));
  const [otherArn] = await startEachSecond(env, other, names('other', 1));

  await env.deps.killSwitch.pause('incident', 'test', env.clock.now());
  await expect(approveStateMachine(sm, ALICE, env.deps, { concurrency: 2 })).rejects.toBeInstanceOf(ReleaseWhilePausedError);
  expect((await awaitingApproval(env.deps.ledger)).length).toBe(4);
  await env.deps.killSwitch.resume();
  env.clock.advanceTo(env.clock.now() + 10_000);

  world.down = false;
  const outcomes = await approveStateMachine(sm, ALICE, env.deps, { concurrency: 2 });
  await env.settle();
  expect(outcomes.map((o) => o.executionArn)).toEqual(arns);
  expect(outcomes.every((o) => o.action === 'redriven')).toBe(true);
  expect((await awaitingApproval(env.deps.ledger)).map((r) => r.executionArn)).toEqual([otherArn]);
  expect(summarize(await awaitingApproval(env.deps.ledger, { stateMachineArn: other }))).toHaveLength(1);
});

test('an approval not given in time is given up holdMarginHours before the 14-day window ends, with an event; nothing waits forever', async () => {
  const sm = await setUp({ holdMarginHours: 6 });
  const [arn] = await startEachSecond(env, sm, names('late', 1));
  const [record] = await env.deps.ledger.failuresOf(arn);
  const giveUpAt = record.stopDate! + REDRIVE_WINDOW_MS - 6 * HOUR;

  await drainAt(env, giveUpAt - 60_000);
  expect((await env.deps.ledger.failuresOf(arn))[0]).toMatchObject({ state: 'held', reason: 'awaiting-approval' });
  expect(env.metrics.points.filter((p) => p.name === METRIC.awaitingApproval).at(-1)?.value).toBe(1);

  const report = await drainAt(env, giveUpAt + 60_000);
  expect(report.breakers?.gaveUp).toBe(1);
  expect((await env.deps.ledger.failuresOf(arn))[0]).toMatchObject({ state: 'skipped', reason: 'redrive-window-ending' });
  const skipped = env.notifier.events.find((e) => e.detail.executionArn === arn);
  expect(skipped?.detail.reason).toBe('redrive-window-ending');
  expect(skipped?.detail.detail).toContain('no one approved or rejected it');
  expect(redrivesOf(env, arn)).toBe(0);
  expect(await env.deps.ledger.heldCount(HELD_APPROVAL_SHARD)).toBe(0);
});

test('after approval the breaker still applies: an approved failure held by an open breaker is released later without a second approval', async () => {
  const sm = await setUp({ intervalSeconds: 60, jitter: 'NONE' });
  // Two approved redrives fail again with the same error (each held for the next approval): the breaker opens.
  const openers = await startEachSecond(env, sm, names('opener', 2));
  await drainAt(env, env.clock.now() + 60_000);
  for (const a of openers) await approveExecution(a, ALICE, env.deps);
  await env.settle();
  expect((await env.deps.breakers.active()).map((b) => b.state.status)).toEqual(['open']);
  for (const a of openers) expect((await env.deps.ledger.failuresOf(a)).map((r) => `${r.state}/${r.reason}`)).toEqual(['redriven/redriven', 'held/awaiting-approval']);

  // A new failure, approved while the breaker is open: held by the breaker, approvedBy kept.
  const [arn] = await startEachSecond(env, sm, names('later', 1));
  const outcomes = await approveExecution(arn, ALICE, env.deps);
  expect(outcomes.map((o) => `${o.decision.decision}/${o.decision.reason}`)).toEqual(['hold/breaker-open']);
  expect((await env.deps.ledger.failuresOf(arn))[0]).toMatchObject({ state: 'held', reason: 'breaker-open', approvedBy: ALICE });

  // The dependency recovers; probes and the release redrive it without asking again.
  world.down = false;
  const requests = env.notifier.approvalRequests.length;
  for (let i = 0; i < 30 && redrivesOf(env, arn) === 0; i++) await drain(env.deps).then(() => env.settle()).then(() => env.clock.advanceTo(env.clock.now() + 60_000));
  expect(redrivesOf(env, arn)).toBe(1);
  expect(env.notifier.approvalRequests.length).toBe(requests);
});

test('a hand-edited approval: "yes" makes the item invalid: the failure is skipped policy-invalid, naming the item and the field; nothing held or redriven', async () => {
  const sm = await setUp({ approval: 'yes' });
  const [arn] = await startEachSecond(env, sm, names('typo', 1));
  const [entry] = await env.deps.audit.trail(arn);
  expect(entry).toMatchObject({ decision: 'skip', reason: 'policy-invalid' });
  expect(entry.detail).toContain("policy '*' is invalid, so no policy is applied: approval: must be true or false");
  expect(env.notifier.approvalRequests).toEqual([]);
  expect(redrivesOf(env, arn)).toBe(0);
});

test('approval turned off: the next drain run sends failures held for approval back through decide(): redriven', async () => {
  const sm = await setUp();
  const arns = await startEachSecond(env, sm, names('off', 2));
  await drainAt(env, env.clock.now() + 60_000);
  expect(arns.map((a) => redrivesOf(env, a))).toEqual([0, 0]);

  world.down = false;
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, breaker: OPENS_AT_ONCE });
  env.clock.advanceTo(env.clock.now() + 120_000);
  const report = await drain(env.deps);
  await env.settle();
  expect(report.breakers?.released.map((o) => `${o.decision.decision}/${o.decision.reason}/${o.action}`)).toEqual(['redrive/release/redriven', 'redrive/release/redriven']);
  expect(arns.map((a) => redrivesOf(env, a))).toEqual([1, 1]);
  expect(await awaitingApproval(env.deps.ledger)).toEqual([]);
});

test('the policy disabled: failures held for approval are parked (policy-disabled) and decided again when it is enabled', async () => {
  const sm = await setUp();
  const [arn] = await startEachSecond(env, sm, names('disabled', 1));
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, approval: true, enabled: false, breaker: OPENS_AT_ONCE });
  env.clock.advanceTo(env.clock.now() + 120_000);
  await drain(env.deps);
  await env.settle();
  expect((await env.deps.ledger.failuresOf(arn))[0]).toMatchObject({ state: 'skipped', reason: 'policy-disabled', dueShard: expect.stringMatching(/^PARKED#policy-disabled#/) });

  // Enabled again, still asking for approval: held for approval again (a new request), not redriven.
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, approval: true, breaker: OPENS_AT_ONCE });
  env.clock.advanceTo(env.clock.now() + 120_000);
  await drain(env.deps);
  await env.settle();
  expect((await env.deps.ledger.failuresOf(arn))[0]).toMatchObject({ state: 'held', reason: 'awaiting-approval' });
  expect(redrivesOf(env, arn)).toBe(0);
  expect(env.notifier.approvalRequests.map((r) => r.executionArn)).toEqual([arn, arn]);
});
