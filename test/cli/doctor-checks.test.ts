/**
 * Each doctor check, ok and failing, against AWS SDK clients mocked with
 * aws-sdk-client-mock (the deployed case; --local runs in doctor-local.test.ts).
 */
import { CloudFormationClient, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ListServiceQuotasCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { DescribeStateMachineCommand, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { canaryStatusSk, CANARY_STATUS_PK } from '../../contract/canary';
import type { Check, CheckResult } from '../../cli/doctor/check';
import { canaryCheck, rateQuotaCheck, redrivePermissionCheck } from '../../cli/doctor/checks-capacity';
import { dlqCheck, lambdaErrorsCheck, ruleCheck, stackCheck } from '../../cli/doctor/checks-deployment';
import { killSwitchCheck, policiesCheck, policyTargetsCheck, uncoveredFailuresCheck } from '../../cli/doctor/checks-policies';
import { type DoctorEnv, doctorEnv } from '../../cli/doctor/env';
import { runChecks } from '../../cli/doctor/runner';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const HOUR = 3_600_000;
const ACCOUNT = '111122223333';
const STACK = 'AutoRedrive';
const sm = (name: string) => `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${name}`;
const OUTPUTS = {
  PolicyTableName: 'policies',
  LedgerTableName: 'ledger',
  ControllerFunctionName: 'AutoRedrive-Controller',
  DrainFunctionName: 'AutoRedrive-Drain',
  DeadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/dlq',
};
const ROLE = `arn:aws:iam::${ACCOUNT}:role/AutoRedrive-ControllerRole`;

const cfn = mockClient(CloudFormationClient);
const events = mockClient(EventBridgeClient);
const cloudwatch = mockClient(CloudWatchClient);
const sqs = mockClient(SQSClient);
const ddb = mockClient(DynamoDBClient);
const doc = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const iam = mockClient(IAMClient);
const lambda = mockClient(LambdaClient);
const quotas = mockClient(ServiceQuotasClient);

function stack(status = 'UPDATE_COMPLETE', outputs: Record<string, string> = OUTPUTS, createdAt = NOW - 30 * 24 * HOUR): void {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: STACK,
        StackId: `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/${STACK}/1`,
        StackStatus: status as never,
        CreationTime: new Date(createdAt),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  cfn.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: [
      { LogicalResourceId: 'StatusChangeRule4A3B2C1D', PhysicalResourceId: 'AutoRedrive-StatusChangeRule-X', ResourceType: 'AWS::Events::Rule', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() },
      { LogicalResourceId: 'DrainSchedule1A2B3C4D', PhysicalResourceId: 'AutoRedrive-DrainSchedule-Y', ResourceType: 'AWS::Events::Rule', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() },
    ],
  });
}

function policies(...items: Array<Record<string, unknown>>): void {
  ddb.on(ScanCommand).resolves({ Items: items.map((i) => marshall(i)) });
}

function machines(...list: Array<{ name: string; type?: string }>): void {
  sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: list.map((m) => ({ stateMachineArn: sm(m.name), name: m.name, type: (m.type ?? 'STANDARD') as never, creationDate: new Date(0) })),
  });
}

const env = (): DoctorEnv => doctorEnv({ target: { stackName: STACK, tables: {} }, now: () => NOW, sleep: async () => undefined });
const run = (check: Check<DoctorEnv>): Promise<CheckResult> => check.run(env());

beforeEach(() => {
  for (const m of [cfn, events, cloudwatch, sqs, ddb, doc, sfn, iam, lambda, quotas]) m.reset();
  stack();
  policies();
  machines();
  doc.on(GetCommand).resolves({});
  doc.on(QueryCommand).resolves({ Items: [] });
});

