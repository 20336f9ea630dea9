/**
 * Faults around the outage breaker: DynamoDB throttling the breaker item (absorbed by SDK
 * retries, or the event parked and replayed: never lost, never redriven twice), and the
 * Lambda killed at every step of holding a failure (between counting, holding and
 * recording); after recovery every failure is held once, then released and redriven once;
 * and killed at every step of the opening: owners hear `Breaker Opened` once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ANNOUNCE_GRACE_MS, heldShard } from '../../contract/breaker';
import { DETAIL_TYPE_BREAKER_OPENED } from '../../contract/owner-events';
import type { OwnerNotifier } from '../../lambda/record/owner-notifier';
import { statusChangePattern } from '../../contract/event-pattern';
import { handleStatusChange } from '../../lambda/event-path';
import { InMemoryMetrics, MemoryLog } from '../../lambda/observability/telemetry';
import { MemoryNotifier } from '../../lambda/record/owner-notifier';
import { drain } from '../../lambda/scheduled-drain';
import { wire, type Wired } from '../../lambda/wiring';
import { LocalEventBus } from '../../local/event-bus';
import { DYNAMODB_FAULTS, startFaultProxy } from '../../local/fault-proxy';
import type { StatusChangeEvent, StepBehaviour } from '../../local/sfn';
import { createMachine, failedExecution, FIXTURE_START, redrivesOf, type SimEnv, simEnv, OPENS_AT_ONCE } from '../support/local';
import { type CrashMoment, CrashPlan, crashingDeps, SimulatedCrash } from './support/crash';

jest.setTimeout(180_000);

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:downstream';
const ERROR = 'Lambda.ServiceException';
const MINUTE = 60_000;

const world = { down: true };
const downstream: StepBehaviour = () => (world.down ? { ok: false, error: ERROR, cause: 'downstream 503' } : { ok: true });

let env: SimEnv;
afterEach(async () => env?.stop());
beforeEach(() => {
  world.down = true;
});

/** Drains (and lets executions run) until nothing is held, pending or open. */
async function releaseEverything(deps: Wired = env.deps): Promise<void> {
  world.down = false;
  for (let i = 0; i < 30; i++) {
    env.clock.advanceTo(env.clock.now() + MINUTE);
    await drain(deps);
    await env.settle();
    if ((await deps.breakers.active()).length === 0 && (await deps.ledger.backlog()).count === 0) return;
  }
  throw new Error('still held or pending after 30 drain runs');
}

/** The latest FAILED event of `arn` (the stand-in's log; the bus is detached). */
async function latestFailure(arn: string): Promise<StatusChangeEvent> {
  await env.standIn.idle();
  const event = [...env.standIn.events].reverse().find((e) => e.detail.executionArn === arn && e.detail.status === 'FAILED');
  if (!event) throw new Error(`no FAILED event for ${arn}`);
  return structuredClone(event);
}

/**
 * Opens the breaker as an outage does: two executions fail (each event delivered by
 * `deliver`); a minute later (the drain redrives them if the policy waited) their redrives'
 * failures are delivered: each failed again with the same error, and the second opens it.
 * First failures alone open nothing. Returns the two ARNs.
 */
async function openByTwoFailedRedrives(machine: string, deliver: (event: StatusChangeEvent) => Promise<unknown>, deps: Wired = env.deps): Promise<string[]> {
  const openers = [await failedExecution(env, machine, 'opener-0'), await failedExecution(env, machine, 'opener-1')];
  for (const o of openers) await deliver(o.event);
  expect((await deps.breakers.active()).map((b) => b.state.status)).not.toContain('open');
  env.clock.advanceTo(env.clock.now() + MINUTE);
  await drain(deps);
  await env.settle();
  for (const o of openers) await deliver(await latestFailure(o.arn));
  expect((await deps.breakers.active())[0]?.state.status).toBe('open');
  return openers.map((o) => o.arn);
}

