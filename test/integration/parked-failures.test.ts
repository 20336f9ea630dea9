/**
 * Pause and release never drop anything (issue 18, item 6), end to end on dynalite and the
 * stand-in: a person's release while paused is refused and touches nothing; held and
 * pending failures skipped "for now" (paused, policy disabled) are parked and come back
 * after the change, however long ago they stopped (longer than the sweep's overlap); the
 * give-up near the 14-day window end still runs while paused.
 */
import { parkedFamily } from '../../contract/due-shards';
import { METRIC } from '../../contract/metrics';
import { heldShard, REDRIVE_WINDOW_MS } from '../../contract/breaker';
import { releaseExecutionByHand, ReleaseWhilePausedError, releaseStateMachineByHand } from '../../lambda/breaker/release';
import { handleStatusChange } from '../../lambda/event-path';
import type { FailureRecord } from '../../lambda/record/failure-ledger';
import { SWEEP_OVERLAP_MS } from '../../lambda/scheduled-drain';
import type { StepBehaviour } from '../../local/sfn';
import { createMachine, drainAt, FIXTURE_START, type SimEnv, simEnv, startEachSecond, names, OPENS_AT_ONCE } from '../support/local';

jest.setTimeout(120_000);

const ORDERS_TASK = 'arn:aws:lambda:us-east-1:123456789012:function:orders-downstream';
const BILLING_TASK = 'arn:aws:lambda:us-east-1:123456789012:function:billing-downstream';
const ERROR = 'Lambda.ServiceException';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let env: SimEnv;
afterEach(async () => env?.stop());

const world = { down: true };
const downstream: StepBehaviour = () => (world.down ? { ok: false, error: ERROR, cause: 'downstream 503' } : { ok: true });

beforeEach(() => {
  world.down = true;
});

const latest = async (arn: string): Promise<FailureRecord> => (await env.deps.ledger.failuresOf(arn)).at(-1)!;
const statuses = (arns: readonly string[]) => arns.map((a) => env.standIn.getExecution(a)?.status);
const breakerDeps = () => ({ ...env.deps, breakers: env.deps.breakers! });
const gauge = () => env.metrics.points.filter((p) => p.name === METRIC.parkedFailures).at(-1)?.value;

/** Delivers the latest FAILED event of each execution again (EventBridge delivers at least once). */
async function redeliver(arns: readonly string[]): Promise<void> {
  for (const arn of arns) {
    const event = [...env.standIn.events].reverse().find((e) => e.detail.executionArn === arn && e.detail.status === 'FAILED');
    await handleStatusChange(structuredClone(event), env.deps);
  }
}

/** Drain runs a minute apart until every execution succeeded (at most `runs`). */
async function drainUntilSucceeded(arns: readonly string[], runs = 30): Promise<void> {
  for (let i = 0; i < runs && statuses(arns).some((s) => s !== 'SUCCEEDED'); i++) await drainAt(env, env.clock.now() + MINUTE);
}

/** orders: breaker opens, its failures are held; billing: breaker off, redrives pending an hour. */
async function outage(): Promise<{ orders: string; arns: string[]; held: string[]; pending: string[] }> {
  const orders = await createMachine(env, 'orders', ORDERS_TASK, downstream);
  const billing = await createMachine(env, 'billing', BILLING_TASK, downstream);
  await env.putPolicy({ stateMachine: orders, intervalSeconds: 60, jitter: 'NONE', breaker: { ...OPENS_AT_ONCE,  threshold: 5 } });
  await env.putPolicy({ stateMachine: billing, intervalSeconds: 3600, jitter: 'NONE', breaker: false });
  const arns = await startEachSecond(env, orders, names('orders', 10));
  const pending = await startEachSecond(env, billing, names('billing', 3));
  await drainAt(env, env.clock.now() + 2 * MINUTE); // the orders redrives that were pending are held when due
  const held: string[] = [];
  for (const a of arns) if ((await latest(a)).state === 'held') held.push(a);
  expect(held.length).toBeGreaterThanOrEqual(5);
  for (const a of pending) expect(await latest(a)).toMatchObject({ state: 'pending' });
  return { orders, arns, held, pending: [...pending] };
}