describe('stack', () => {
  test('ok: settled, every output, the rule found', async () => {
    expect(await run(stackCheck)).toMatchObject({ status: 'ok', detail: expect.stringContaining('UPDATE_COMPLETE') });
  });
  test('fail: no such stack, with the fix', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id AutoRedrive does not exist'), { name: 'ValidationError' }));
    expect(await run(stackCheck)).toMatchObject({ status: 'fail', detail: expect.stringContaining('does not exist'), fix: expect.stringContaining('--stack') });
  });
  test('fail: a failed stack, missing outputs; fail: no stack named', async () => {
    stack('ROLLBACK_COMPLETE');
    expect((await run(stackCheck)).status).toBe('fail');
    stack('UPDATE_COMPLETE', { PolicyTableName: 'p', LedgerTableName: 'l' });
    expect(await run(stackCheck)).toMatchObject({ status: 'fail', detail: expect.stringContaining('ControllerFunctionName') });
    const noStack = doctorEnv({ target: { tables: {} } });
    expect(await stackCheck.run(noStack)).toMatchObject({ status: 'fail', fix: expect.stringContaining('--stack') });
  });
  test("ok: the outputs of an AutoRedrive construct in the user's own stack (CDK's nested logical ids)", async () => {
    stack('CREATE_COMPLETE', Object.fromEntries(Object.entries(OUTPUTS).map(([k, v]) => [`AutoRedrive${k}1A2B3C4D`, v])));
    expect((await run(stackCheck)).status).toBe('ok');
  });
  test('warn: an update in progress', async () => {
    stack('UPDATE_IN_PROGRESS');
    expect((await run(stackCheck)).status).toBe('warn');
  });
});