/** Every failure redriven at most once: no clientToken (one per failure) used twice. */
function expectNoDoubles(): void {
  const tokens = env.standIn.redrives.map((r) => `${r.executionArn} ${r.clientToken}`);
  expect(tokens.filter((t, i) => tokens.indexOf(t) !== i)).toEqual([]);
}

test('DynamoDB throttles the breaker item: first attempts absorbed by SDK retries; a persistent throttle parks the events, replayed later they are held; nothing lost or doubled', async () => {
  env = await simEnv(FIXTURE_START, { detachBus: true });
  const proxy = await startFaultProxy(env.endpoints.dynamodb);
  const dynamodb = new DynamoDBClient({ endpoint: proxy.endpoint });
  try {
    const deps = wire(env.config, { log: new MemoryLog(), metrics: new InMemoryMetrics(), clock: env.clock.now, sleep: env.clock.sleep, dynamodb, notifier: new MemoryNotifier() });
    const bus = new LocalEventBus(statusChangePattern(), (e) => handleStatusChange(e, deps));
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: OPENS_AT_ONCE });
    const machine = await createMachine(env, 'orders', LAMBDA, downstream);
    const onBreaker = (body: string) => body.includes('BREAKER#');

    proxy.proxy.rule = ({ body, attempt }) => (onBreaker(body) && attempt === 1 ? DYNAMODB_FAULTS.throughputExceeded : undefined);
    const viaBus = async (event: StatusChangeEvent) => {
      bus.put(event);
      await bus.settled();
    };
    const openers = await openByTwoFailedRedrives(machine, viaBus, deps);
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await failedExecution(env, machine, `throttled-${i}`));
    for (const f of first) await viaBus(f.event);
    expect(bus.deadLetters).toHaveLength(0);
    expect((await deps.breakers.active())[0]?.state.status).toBe('open');
    // The second opener's failed redrive (it opened the breaker) and the four that failed since.
    expect(await deps.ledger.heldCount(heldShard({ stateMachineArn: machine, errorName: ERROR }))).toBe(5);
    // At least one per call on the breaker item: the two counts of failed redrives, the
    // opening write, and the reads (first failures only read it: docs/breaker.md, Cost).
    expect(proxy.proxy.faultsInjected()).toBeGreaterThanOrEqual(4);

    proxy.proxy.rule = ({ body }) => (onBreaker(body) ? DYNAMODB_FAULTS.throttling : undefined);
    // Past the breaker read cache (1 s): the next failures must read the throttled item.
    env.clock.advanceTo(env.clock.now() + 2_000);
    const parked = [await failedExecution(env, machine, 'parked-0'), await failedExecution(env, machine, 'parked-1')];
    for (const f of parked) bus.put(f.event);
    await bus.settled();
    expect(bus.deadLetters.map((d) => (d.event as { detail: { executionArn: string } }).detail.executionArn).sort()).toEqual(parked.map((p) => p.arn).sort());
    for (const p of parked) expect(await deps.ledger.failuresOf(p.arn)).toEqual([]); // nothing decided blind

    proxy.proxy.rule = () => undefined;
    for (const d of bus.deadLetters) await handleStatusChange(d.event, deps, 'replay');
    for (const p of parked) expect((await deps.ledger.get(p.arn, 0))?.state).toBe('held');

    await releaseEverything(deps);
    for (const f of [...first, ...parked]) {
      expect(env.standIn.getExecution(f.arn)?.status).toBe('SUCCEEDED');
      expect(redrivesOf(env, f.arn)).toBe(1);
    }
    for (const arn of openers) {
      expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
      expect(redrivesOf(env, arn)).toBe(2); // the redrive that failed again, then the one after the outage
    }
    expectNoDoubles();
  } finally {
    dynamodb.destroy();
    await proxy.proxy.close();
  }
});

