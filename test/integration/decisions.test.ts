/**
 * Every decision of the controller, end to end: the real events from AWS delivered to the
 * controller, the real AWS SDK talking to the Step Functions stand-in and dynalite.
 */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { handleStatusChange, type Outcome } from '../../lambda/event-path';
import type { MemoryLog } from '../../lambda/observability/telemetry';
import { METRIC } from '../../contract/metrics';
import {
  FIXTURE_EXECUTION_ARN,
  FIXTURE_MACHINE_ARN,
  FIXTURE_START,
  type SimEnv,
  fixture,
  fixtureExecution,
  lambdaDeny,
  redrivesOf,
  simEnv,
} from '../support/local';

let env: SimEnv;
beforeEach(async () => {
  env = await simEnv(FIXTURE_START, { detachBus: true });
});
afterEach(async () => env.stop());

const IMMEDIATE = { stateMachine: '*', intervalSeconds: 0, maxRedrives: 3 };

async function deliver(event: Record<string, any>): Promise<Outcome> {
  env.clock.advanceTo(Date.parse(event.time));
  const outcome = await handleStatusChange(event, env.deps);
  await env.standIn.idle();
  return outcome;
}

const summary = (o: Outcome) => ({ decision: o.decision.decision, reason: o.decision.reason, action: o.action });

describe('redrive', () => {
  test('real event 01 (FAILED, REDRIVABLE, count 0) is redriven once, with the deterministic clientToken', async () => {
    await fixtureExecution(env, lambdaDeny);
    await env.putPolicy(IMMEDIATE);
    const outcome = await deliver(fixture('01'));
    expect(summary(outcome)).toEqual({ decision: 'redrive', reason: 'no-delay', action: 'redriven' });
    expect(outcome.decision.policyKey).toBe('*');
    expect(env.standIn.redrives).toHaveLength(1);
    expect(env.standIn.redrives[0].clientToken).toMatch(/^ar-0-[0-9a-f]{40}$/);
    const record = await env.deps.ledger.get(FIXTURE_EXECUTION_ARN, 0);
    expect(record?.state).toBe('redriven');
    const trail = await env.deps.audit.trail(FIXTURE_EXECUTION_ARN);
    expect(trail.map((t) => [t.decision, t.reason, t.action])).toEqual([['redrive', 'no-delay', 'redriven']]);
    expect(trail[0]).toMatchObject({ stateMachineArn: FIXTURE_MACHINE_ARN, redriveCount: 0, errorName: 'Lambda.AWSLambdaException', policyKey: '*' });
    expect(env.metrics.sum(METRIC.redrives)).toBe(1);
  });

  test('the same event delivered twice redrives once; the duplicate is recorded as already-handled', async () => {
    await fixtureExecution(env, lambdaDeny);
    await env.putPolicy(IMMEDIATE);
    const [a, b] = await Promise.all([deliver(fixture('01')), deliver(fixture('01'))]);
    const outcomes = [summary(a), summary(b)].map((s) => `${s.decision}/${s.reason}/${s.action}`).sort();
    expect(outcomes.filter((o) => o === 'redrive/no-delay/redriven')).toHaveLength(1);
    expect(redrivesOf(env, FIXTURE_EXECUTION_ARN)).toBe(1);
    const again = await deliver(fixture('01'));
    expect(summary(again)).toEqual({ decision: 'skip', reason: 'already-handled', action: 'skipped' });
  });

  test('with backoff the redrive is stored and carried out by the drain when due, not before', async () => {
    await fixtureExecution(env, lambdaDeny);
    await env.putPolicy({ stateMachine: FIXTURE_MACHINE_ARN, intervalSeconds: 60, jitter: 'NONE' });
    const outcome = await deliver(fixture('01'));
    expect(outcome.decision).toMatchObject({ decision: 'redrive-later', reason: 'backoff' });
    // The backoff counts from the failure's stopDate.
    expect(outcome.dueAt).toBe(fixture('01').detail.stopDate + 60_000);
    const { drain } = await import('../../lambda/scheduled-drain');
    await drain(env.deps);
    expect(env.standIn.redrives).toHaveLength(0);
    env.clock.advanceTo(outcome.dueAt!);
    const report = await drain(env.deps);
    await env.standIn.idle();
    expect(report.outcomes.map(summary)).toEqual([{ decision: 'redrive', reason: 'due', action: 'redriven' }]);
    expect(env.standIn.redrives).toHaveLength(1);
    expect((await drain(env.deps)).outcomes).toHaveLength(0);
  });
});