describe('rule', () => {
  const rule = (state: string, targets: string[]) => {
    events.on(DescribeRuleCommand).resolves({ Name: 'AutoRedrive-StatusChangeRule-X', State: state as never });
    events.on(ListTargetsByRuleCommand).resolves({ Targets: targets.map((Arn, i) => ({ Id: `T${i}`, Arn })) });
  };
  const CONTROLLER = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:AutoRedrive-Controller`;

  test('ok: enabled and targeting the controller (the status-change rule only, not the drain schedule)', async () => {
    rule('ENABLED', [CONTROLLER]);
    expect((await run(ruleCheck)).status).toBe('ok');
    expect(events.commandCalls(DescribeRuleCommand).map((c) => c.args[0].input.Name)).toEqual(['AutoRedrive-StatusChangeRule-X']);
  });
  test('fail: disabled; fail: not targeting the controller; fail: deleted', async () => {
    rule('DISABLED', [CONTROLLER]);
    expect(await run(ruleCheck)).toMatchObject({ status: 'fail', detail: expect.stringContaining('DISABLED'), fix: expect.stringContaining('cdk deploy') });
    rule('ENABLED', [`arn:aws:lambda:us-east-1:${ACCOUNT}:function:someone-else`]);
    expect(await run(ruleCheck)).toMatchObject({ status: 'fail', detail: expect.stringContaining('does not target the controller') });
    events.on(DescribeRuleCommand).rejects(Object.assign(new Error('Rule does not exist'), { name: 'ResourceNotFoundException' }));
    expect(await run(ruleCheck)).toMatchObject({ status: 'fail', detail: expect.stringContaining('deleted') });
  });
  test("not checked: the stack's resources cannot be listed (the stack check still passes)", async () => {
    cfn.on(ListStackResourcesCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    expect(await run(ruleCheck)).toMatchObject({ status: 'not-checked', detail: expect.stringContaining('AccessDenied') });
    expect((await run(stackCheck)).status).toBe('ok');
  });
});

describe('controller and drain errors', () => {
  const metrics = (values: Record<string, number>) =>
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: Object.entries(values).map(([Id, v]) => ({ Id, Values: [v] })) });

  test('ok: no errors over the last 24 h', async () => {
    metrics({ invocations0: 40, errors0: 0, invocations1: 1440, errors1: 0 });
    expect((await run(lambdaErrorsCheck)).status).toBe('ok');
    const input = cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input;
    expect(input.EndTime!.getTime() - input.StartTime!.getTime()).toBe(24 * HOUR);
  });
  test('warn: some errors; fail: every invocation failed; not checked: access denied', async () => {
    metrics({ invocations0: 40, errors0: 2, invocations1: 1440, errors1: 0 });
    expect(await run(lambdaErrorsCheck)).toMatchObject({ status: 'warn', fix: expect.stringContaining('aws logs tail /aws/lambda/AutoRedrive-Controller') });
    metrics({ invocations0: 40, errors0: 0, invocations1: 1440, errors1: 1440 });
    expect((await run(lambdaErrorsCheck)).status).toBe('fail');
    cloudwatch.on(GetMetricDataCommand).rejects(Object.assign(new Error('no'), { name: 'AccessDenied' }));
    expect(await run(lambdaErrorsCheck)).toMatchObject({ status: 'not-checked', detail: expect.stringContaining('may not read CloudWatch') });
  });
});

describe('dead-letter queue', () => {
  test('ok: empty; warn: messages, with dlq replay as the fix', async () => {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
    expect((await run(dlqCheck)).status).toBe('ok');
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '3' } });
    expect(await run(dlqCheck)).toMatchObject({ status: 'warn', detail: expect.stringContaining('3 message'), fix: expect.stringContaining('dlq replay') });
  });
});

describe('kill switch', () => {
  test('ok: not paused; fail: paused, with resume as the fix', async () => {
    expect((await run(killSwitchCheck)).status).toBe('ok');
    doc.on(GetCommand, { Key: { pk: 'CONTROL', sk: 'PAUSE' } }).resolves({ Item: { pk: 'CONTROL', sk: 'PAUSE', reason: 'outage', by: 'ops', at: NOW - HOUR } });
    expect(await run(killSwitchCheck)).toMatchObject({ status: 'fail', detail: expect.stringContaining('outage'), fix: expect.stringContaining('redrivectl resume') });
  });
});

describe('policies', () => {
  test('ok: valid; warn: none; fail: an invalid item, named with its field', async () => {
    policies({ stateMachine: sm('orders'), maxRedrives: 2 });
    expect(await run(policiesCheck)).toMatchObject({ status: 'ok', detail: '1 valid' });
    policies();
    expect((await run(policiesCheck)).status).toBe('warn');
    policies({ stateMachine: sm('orders'), maxRedrive: 2 });
    expect(await run(policiesCheck)).toMatchObject({ status: 'fail', detail: expect.stringContaining('maxRedrive'), fix: expect.stringContaining('redrivectl policy validate') });
  });
});

describe('policies name Standard state machines', () => {
  test('ok: they exist and are Standard; warn: missing or Express (DescribeStateMachine)', async () => {
    policies({ stateMachine: sm('orders') }, { stateMachine: 'arn:aws:states:*:*:stateMachine:batch-*' });
    sfn.on(DescribeStateMachineCommand).resolves({ type: 'STANDARD' });
    expect((await run(policyTargetsCheck)).status).toBe('ok');
    policies({ stateMachine: sm('orders') }, { stateMachine: sm('gone') }, { stateMachine: sm('fast') });
    sfn.on(DescribeStateMachineCommand, { stateMachineArn: sm('gone') }).rejects(Object.assign(new Error('nope'), { name: 'StateMachineDoesNotExist' }));
    sfn.on(DescribeStateMachineCommand, { stateMachineArn: sm('fast') }).resolves({ type: 'EXPRESS' });
    const r = await run(policyTargetsCheck);
    expect(r).toMatchObject({ status: 'warn', data: { missing: [sm('gone')], express: [sm('fast')] } });
  });
});

describe('recent failures without a policy', () => {
  test('ok: every failing machine is covered, or its failures are older than 14 days', async () => {
    machines({ name: 'orders' }, { name: 'old' }, { name: 'events', type: 'EXPRESS' });
    policies({ stateMachine: sm('orders') });
    sfn.on(ListExecutionsCommand).resolves({ executions: [{ executionArn: 'x', stateMachineArn: sm('old'), name: 'x', status: 'FAILED', startDate: new Date(NOW - 20 * 24 * HOUR), stopDate: new Date(NOW - 20 * 24 * HOUR) }] });
    expect((await run(uncoveredFailuresCheck)).status).toBe('ok');
    // Only the uncovered Standard machine is listed: first page, one item, per status.
    const calls = sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { stateMachineArn: sm('old'), statusFilter: 'FAILED', maxResults: 1 },
      { stateMachineArn: sm('old'), statusFilter: 'TIMED_OUT', maxResults: 1 },
    ]);
  });
  test('warn: a machine failed yesterday and no policy covers it (a disabled policy does not)', async () => {
    machines({ name: 'orders' }, { name: 'billing' });
    policies({ stateMachine: sm('orders') }, { stateMachine: sm('billing'), enabled: false });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: sm('billing'), statusFilter: 'TIMED_OUT' }).resolves({
      executions: [{ executionArn: 'x', stateMachineArn: sm('billing'), name: 'x', status: 'TIMED_OUT', startDate: new Date(NOW - 25 * HOUR), stopDate: new Date(NOW - 24 * HOUR) }],
    });
    const r = await run(uncoveredFailuresCheck);
    expect(r).toMatchObject({ status: 'warn', detail: expect.stringContaining('billing'), fix: expect.stringContaining(`policy put '${sm('billing')}'`) });
  });
  test('bounded and paced: at most maxMachines machines, a pause between calls under the ListExecutions quota', async () => {
    machines({ name: 'a' }, { name: 'b' }, { name: 'c' });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const pauses: number[] = [];
    const bounded = doctorEnv({ target: { stackName: STACK, tables: {} }, options: { maxMachines: 2 }, now: () => NOW, sleep: async (ms) => void pauses.push(ms) });
    const r = await uncoveredFailuresCheck.run(bounded);
    expect(r).toMatchObject({ status: 'ok', detail: expect.stringContaining('the first 2 of them checked') });
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(4);
    // us-east-1: ListExecutions refills 5/s; doctor uses half.
    expect(pauses).toEqual([400, 400, 400]);
  });
});

describe('pacing', () => {
  test('checks running side by side share one pace for their per-machine Step Functions calls', async () => {
    machines({ name: 'a' });
    policies({ stateMachine: sm('b') });
    sfn.on(DescribeStateMachineCommand).resolves({ type: 'STANDARD' });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const pauses: number[] = [];
    const shared = doctorEnv({ target: { stackName: STACK, tables: {} }, now: () => NOW, sleep: async (ms) => void pauses.push(ms) });
    const reports = await runChecks([policyTargetsCheck, uncoveredFailuresCheck], shared);
    expect(reports.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(sfn.commandCalls(DescribeStateMachineCommand).length + sfn.commandCalls(ListExecutionsCommand).length).toBe(3);
    expect(pauses).toEqual([400, 400]);
  });
});

describe("canary's last recovery", () => {
  const item = (account: string, region: string, at: number) => ({ pk: CANARY_STATUS_PK, sk: canaryStatusSk(account, region), recoveredAt: new Date(at).toISOString(), recoveries: 12 });
  const recovered = (at: number, ...members: Array<Record<string, unknown>>) =>
    doc.on(QueryCommand, { ExpressionAttributeValues: { ':pk': CANARY_STATUS_PK, ':prefix': 'CANARY#' } }).resolves({ Items: [item(ACCOUNT, 'us-east-1', at), ...members] });

  test('ok: recovered within two intervals and the margin', async () => {
    machines({ name: 'AutoRedriveCanary-AutoRedrive' });
    recovered(NOW - 50 * 60_000);
    expect(await run(canaryCheck)).toMatchObject({ status: 'ok', detail: expect.stringContaining('50 min ago') });
  });
  test('fail: the last recovery is older than that, with the runbook as the fix', async () => {
    machines({ name: 'AutoRedriveCanary-AutoRedrive' });
    recovered(NOW - 3 * HOUR);
    expect(await run(canaryCheck)).toMatchObject({ status: 'fail', fix: expect.stringContaining('docs/runbook.md') });
  });
  test("fail: an organization member's canary has not recovered (its forwarding path is broken), named", async () => {
    machines({ name: 'AutoRedriveCanary-AutoRedrive' });
    recovered(NOW - 10 * 60_000, item('444455556666', 'eu-west-1', NOW - 20 * 60_000), item('777788889999', 'us-west-2', NOW - 6 * HOUR));
    const r = await run(canaryCheck);
    expect(r).toMatchObject({ status: 'fail', detail: expect.stringContaining('1 of 2 member canaries'), fix: expect.stringContaining('forwarding rule') });
    expect(r.detail).toContain('777788889999 us-west-2');
    expect(r.detail).not.toContain('444455556666');
  });
  test('fail: none recorded on a stack older than the limit; warn: none yet on a new stack; warn: canary off', async () => {
    machines({ name: 'AutoRedriveCanary-AutoRedrive' });
    expect((await run(canaryCheck)).status).toBe('fail');
    stack('CREATE_COMPLETE', OUTPUTS, NOW - 30 * 60_000);
    expect((await run(canaryCheck)).status).toBe('warn');
    machines({ name: 'orders' });
    expect(await run(canaryCheck)).toMatchObject({ status: 'warn', detail: expect.stringContaining('canary off') });
  });
});

describe('controller may redrive', () => {
  beforeEach(() => {
    machines({ name: 'orders' }, { name: 'billing' }, { name: 'free' });
    policies({ stateMachine: sm('orders') }, { stateMachine: sm('billing') });
    lambda.on(GetFunctionConfigurationCommand).resolves({ FunctionArn: 'arn', Role: ROLE });
  });
  const decisions = (d: Record<string, string>) =>
    iam.on(SimulatePrincipalPolicyCommand).resolves({
      EvaluationResults: Object.entries(d).map(([name, EvalDecision]) => ({ EvalActionName: 'states:RedriveExecution', EvalResourceName: `arn:aws:states:us-east-1:${ACCOUNT}:execution:${name}:*`, EvalDecision: EvalDecision as never })),
    });

  test("ok: the simulator allows states:RedriveExecution on every covered machine's executions", async () => {
    decisions({ orders: 'allowed', billing: 'allowed' });
    expect((await run(redrivePermissionCheck)).status).toBe('ok');
    expect(iam.commandCalls(SimulatePrincipalPolicyCommand)[0].args[0].input).toMatchObject({
      PolicySourceArn: ROLE,
      ActionNames: ['states:RedriveExecution'],
      ResourceArns: [`arn:aws:states:us-east-1:${ACCOUNT}:execution:orders:*`, `arn:aws:states:us-east-1:${ACCOUNT}:execution:billing:*`],
    });
  });
  test('fail: denied (an SCP: explicit deny); not checked: the caller may not simulate', async () => {
    decisions({ orders: 'allowed', billing: 'explicitDeny' });
    expect(await run(redrivePermissionCheck)).toMatchObject({ status: 'fail', detail: expect.stringContaining('billing (explicitDeny)'), fix: expect.stringContaining('explicit deny') });
    iam.on(SimulatePrincipalPolicyCommand).rejects(Object.assign(new Error('not authorized to perform iam:SimulatePrincipalPolicy'), { name: 'AccessDenied' }));
    expect(await run(redrivePermissionCheck)).toMatchObject({ status: 'not-checked', detail: expect.stringContaining('AccessDenied') });
  });
});

describe('rate within quota', () => {
  const recorded = (redrive: number, describe: number) => {
    doc.on(GetCommand, { Key: { pk: 'RATE', sk: 'LEASES#RedriveExecution' } }).resolves({ Item: { ratePerSecond: redrive, rateRecordedAt: NOW } });
    doc.on(GetCommand, { Key: { pk: 'RATE', sk: 'LEASES#DescribeExecution' } }).resolves({ Item: { ratePerSecond: describe, rateRecordedAt: NOW } });
  };

  test("ok: within the documented us-east-1 defaults when Service Quotas can't be read", async () => {
    recorded(50, 10);
    quotas.on(ListServiceQuotasCommand).rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));
    expect(await run(rateQuotaCheck)).toMatchObject({ status: 'ok', detail: expect.stringContaining('RedriveExecution 50/s of 300/s') });
  });
  test("warn: above the account's quota from Service Quotas; warn: no rate recorded", async () => {
    recorded(50, 10);
    quotas.on(ListServiceQuotasCommand).resolves({ Quotas: [{ QuotaName: 'RedriveExecution throttle token refill rate', Value: 20 }] });
    expect(await run(rateQuotaCheck)).toMatchObject({ status: 'warn', detail: expect.stringContaining('50/s of 20/s'), fix: expect.stringContaining('redriveRatePerSecond') });
    doc.reset();
    doc.on(GetCommand).resolves({});
    expect(await run(rateQuotaCheck)).toMatchObject({ status: 'warn', detail: expect.stringContaining('no rate') });
  });
});