test('release while paused is refused and touches nothing; a long pause: held and pending failures skipped paused are parked and all come back after resume', async () => {
  env = await simEnv(FIXTURE_START);
  const { orders, held, pending } = await outage();
  const before = await Promise.all(held.map(latest));

  await env.deps.killSwitch.pause('INC-7: payments outage', 'ops@example.com', env.clock.now());
  env.deps.policies.invalidate();
  const refusal = releaseStateMachineByHand(orders, breakerDeps(), { concurrency: 4 });
  await expect(refusal).rejects.toBeInstanceOf(ReleaseWhilePausedError);
  await expect(refusal).rejects.toMatchObject({ pause: { paused: true, by: 'ops@example.com', reason: 'INC-7: payments outage' } });
  await expect(releaseExecutionByHand(held[0], env.deps)).rejects.toThrow(/paused by ops@example.com since .* \(INC-7: payments outage\)/);
  expect(await Promise.all(held.map(latest))).toEqual(before);
  expect((await env.deps.breakers.active())[0].state.status).toBe('open');

  // A pause longer than the sweep's overlap; meanwhile the failures' events arrive again
  // (and the pending redrives come due): each is decided `paused`, over a held or a due pending record.
  env.clock.advanceTo(env.clock.now() + SWEEP_OVERLAP_MS + 2 * HOUR);
  await redeliver([...held, ...pending]);
  for (const a of [...held, ...pending]) expect(await latest(a)).toMatchObject({ state: 'skipped', reason: 'paused', dueShard: expect.stringMatching(/^PARKED#paused#/) });
  const paused = await drainAt(env, env.clock.now() + MINUTE);
  expect(paused).toMatchObject({ paused: true, parked: { parked: held.length + pending.length, outcomes: [] } });
  expect(gauge()).toBe(held.length + pending.length);
  expect(env.standIn.redrives.filter((r) => pending.includes(r.executionArn))).toHaveLength(0);

  await env.deps.killSwitch.resume();
  env.deps.policies.invalidate();
  world.down = false;
  const resumed = await drainAt(env, env.clock.now() + MINUTE);
  // Parked: decided again. The billing ones are redriven; the orders ones are held again by
  // their open breaker, whose probe then releases them.
  expect(resumed.parked.outcomes).toHaveLength(held.length + pending.length);
  await drainUntilSucceeded([...held, ...pending]);
  expect(statuses([...held, ...pending])).toEqual([...held, ...pending].map(() => 'SUCCEEDED'));
  await drainAt(env, env.clock.now() + MINUTE);
  expect(gauge()).toBe(0);
  expect(await env.deps.ledger.parked.families()).toHaveLength(2); // emptied (orders, billing); forgotten only once untouched for a while
  await drainAt(env, env.clock.now() + 30 * MINUTE);
  expect(await env.deps.ledger.parked.families()).toEqual([]);
});

test('a policy disabled then re-enabled hours later: the held failures its breaker released as policy-disabled come back', async () => {
  env = await simEnv(FIXTURE_START);
  const { orders, arns, held } = await outage();
  await env.putPolicy({ stateMachine: orders, enabled: false, intervalSeconds: 60, jitter: 'NONE', breaker: { ...OPENS_AT_ONCE,  threshold: 5 } });
  await drainAt(env, env.clock.now() + MINUTE); // the breaker stops holding; its held failures go through decide()
  for (const a of held) expect(await latest(a)).toMatchObject({ state: 'skipped', reason: 'policy-disabled', dueShard: expect.stringContaining(parkedFamily('policy-disabled', orders)) });

  env.clock.advanceTo(env.clock.now() + SWEEP_OVERLAP_MS + 3 * HOUR);
  const still = await drainAt(env, env.clock.now() + MINUTE);
  // Every orders failure that was waiting (held, or a redrive pending its backoff, parked when
  // the drain carried it out under the disabled policy) is parked; none was decided again.
  const parked: string[] = [];
  for (const a of arns) if ((await latest(a)).dueShard?.startsWith(parkedFamily('policy-disabled', orders))) parked.push(a);
  expect(parked).toEqual(expect.arrayContaining(held));
  expect(still.parked).toMatchObject({ outcomes: [], parked: parked.length }); // its reason holds: not even read

  world.down = false;
  await env.putPolicy({ stateMachine: orders, intervalSeconds: 60, jitter: 'NONE', breaker: { ...OPENS_AT_ONCE,  threshold: 5 } });
  const back = await drainAt(env, env.clock.now() + MINUTE);
  expect(back.parked.outcomes.map((o) => o.action)).toEqual(parked.map(() => 'redriven'));
  expect(statuses(parked)).toEqual(parked.map(() => 'SUCCEEDED'));
});

test('while paused, held failures near the end of the 14-day window are still given up (owner event), and stay held until then', async () => {
  env = await simEnv(FIXTURE_START);
  const { orders, held } = await outage();
  await env.deps.killSwitch.pause('long freeze', 'ops', env.clock.now());
  env.deps.policies.invalidate();
  const groupShard = heldShard({ stateMachineArn: orders, errorName: ERROR });
  await drainAt(env, env.clock.now() + 5 * 24 * HOUR);
  expect(await env.deps.ledger.heldCount(groupShard)).toBe(held.length);
  const stopped = Math.min(...(await Promise.all(held.map(latest))).map((r) => r.stopDate!));
  const report = await drainAt(env, stopped + REDRIVE_WINDOW_MS - 23 * HOUR); // default margin 24 h
  expect(report.paused).toBe(true);
  expect(report.breakers?.gaveUp).toBe(held.length);
  for (const a of held) expect(await latest(a)).toMatchObject({ state: 'skipped', reason: 'redrive-window-ending' });
  expect(env.notifier.events.filter((e) => e.detail.reason === 'redrive-window-ending')).toHaveLength(held.length);
});
