/**
 * Delivery that is late, doubled or reordered; Step Functions throttling and 5xx; DynamoDB
 * down; a crash between claim and redrive; lost events. In every case: no failure lost,
 * none redriven twice, checked against the stand-in's own record of RedriveExecution calls.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { handleStatusChange } from '../../lambda/event-path';
import { redriveClientToken } from '../../lambda/act/client-token';
import { drain, scheduledRun } from '../../lambda/scheduled-drain';
import { sweep } from '../../lambda/reconcile';
import { wire } from '../../lambda/wiring';
import { InMemoryMetrics, MemoryLog } from '../../lambda/observability/telemetry';
import { LocalEventBus } from '../../local/event-bus';
import { statusChangePattern } from '../../contract/event-pattern';
import { createMachine, drainUntilEmpty, failedExecution, FIXTURE_START, FLAKY_LAMBDA, redrivesOf, type SimEnv, startExecution, withFlakyMachine, withSimEnv } from '../support/local';
import type { FailureFacts } from '../../lambda/record/failure-ledger';

const failing = { kind: 'fail', error: 'Lambda.ServiceException', cause: 'downstream 503' } as const;
/** Fails once; the redrive succeeds. */
const failsOnce = { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException' } as const;

/** What the event path records about the first failure of `arn` (hand-made crashes claim it). */
function firstFailure(env: SimEnv, arn: string, stateMachineArn: string): FailureFacts {
  const ex = env.standIn.getExecution(arn)!;
  return {
    executionArn: arn, redriveCount: 0, stateMachineArn, account: '123456789012', region: 'us-east-1', name: ex.name,
    status: 'FAILED', startDate: ex.startDate, stopDate: ex.stopDate ?? null, errorName: 'Lambda.ServiceException', cause: null, policyKey: '*',
  };
}

describe('delivery', () => {
  test('duplicated, delayed and reordered deliveries never exceed maxRedrives', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    await withSimEnv({ delivery: { duplicateRate: 0.5, maxDelayMs: 5, random } }, async (env) => {
      // Many executions failing with one error would open the outage breaker and be held (tests in
      // test/integration/breaker.test.ts); this test is about duplicate deliveries and maxRedrives, so the breaker is off.
      await env.putPolicy({ stateMachine: '*', breaker: { enabled: false }, intervalSeconds: 0, maxRedrives: 2 });
      const sm = await createMachine(env, 'flaky', FLAKY_LAMBDA, failing);
      const arns = await Promise.all(Array.from({ length: 25 }, (_, i) => startExecution(env, sm, `e-${i}`)));
      await drainUntilEmpty(env);
      for (const arn of arns) expect(redrivesOf(env, arn)).toBe(2);
      expect(env.bus.deadLetters).toHaveLength(0);
      expect(env.bus.delivered.length).toBeGreaterThan(arns.length * 3); // duplicates happened
    });
  });
});

describe('Step Functions trouble', () => {
  test('throttling on every RedriveExecution for a while: deferred, then all redriven once, none lost', async () => {
    let throttle = true;
    await withSimEnv({ standIn: { fault: (op) => (throttle && op === 'RedriveExecution' ? 'throttle' : undefined) } }, async (env) => {
      // Many executions failing with one error would open the outage breaker and be held (tests in
      // test/integration/breaker.test.ts); this test is about throttling, so the breaker is off.
      await env.putPolicy({ stateMachine: '*', breaker: { enabled: false }, intervalSeconds: 0, maxRedrives: 1 });
      let attempt = 0;
      const sm = await createMachine(env, 'flaky', FLAKY_LAMBDA, () => (attempt++ < 10 ? { ok: false, error: 'Lambda.TooManyRequestsException' } : { ok: true }));
      const arns = await Promise.all(Array.from({ length: 10 }, (_, i) => startExecution(env, sm, `t-${i}`)));
      await env.settle();
      expect(env.standIn.redrives).toHaveLength(0);
      const deferred = await env.deps.ledger.backlog();
      expect(deferred.count).toBe(10);
      // Still throttled at the first retry, fine afterwards.
      env.clock.advanceTo(deferred.oldestDueAt!);
      await drain(env.deps);
      expect(env.standIn.redrives).toHaveLength(0);
      throttle = false;
      await drainUntilEmpty(env);
      for (const arn of arns) expect(redrivesOf(env, arn)).toBe(1);
      expect(env.standIn.calls.filter((c) => c.outcome === 'ThrottlingException').length).toBeGreaterThanOrEqual(20);
    });
  });

  test('5xx from Step Functions: deferred with a reason, redriven later', async () => {
    let down = true;
    await withSimEnv({ standIn: { fault: (op) => (down && op === 'RedriveExecution' ? 'server-error' : undefined) } }, async (env) => {
      await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1 });
      const sm = await createMachine(env, 'flaky', FLAKY_LAMBDA, failing);
      const arn = await startExecution(env, sm, 'x');
      await env.settle();
      const trail = await env.deps.audit.trail(arn);
      expect(trail[0]).toMatchObject({ decision: 'redrive', action: 'deferred', actionDetail: expect.stringContaining('ServiceUnavailable') });
      down = false;
      await drainUntilEmpty(env);
      expect(redrivesOf(env, arn)).toBe(1);
    });
  });
});