// intervalSeconds 60: the first redrive is a backoff, decided after reading the history
// (a look at the breaker, hold with its audit entry). intervalSeconds 0: a fresh failure's lean path (claim
// with no read, a look at the breaker, then the claim settled as held with its audit entry); a retry
// that finds the claim of the dead invocation is a duplicate, and the drain holds the
// failure once that claim has expired.
test.each([
  ['a backoff, read first', 60],
  ['a fresh failure redriven at once: claim, breaker read, hold', 0],
])('killed at every step of holding a failure (%s): after the retry (and the drain) it is held once; released later, redriven once', async (_path, intervalSeconds) => {
  env = await simEnv(FIXTURE_START, { detachBus: true });
  await env.putPolicy({ stateMachine: '*', intervalSeconds, jitter: 'NONE', breaker: OPENS_AT_ONCE });
  const machine = await createMachine(env, 'orders', LAMBDA, downstream);
  // Open the breaker first (two executions' redrives failed again).
  await openByTwoFailedRedrives(machine, (event) => handleStatusChange(event, env.deps));

  const crashed: string[] = [];
  const claimedByTheDead: string[] = [];
  let cleanCalls: string[] | undefined;
  let points = 0;
  for (let k = 0; cleanCalls === undefined || k < cleanCalls.length; k++) {
    for (const when of ['before', 'after'] as CrashMoment[]) {
      const { arn, event } = await failedExecution(env, machine, `crash-${k}-${when}`);
      const plan = new CrashPlan(k, when);
      const crashing = crashingDeps(env.config, plan, env.clock.now, env.clock.sleep);
      let died = false;
      try {
        await handleStatusChange(event, crashing.deps);
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
        died = true;
      } finally {
        crashing.dispose();
      }
      if (!plan.reached) {
        expect(died).toBe(false);
        cleanCalls = plan.calls;
      } else {
        expect(died).toBe(true);
        points++;
        crashed.push(arn);
      }
      // Lambda retries the event.
      const retried = await handleStatusChange(event, env.deps);
      if ((await env.deps.ledger.get(arn, 0))?.state === 'claimed') {
        // The dead invocation's claim: the retry is a duplicate; the drain takes the claim
        // over once it has expired (below: draining now would probe while the downstream is down,
        // and this test delivers no probe's events).
        expect(retried.decision).toMatchObject({ decision: 'skip', reason: 'already-handled' });
        claimedByTheDead.push(arn);
        if (!plan.reached) break;
        continue;
      }
      expect(retried.decision).toMatchObject({ decision: 'hold', reason: 'breaker-open' });
      expect(await env.deps.ledger.get(arn, 0)).toMatchObject({ state: 'held', reason: 'breaker-open' });
      const trail = await env.deps.audit.trail(arn);
      // (A retry after the hold was written holds it again: one record, one more audit entry.)
      expect(trail.filter((t) => t.decision === 'hold' && t.action === 'held').length).toBeGreaterThanOrEqual(1);
      expect(trail.every((t) => (t.decision === 'hold' && t.action === 'held') || t.reason === 'already-handled')).toBe(true);
      if (!plan.reached) break;
    }
  }
  expect(cleanCalls!.some((c) => c.startsWith('UpdateItem'))).toBe(true);
  // A first failure writes nothing on the breaker item: one read of it, then the hold.
  expect(cleanCalls!.filter((c) => c.includes('breaker'))).toEqual(['GetItem(breaker)']);
  expect(points).toBeGreaterThanOrEqual(2 * (cleanCalls!.length - 1));

  // The drain holds each failure whose claim died with its invocation, once the claim has
  // expired, before the breaker closes and releases everything.
  if (intervalSeconds === 0) expect(claimedByTheDead.length).toBeGreaterThan(0);
  env.clock.advanceTo(env.clock.now() + env.config.claimTimeoutSeconds * 1000);
  await releaseEverything();
  for (const arn of claimedByTheDead) {
    const trail = (await env.deps.audit.trail(arn)).map((t) => `${t.source}:${t.decision}/${t.reason}/${t.action}`);
    expect(trail.filter((t) => !t.startsWith('event:skip/already-handled'))).toEqual(['drain:hold/breaker-open/held', 'release:redrive/release/redriven']);
  }
  for (const arn of crashed) {
    expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
    expect(redrivesOf(env, arn)).toBe(1);
  }
  expectNoDoubles();
  console.log(`breaker crash matrix: ${points} crash points over ${cleanCalls!.length} calls [${cleanCalls!.join(', ')}]`);
});

