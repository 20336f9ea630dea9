/**
 * The canary through the event path next to a user's state machine: the canary is redriven by
 * its managed policy like any failure, its success is recorded as a recovery, and none of it
 * moves the dashboard's totals (Decisions, Redrives, RedrivesSucceeded).
 */
import { CreateStateMachineCommand, DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CANARY_POLICY, canaryDefinition, canaryStateMachineName } from '../../contract/canary';
import { METRIC } from '../../contract/metrics';
import type { AuditEntry } from '../../lambda/record/audit-trail';
import { createMachine, drainUntilEmpty, startExecution, withSimEnv } from '../support/local';

const USER_LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:orders';

test("a user's execution and the canary side by side: only the user's decisions and redrives are in the totals; the canary's success is a recovery, not a RedrivesSucceeded", async () => {
  await withSimEnv({}, async (env) => {
    await env.putPolicy({ stateMachine: '*', maxRedrives: 3, intervalSeconds: 60, backoffRate: 1, jitter: 'NONE' });
    await env.putPolicy({ ...CANARY_POLICY, errorEquals: [...CANARY_POLICY.errorEquals], breaker: { ...CANARY_POLICY.breaker }, managedBy: 'Local/AutoRedrive/Canary/Policy' });
    const entries: AuditEntry[] = [];
    env.deps.audit.observe((e) => entries.push(e));

    // The user's execution fails twice, then its second redrive succeeds (a RedrivesSucceeded event).
    const orders = await createMachine(env, 'orders', USER_LAMBDA, { kind: 'fail-times', times: 2, error: 'Lambda.ServiceException' });
    const userArn = await startExecution(env, orders, 'order-1');
    const canary = await env.sfn.send(new CreateStateMachineCommand({ name: canaryStateMachineName('Local'), definition: JSON.stringify(canaryDefinition()), roleArn: 'arn:aws:iam::123456789012:role/canary' }));
    const { executionArn: canaryArn } = await env.sfn.send(new StartExecutionCommand({ stateMachineArn: canary.stateMachineArn, name: 'run-1' }));
    await drainUntilEmpty(env);

    const status = async (executionArn: string) => env.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(await status(userArn)).toMatchObject({ status: 'SUCCEEDED', redriveCount: 2 });
    expect(await status(canaryArn!)).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });

    const userEntries = entries.filter((e) => e.executionArn === userArn);
    const canaryEntries = entries.filter((e) => e.executionArn === canaryArn);
    // The canary's decisions are in the audit trail (redrivectl explain), not in the metrics.
    expect(canaryEntries.map((e) => [e.decision, e.action])).toEqual([
      ['redrive-later', 'scheduled'],
      ['redrive', 'redriven'],
    ]);
    expect(env.metrics.sum(METRIC.decisions)).toBe(userEntries.length);
    expect(env.metrics.sum(METRIC.redrives)).toBe(2);
    expect(env.standIn.redrives.map((r) => r.executionArn).sort()).toEqual([canaryArn, userArn, userArn].sort());
    expect(env.metrics.sum(METRIC.redrivesSucceeded)).toBe(1);
    expect(env.metrics.sum(METRIC.canaryRecoveries, { Account: '123456789012', Region: 'us-east-1' })).toBe(1);
    expect(env.metrics.points.filter((p) => p.name === METRIC.canaryRecoverySeconds).map((p) => p.value)).toEqual([CANARY_POLICY.intervalSeconds]);
  });
});