describe('crashes and races', () => {
  test('crash between claim and redrive: the abandoned claim is retried once by the drain', async () => {
    await withFlakyMachine(failing, { intervalSeconds: 0 }, async (env, sm) => {
      const { arn } = await failedExecution(env, sm, 'crash-1');
      const facts = firstFailure(env, arn, sm);
      // The "crashed" invocation claimed and died before calling Step Functions.
      expect(await env.deps.ledger.claim(facts, env.clock.now(), env.deps.claimTimeoutMs)).toBeDefined();
      await drain(env.deps);
      expect(env.standIn.redrives).toHaveLength(0); // claim still live
      env.clock.advanceTo(env.clock.now() + env.deps.claimTimeoutMs);
      const report = await drain(env.deps);
      expect(report.outcomes.map((o) => [o.decision.reason, o.action])).toEqual([['retry-abandoned-claim', 'redriven']]);
      await drain(env.deps);
      expect(redrivesOf(env, arn)).toBe(1);
    });
  });

  test('crash after the redrive but before it was recorded: the drain sees it and does not redrive again', async () => {
    await withFlakyMachine(failing, { intervalSeconds: 0 }, async (env, sm) => {
      const { arn } = await failedExecution(env, sm, 'crash-2');
      const facts = firstFailure(env, arn, sm);
      await env.deps.ledger.claim(facts, env.clock.now(), env.deps.claimTimeoutMs);
      await env.deps.stepFunctions.redrive(arn, redriveClientToken(arn, 0));
      await env.standIn.idle();
      // 20 minutes later: the clientToken no longer dedupes (15 min), the ledger must.
      env.clock.advanceTo(env.clock.now() + 20 * 60_000);
      await drain(env.deps);
      await drain(env.deps);
      expect(redrivesOf(env, arn)).toBe(1);
      expect((await env.deps.ledger.get(arn, 0))?.state).toBe('redriven');
    });
  });

  test('duplicate pending entries and concurrent drains redrive once', async () => {
    await withFlakyMachine(failing, { intervalSeconds: 30, jitter: 'NONE' }, async (env, sm) => {
      const { arn, event } = await failedExecution(env, sm, 'dup');
      const outcomes = await Promise.all([1, 2, 3].map(() => handleStatusChange(structuredClone(event), env.deps)));
      expect(outcomes.filter((o) => o.action === 'scheduled')).toHaveLength(1);
      env.clock.advanceTo(env.clock.now() + 31_000);
      await Promise.all([drain(env.deps), drain(env.deps), drain(env.deps)]);
      await env.standIn.idle();
      expect(redrivesOf(env, arn)).toBe(1);
    });
  });
});

describe('DynamoDB down', () => {
  test('the handler throws, the bus retries and parks the event in the DLQ: nothing is silently lost', async () => {
    await withFlakyMachine(failing, { intervalSeconds: 0 }, async (env, sm) => {
      const { event } = await failedExecution(env, sm, 'ddb-down');
      const unreachable = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
      const broken = wire({ ...env.config, policyCacheTtlSeconds: 1 }, { log: new MemoryLog(), metrics: new InMemoryMetrics(), dynamodb: unreachable, clock: env.clock.now });
      const bus = new LocalEventBus(statusChangePattern(), (e) => handleStatusChange(e, broken));
      bus.put(event);
      await bus.settled();
      expect(bus.deadLetters).toHaveLength(1);
      expect(bus.deadLetters[0].error).toMatch(/ECONNREFUSED|connect/);
      expect(env.standIn.redrives).toHaveLength(0);
      // Replayed once DynamoDB is back: redriven.
      await handleStatusChange(bus.deadLetters[0].event, env.deps, 'replay');
      expect(env.standIn.redrives).toHaveLength(1);
    });
  });
});