describe('skip reasons', () => {
  test('02 RUNNING and 05 SUCCEEDED: status-not-covered', async () => {
    await env.putPolicy(IMMEDIATE);
    expect(summary(await deliver(fixture('02')))).toMatchObject({ decision: 'skip', reason: 'status-not-covered' });
    expect(summary(await deliver(fixture('05')))).toMatchObject({ decision: 'skip', reason: 'status-not-covered' });
    expect(env.standIn.calls.filter((c) => c.op === 'RedriveExecution')).toHaveLength(0);
  });

  test('no-policy: opt-in, nothing is called', async () => {
    await fixtureExecution(env, lambdaDeny);
    expect(summary(await deliver(fixture('01')))).toEqual({ decision: 'skip', reason: 'no-policy', action: 'skipped' });
    expect(env.standIn.calls.filter((c) => c.op !== 'CreateStateMachine' && c.op !== 'StartExecution')).toHaveLength(0);
  });

  test('policy-disabled', async () => {
    await fixtureExecution(env, lambdaDeny);
    await env.putPolicy({ ...IMMEDIATE, enabled: false });
    expect(summary(await deliver(fixture('01'))).reason).toBe('policy-disabled');
    expect(env.standIn.redrives).toHaveLength(0);
  });

  test('policy-invalid: a broken specific item never falls back to the valid default; error log names key and field', async () => {
    await fixtureExecution(env, lambdaDeny);
    await env.putPolicy(IMMEDIATE);
    await env.putPolicy({ stateMachine: FIXTURE_MACHINE_ARN, maxRedrives: 'lots' });
    const outcome = await deliver(fixture('01'));
    expect(summary(outcome)).toEqual({ decision: 'skip', reason: 'policy-invalid', action: 'skipped' });
    expect(outcome.decision.detail).toContain('maxRedrives');
    expect(env.standIn.redrives).toHaveLength(0);
    const errors = (env.log as MemoryLog).lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].attributes).toMatchObject({ policyKey: FIXTURE_MACHINE_ARN });
    expect(JSON.stringify(errors[0].attributes.fields)).toContain('maxRedrives');
    expect(env.metrics.sum(METRIC.policyInvalid)).toBe(1);
    expect(env.notifier.events.map((e) => e.detail.reason)).toEqual(['policy-invalid']);
  });

  test('error-not-retryable (States.Runtime) and error-not-matched', async () => {
    await fixtureExecution(env, lambdaDeny);
    await env.putPolicy({ ...IMMEDIATE, errorEquals: ['States.Timeout', 'Lambda.ServiceException'] });
    expect(summary(await deliver(fixture('01'))).reason).toBe('error-not-matched');
    const runtime = fixture('01');
    runtime.detail.error = 'States.Runtime';
    await env.putPolicy(IMMEDIATE);
    expect(summary(await deliver(runtime)).reason).toBe('error-not-retryable');
    expect(env.standIn.redrives).toHaveLength(0);
    expect(env.notifier.events.map((e) => [e.detailType, e.detail.reason])).toEqual([['Auto Redrive Skipped', 'error-not-retryable']]);
  });

  test('limit-reached: exactly one Auto Redrive Exhausted event with the documented fields', async () => {
    await fixtureExecution(env, lambdaDeny);
    await env.putPolicy({ ...IMMEDIATE, maxRedrives: 2 });
    const event = fixture('04'); // redriveCount 2
    // Bring the stand-in's execution to redriveCount 2, as in the real life-cycle.
    await deliver(fixture('01'));
    const second = await deliver(fixture('03'));
    expect(summary(second)).toEqual({ decision: 'redrive', reason: 'no-delay', action: 'redriven' });
    expect(redrivesOf(env, FIXTURE_EXECUTION_ARN)).toBe(2);
    expect(summary(await deliver(event))).toEqual({ decision: 'skip', reason: 'limit-reached', action: 'skipped' });
    await deliver(event); // duplicate delivery: no second notification
    expect(env.notifier.events).toHaveLength(1);
    const [exhausted] = env.notifier.events;
    expect(exhausted.detailType).toBe('Auto Redrive Exhausted');
    expect(exhausted.detail).toEqual({
      executionArn: FIXTURE_EXECUTION_ARN,
      stateMachineArn: FIXTURE_MACHINE_ARN,
      reason: 'limit-reached',
      detail: expect.stringContaining('allows 2'),
      error: 'Lambda.AWSLambdaException',
      cause: expect.stringContaining('explicit deny'),
      redriveCount: 2,
      policyKey: '*',
      consoleUrl: expect.stringContaining('https://us-east-1.console.aws.amazon.com/states/home'),
    });
    expect(env.metrics.sum(METRIC.exhaustions)).toBe(2);
  });

  test('dry-run and paused: nothing redriven, the would-be action is explained', async () => {
    await fixtureExecution(env, lambdaDeny);
    await env.putPolicy({ ...IMMEDIATE, dryRun: true });
    const dry = await deliver(fixture('01'));
    expect(summary(dry)).toEqual({ decision: 'skip', reason: 'dry-run', action: 'dry-run' });
    expect(dry.decision.detail).toContain('would redrive 1 of 3');
    await env.putPolicy(IMMEDIATE);
    await env.deps.killSwitch.pause('incident 42', 'test', env.clock.now());
    env.deps.policies.invalidate();
    expect(summary(await deliver(fixture('01'))).reason).toBe('paused');
    expect(env.standIn.redrives).toHaveLength(0);
  });

  test('map-run-child and not-redrivable come from the event itself', async () => {
    await env.putPolicy(IMMEDIATE);
    const child = fixture('01');
    child.detail.redriveStatus = 'REDRIVABLE_BY_MAP_RUN';
    expect(summary(await deliver(child)).reason).toBe('map-run-child');
    const expired = fixture('01');
    expired.detail.redriveStatus = 'NOT_REDRIVABLE';
    expired.detail.redriveStatusReason = 'Execution redrivable period exceeded';
    const out = await deliver(expired);
    expect(summary(out).reason).toBe('not-redrivable');
    expect(out.decision.detail).toContain('Execution redrivable period exceeded');
  });

  test('ExecutionNotRedrivable and ExecutionDoesNotExist from the API are recorded skips, not errors', async () => {
    await env.putPolicy(IMMEDIATE);
    // No such execution on the stand-in.
    const ghost = await deliver(fixture('01'));
    expect(summary(ghost)).toEqual({ decision: 'redrive', reason: 'no-delay', action: 'rejected' });
    expect(ghost.actionDetail).toContain('ExecutionDoesNotExist');
    expect((await env.deps.ledger.get(FIXTURE_EXECUTION_ARN, 0))?.state).toBe('skipped');
  });

  test('stale: a late event for a failure that a person already redrove by hand is not redriven again', async () => {
    const arn = await fixtureExecution(env, lambdaDeny);
    await env.putPolicy(IMMEDIATE);
    // A person redrives by hand; it fails again (redriveCount 1).
    const { RedriveExecutionCommand } = await import('@aws-sdk/client-sfn');
    await env.sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
    await env.standIn.idle();
    // The count-0 event arrives 10 minutes late: the controller checks before acting.
    env.clock.advanceTo(Date.parse(fixture('01').time) + 10 * 60_000);
    const outcome = await handleStatusChange(fixture('01'), env.deps);
    expect(summary(outcome)).toEqual({ decision: 'skip', reason: 'stale-event', action: 'skipped' });
    expect(outcome.decision.detail).toContain('redriveCount is now 1');
    expect(env.standIn.calls.filter((c) => c.op === 'DescribeExecution')).toHaveLength(1);
    const describe = await env.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(describe.redriveCount).toBe(1);
  });

  test('a fresh event costs no DescribeExecution call (the 15/s budget is kept for stale-looking events)', async () => {
    await fixtureExecution(env, lambdaDeny);
    await env.putPolicy(IMMEDIATE);
    await deliver(fixture('01'));
    expect(env.standIn.calls.filter((c) => c.op === 'DescribeExecution')).toHaveLength(0);
  });

  test('malformed events: recorded skip with the event id, metric, no throw, no value leaked to logs', async () => {
    const bad = fixture('01');
    bad.detail.redriveCount = 'one';
    bad.detail.input = '{"password":"hunter2"}';
    const outcome = await handleStatusChange(bad, env.deps);
    expect(summary(outcome)).toEqual({ decision: 'skip', reason: 'malformed-event', action: 'skipped' });
    expect(outcome.eventId).toBe(bad.id);
    for (const raw of [null, 'text', 42, [], {}, { detail: null }]) {
      expect((await handleStatusChange(raw, env.deps)).decision.reason).toBe('malformed-event');
    }
    expect(env.metrics.sum(METRIC.malformedEvents)).toBe(7);
    const logged = JSON.stringify((env.log as MemoryLog).lines);
    expect(logged).toContain('detail.redriveCount');
    expect(logged).not.toContain('hunter2');
  });
});