test('killed at every step of the event that opens the breaker (count, opening write, PutEvents, marking it sent): owners hear Breaker Opened once', async () => {
  env = await simEnv(FIXTURE_START, { detachBus: true });
  // Redriven at once: each execution's redrive fails again; the second such failure opens it.
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, jitter: 'NONE', breaker: OPENS_AT_ONCE });
  const owners = env.notifier;
  const opened = (machine: string) => owners.breakerEvents.filter((e) => e.detailType === DETAIL_TYPE_BREAKER_OPENED && e.detail.stateMachineArn === machine).length;
  const seen: string[] = [];
  let cleanCalls: string[] | undefined;
  for (let k = 0; cleanCalls === undefined || k < cleanCalls.length; k++) {
    for (const when of ['before', 'after'] as CrashMoment[]) {
      const machine = await createMachine(env, `opens-${k}-${when}`, LAMBDA, downstream);
      // One execution's redrive failed again (counted); the opener is the next one's.
      const first = await failedExecution(env, machine, `m${k}${when}-0`);
      await handleStatusChange(first.event, env.deps);
      await handleStatusChange(await latestFailure(first.arn), env.deps);
      const second = await failedExecution(env, machine, `m${k}${when}-opener`);
      await handleStatusChange(second.event, env.deps);
      const event = await latestFailure(second.arn);
      const plan = new CrashPlan(k, when);
      // PutEvents goes through the plan too: the process can die before or after it.
      const notifier: OwnerNotifier = {
        notify: (d, f, c) => plan.around('PutEvents', () => owners.notify(d, f, c)),
        notifyBreaker: (t, d) => plan.around('PutEvents', () => owners.notifyBreaker(t, d)),
      };
      const crashing = crashingDeps(env.config, plan, env.clock.now, env.clock.sleep, notifier);
      try {
        await handleStatusChange(event, crashing.deps);
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
      } finally {
        crashing.dispose();
      }
      if (!plan.reached) cleanCalls = plan.calls;
      // Lambda retries the event; the drain runs after the grace period, and again later.
      await handleStatusChange(event, env.deps);
      expect((await env.deps.breakers.read({ stateMachineArn: machine, errorName: ERROR })).status).toBe('open');
      for (let run = 0; run < 2; run++) {
        env.clock.advanceTo(env.clock.now() + ANNOUNCE_GRACE_MS);
        await drain(env.deps);
        await env.settle();
      }
      const label = `${plan.reached ? `${when} ${plan.calls[k]}` : 'no crash'}`;
      seen.push(label);
      // Dying between a successful PutEvents and the write that marks it sent is the one
      // moment a second copy goes out (docs/breaker.md, Visibility): never none.
      const between = (when === 'after' && plan.calls[k] === 'PutEvents') || (when === 'before' && plan.calls[k - 1] === 'PutEvents' && plan.calls[k] === 'UpdateItem(breaker)');
      expect([label, opened(machine)]).toEqual([label, between ? 2 : 1]);
      if (!plan.reached) break;
    }
  }
  expect(cleanCalls).toEqual(expect.arrayContaining(['PutEvents']));
  console.log(`breaker opening crash matrix: ${seen.length} runs over ${cleanCalls!.length} calls [${cleanCalls!.join(', ')}]`);
});