describe('reconciliation', () => {
  test('finds a failure whose event was dropped, and one skipped while paused after resume', async () => {
    await withSimEnv({ detachBus: true }, async (env) => {
      await env.putPolicy({ stateMachine: 'arn:aws:states:us-east-1:123456789012:stateMachine:flaky*', intervalSeconds: 0 });
      // Each execution fails once; its redrive succeeds.
      const sm = await createMachine(env, 'flaky', FLAKY_LAMBDA, failsOnce);
      const other = await createMachine(env, 'unrelated', 'arn:aws:lambda:us-east-1:123456789012:function:other', failing);
      const lost = await startExecution(env, sm, 'event-lost');
      await startExecution(env, other, 'no-policy');
      await env.standIn.idle();

      // One more failure while paused: its event arrives and is skipped with `paused`.
      await env.deps.killSwitch.pause('maintenance', 'test', env.clock.now());
      env.deps.policies.invalidate();
      const { arn: pausedArn, event: pausedEvent } = await failedExecution(env, sm, 'while-paused');
      expect((await handleStatusChange(pausedEvent, env.deps)).decision.reason).toBe('paused');

      await env.deps.killSwitch.resume();
      env.deps.policies.invalidate();
      const report = await sweep(env.deps, { since: FIXTURE_START - 3_600_000 });
      await env.standIn.idle();
      expect(report.stateMachines).toBe(1);
      expect(report.unknownToLedger).toBe(1);
      expect(redrivesOf(env, lost)).toBe(1);
      expect(redrivesOf(env, pausedArn)).toBe(1);
      expect(env.standIn.redrives).toHaveLength(2);
      expect(env.standIn.getExecution(lost)?.status).toBe('SUCCEEDED');
      // A second sweep finds nothing new to do.
      const again = await sweep(env.deps, { since: FIXTURE_START - 3_600_000 });
      expect(again.considered).toBe(0);
      expect(env.standIn.redrives).toHaveLength(2);
    });
  });
});

describe('scheduled run', () => {
  test("the sweep keeps the schedule's phase: a run whose drain took half a minute does not push every later sweep a tick on", async () => {
    await withFlakyMachine(failsOnce, { intervalSeconds: 0 }, async (env) => {
      const every = env.deps.config.reconcileEveryMinutes * 60_000;
      const tick = env.clock.now();
      // This tick's drain and breakers take 30 s (a probe watched, a release): the clock reads later after the first look.
      let looks = 0;
      const slow = { ...env.deps, clock: () => (looks++ === 0 ? tick : tick + 30_000) };
      expect((await scheduledRun(slow)).sweep).toBeDefined();
      env.clock.advanceTo(tick + every);
      expect((await scheduledRun(env.deps)).sweep).toBeDefined(); // every reconcileEveryMinutes ticks, as scheduled
    });
  });

  test('sweeps once per interval and then only since the previous sweep (with an overlap)', async () => {
    await withFlakyMachine(failsOnce, { intervalSeconds: 0 }, async (env, sm) => {
      const { arn: first } = await failedExecution(env, sm, 'before-first-sweep');
      const run1 = await scheduledRun(env.deps);
      expect(run1.sweep?.unknownToLedger).toBe(1);
      env.clock.advanceTo(env.clock.now() + 5 * 60_000);
      expect((await scheduledRun(env.deps)).sweep).toBeUndefined(); // not due yet
      // A failure whose event was lost, 3 hours later: the next sweep lists from the
      // previous sweep minus the overlap, not the whole 24-hour look-back.
      env.clock.advanceTo(env.clock.now() + 3 * 3_600_000);
      const { arn: lost } = await failedExecution(env, sm, 'event-lost');
      const listCalls = () => env.standIn.calls.filter((c) => c.op === 'ListExecutions').length;
      const before = listCalls();
      const run2 = await scheduledRun(env.deps);
      await env.standIn.idle();
      expect(run2.sweep?.unknownToLedger).toBe(1);
      expect(run2.sweep?.listed).toBe(1); // the first failure is older than previous run - overlap
      expect(listCalls() - before).toBe(2); // FAILED and TIMED_OUT
      expect(redrivesOf(env, first)).toBe(1);
      expect(redrivesOf(env, lost)).toBe(1);
    });
  });
});

