/**
 * The canary of both constructs (lib/canary.ts): its state machine (contract/canary.ts's
 * definition, as written), the schedule, their roles, the managed policy item, the alarm
 * and the dashboard widgets; `canary: false` removes all of them; the member stack runs
 * its own; the settings are validated naming the prop. Bundling is skipped.
 */
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CANARY_POLICY, CANARY_POLICY_KEY, canaryDefinition } from '../../contract/canary';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../contract/metrics';
import { AutoRedrive, type AutoRedriveProps } from '../../lib/auto-redrive';
import { AutoRedriveMember, type AutoRedriveMemberProps } from '../../lib/auto-redrive-member';
import { CONTEXT } from '../../lib/auto-redrive-stack';
import { CANARY_ALARM_MARGIN_MINUTES, canaryAlarmPeriodMinutes } from '../../lib/canary';
import { RUNBOOK } from '../../lib/observability';
import {
  ACCOUNT,
  REGION,
  flatten,
  functionStatements,
  identityStatements,
  list,
  logicalIdOf,
  nagFindings,
  newAutoRedrive,
  newAutoRedriveStack,
  newStack,
  removeOutdirs,
  resourcesFor,
  synthAutoRedrive,
} from './helpers';

afterAll(removeOutdirs);

const ORDERS = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:orders`;
const CANARY_NAME = 'AutoRedriveCanary-Test';
const MEMBER_ACCOUNT = '111111111111';

function build(props: AutoRedriveProps = {}) {
  const t = synthAutoRedrive(props);
  const ofType = (type: string) => Object.entries(t.template.findResources(type));
  const dashboard = () => JSON.parse(flatten(t.resources[t.id(t.ar.dashboard)].Properties.DashboardBody)) as { widgets: any[] };
  return { ...t, ofType, dashboard };
}
type Built = ReturnType<typeof build>;

/** Every metric row of the dashboard's graph widgets, as text. */
const metricRows = (t: Built) => JSON.stringify(t.dashboard().widgets.filter((w) => w.type === 'metric').map((w) => w.properties.metrics));

let defaults: Built | undefined;
const t0 = () => (defaults ??= build());

describe('by default (canary: true)', () => {
  test('a Standard state machine named after the stack, with the definition of contract/canary.ts as written', () => {
    const t = t0();
    const machines = t.ofType('AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(1);
    const [id, machine] = machines[0];
    expect(id).toBe(t.id(t.ar.canary!.stateMachine));
    expect(machine.Properties.StateMachineName).toBe(CANARY_NAME);
    expect(machine.Properties.StateMachineType).toBe('STANDARD');
    expect(JSON.parse(flatten(machine.Properties.DefinitionString))).toEqual(canaryDefinition());
    // An output names it (CanaryStateMachineArn in AutoRedriveStack).
    expect(Object.values(t.template.toJSON().Outputs).filter((o: any) => o.Value?.Ref === id)).toHaveLength(1);
  });

  test("the canary's role: only Step Functions for this state machine; only DescribeExecution on its own executions", () => {
    const t = t0();
    const roleId = t.resources[t.id(t.ar.canary!.stateMachine)].Properties.RoleArn['Fn::GetAtt'][0];
    const role = t.resources[roleId].Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'states.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': ACCOUNT },
          ArnLike: { 'aws:SourceArn': expect.anything() },
        },
      },
    ]);
    expect(flatten(role.AssumeRolePolicyDocument.Statement[0].Condition.ArnLike['aws:SourceArn'])).toBe(
      `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:stateMachine:${CANARY_NAME}`,
    );
    expect(role.Policies).toHaveLength(1);
    expect(role.Policies[0].PolicyDocument.Statement.map((s: any) => [s.Effect, s.Action, flatten(s.Resource)])).toEqual([
      ['Allow', 'states:DescribeExecution', `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:execution:${CANARY_NAME}:*`],
    ]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    // No other policy is attached to it.
    const attached = Object.values(t.template.findResources('AWS::IAM::Policy')).filter((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId),
    );
    expect(attached).toEqual([]);
  });

  test('a schedule starts it every hour with an empty input; its role may only start the canary', () => {
    const t = t0();
    const machineRef = { Ref: t.id(t.ar.canary!.stateMachine) };
    const schedule = t.resources[t.id(t.ar.canary!.schedule)].Properties;
    expect(schedule.ScheduleExpression).toBe('rate(1 hour)');
    expect(schedule.Targets).toHaveLength(1);
    const [target] = schedule.Targets;
    expect(target).toMatchObject({ Arn: machineRef, Input: '{}', RetryPolicy: { MaximumEventAgeInSeconds: 3600 } });
    const roleId = target.RoleArn['Fn::GetAtt'][0];
    const statements = Object.values(t.template.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: machineRef }]);
    expect(t.resources[roleId].Properties.Policies).toBeUndefined();
  });

  test('no other statement anywhere names the canary (its permissions are exactly the two above)', () => {
    const t = t0();
    const machineId = t.id(t.ar.canary!.stateMachine);
    const naming = identityStatements(t.template).filter((s) => JSON.stringify(s.Resource).includes(CANARY_NAME) || JSON.stringify(s.Resource).includes(machineId));
    expect(naming.map((s) => list(s.Action).join()).sort()).toEqual(['states:DescribeExecution', 'states:StartExecution']);
  });

  test('the managed policy item is CANARY_POLICY, written through the policy writer with managedBy', () => {
    const t = t0();
    const items = t.ofType('Custom::AutoRedrivePolicy').map(([, r]) => r.Properties);
    expect(items).toHaveLength(1);
    expect(items[0].TableName).toEqual({ Ref: t.id(t.ar.policyTable) });
    expect(items[0].Policy).toEqual({ ...CANARY_POLICY, errorEquals: [...CANARY_POLICY.errorEquals], breaker: { ...CANARY_POLICY.breaker }, managedBy: 'Test/AutoRedrive/CanaryPolicy' });
    expect(t.ar.canaryPolicy!.item.stateMachine).toBe(CANARY_POLICY_KEY);
  });

  test('the controller may redrive (and describe) the canary: the unnarrowed execution:*:* covers it', () => {
    const t = t0();
    for (const id of [t.controllerId, t.drainId]) {
      expect(resourcesFor(functionStatements(t.template, id), 'states:RedriveExecution')).toEqual([
        `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:execution:*:*`,
      ]);
    }
  });

  test('the alarm: the canary started at least twice and none of this account and Region recovered, over 2 intervals + margin; quiet with no starts', () => {
    const t = t0();
    const alarm = t.resources[t.id(t.ar.canaryAlarm!)].Properties;
    const periodMinutes = 2 * 60 + CANARY_ALARM_MARGIN_MINUTES + 1; // drainInterval 1 minute
    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: t.id(t.ar.alarmTopic) }],
      OKActions: [{ Ref: t.id(t.ar.alarmTopic) }],
    });
    const metrics = alarm.Metrics as Array<{ Id: string; Expression?: string; Period?: number; MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] }; Period: number; Stat: string } }>;
    const expression = metrics.find((m) => m.Expression)!;
    expect(expression.Expression).toBe('IF(FILL(started, 0) >= 2 AND FILL(recovered, 0) < 1, 1, 0)');
    const byId = Object.fromEntries(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat!]));
    expect(byId.recovered).toMatchObject({ Metric: { Namespace: METRICS_NAMESPACE, MetricName: METRIC.canaryRecoveries }, Stat: 'Sum', Period: periodMinutes * 60 });
    expect(byId.recovered.Metric.Dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'service', Value: SERVICE_NAME },
        { Name: 'Account', Value: ACCOUNT },
        { Name: 'Region', Value: REGION },
      ]),
    );
    expect(byId.started).toMatchObject({ Metric: { Namespace: 'AWS/States', MetricName: 'ExecutionsStarted' }, Stat: 'Sum', Period: periodMinutes * 60 });
    expect(JSON.stringify(byId.started.Metric.Dimensions)).toContain(CANARY_NAME);
    expect(byId.recovered.Period % 60).toBe(0);
  });

  test('the dashboard starts with the canary: recoveries and recovery seconds of this account and Region', () => {
    const t = t0();
    const [first, second] = t.dashboard().widgets;
    expect(first.properties.title).toMatch(/^Canary: recoveries/);
    expect(second.properties.title).toMatch(/^Canary: seconds from failure to recovery/);
    expect(first.properties.metrics).toEqual([
      [METRICS_NAMESPACE, METRIC.canaryRecoveries, 'Account', ACCOUNT, 'Region', REGION, 'service', SERVICE_NAME, expect.objectContaining({ stat: 'Sum', period: 3600 })],
    ]);
    expect(second.properties.metrics).toEqual([
      [METRICS_NAMESPACE, METRIC.canaryRecoverySeconds, 'Account', ACCOUNT, 'Region', REGION, 'service', SERVICE_NAME, expect.objectContaining({ stat: 'Maximum', period: 3600 })],
    ]);
    const text = t.dashboard().widgets.find((w) => w.type === 'text').properties.markdown;
    expect(text).toContain(`(docs/runbook.md#${RUNBOOK.canary})`);
    const alarms = t.dashboard().widgets.find((w) => w.type === 'alarm').properties.alarms;
    expect(alarms[0]).toBe(`<${t.id(t.ar.canaryAlarm!)}.Arn>`);
  });
});

describe('canary: false', () => {
  test('removes the state machine, the schedule, the policy item (and its writer), the alarm and the widgets', () => {
    const t = build({ canary: false });
    expect(t.ar.canary).toBeUndefined();
    expect(t.ar.canaryPolicy).toBeUndefined();
    expect(t.ar.canaryAlarm).toBeUndefined();
    t.template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    t.template.resourceCountIs('Custom::AutoRedrivePolicy', 0);
    t.template.resourceCountIs('AWS::Lambda::Function', 2);
    t.template.resourceCountIs('AWS::CloudWatch::Alarm', 8);
    // The status-change rule and the drain schedule only.
    expect(t.ofType('AWS::Events::Rule').map(([id]) => id).sort()).toEqual([t.id(t.ar.rule), t.id(t.ar.drainSchedule)].sort());
    expect(metricRows(t)).not.toContain('Canary');
    expect(t.dashboard().widgets.find((w) => w.type === 'text').properties.markdown).not.toContain(RUNBOOK.canary);
    // Only the rule's canary branch names canaries (a member's canary may still report here; it matches nothing else).
    const { Resources } = t.template.toJSON() as { Resources: Record<string, unknown> };
    const naming = Object.entries(Resources).filter(([, r]) => JSON.stringify(r).includes('AutoRedriveCanary')).map(([id]) => id);
    expect(naming).toEqual([t.id(t.ar.rule)]);
  });

  test('from context: auto-redrive:canary false', () => {
    const template = Template.fromStack(newAutoRedriveStack({ [CONTEXT.canary]: 'false' }));
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('CanaryStateMachineArn');
    const on = Template.fromStack(newAutoRedriveStack({ [CONTEXT.canaryIntervalMinutes]: 30 }));
    on.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'AutoRedriveCanary-AutoRedrive' });
    on.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)' });
    expect(Object.keys(on.toJSON().Outputs)).toContain('CanaryStateMachineArn');
  });
});

describe('canaryInterval', () => {
  test('sets the schedule and the alarm period (2 intervals + 15 minutes + drainInterval)', () => {
    const t = build({ canaryInterval: Duration.minutes(15), drainInterval: Duration.minutes(5) });
    expect(t.resources[t.id(t.ar.canary!.schedule)].Properties.ScheduleExpression).toBe('rate(15 minutes)');
    expect(t.resources[t.id(t.ar.canaryAlarm!)].Properties.Metrics.find((m: { Id: string }) => m.Id === 'recovered').MetricStat.Period).toBe((30 + 15 + 5) * 60);
    expect(canaryAlarmPeriodMinutes(15, 5)).toBe(50);
  });
});

describe('listed state machines (stateMachineArns)', () => {
  test('the canary joins them: the rule forwards it, the controller may redrive it, the dashboard leaves it out', () => {
    const t = build({ stateMachineArns: [ORDERS] });
    const canaryArn = `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:stateMachine:${CANARY_NAME}`;
    expect(t.resources[t.id(t.ar.rule)].Properties.EventPattern.detail.stateMachineArn.map(flatten)).toEqual([ORDERS, canaryArn]);
    for (const id of [t.controllerId, t.drainId]) {
      expect(resourcesFor(functionStatements(t.template, id), 'states:RedriveExecution')).toEqual([
        `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:execution:${CANARY_NAME}:*`,
        `arn:aws:states:${REGION}:${ACCOUNT}:execution:orders:*`,
      ]);
    }
    // The Step Functions widgets show the user's machines only.
    const states = t.dashboard().widgets.filter((w) => JSON.stringify(w.properties.metrics ?? []).includes('AWS/States'));
    expect(JSON.stringify(states)).not.toContain(CANARY_NAME);
    expect(nagFindings(t.stack)).toEqual([]);
  });
});

describe('organization mode', () => {
  const organization = { memberAccounts: [MEMBER_ACCOUNT], externalId: 'auto-redrive-test' };

  test('central: its own canary and alarm; the dashboard shows one line per account and Region (SEARCH)', () => {
    const t = build({ organization });
    t.template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    expect(JSON.stringify(t.resources[t.id(t.ar.canaryAlarm!)].Properties.Metrics)).toContain(JSON.stringify({ Name: 'Account', Value: ACCOUNT }));
    const [first, second] = t.dashboard().widgets;
    expect(first.properties.metrics).toEqual([
      [{ expression: `SEARCH('{AutoRedrive,Account,Region,service} MetricName="CanaryRecoveries" service="auto-redrive"', 'Sum', 3600)`, period: 3600 }],
    ]);
    expect(second.properties.metrics[0][0].expression).toBe(
      `SEARCH('{AutoRedrive,Account,Region,service} MetricName="CanaryRecoverySeconds" service="auto-redrive"', 'Maximum', 3600)`,
    );
  });

  const memberProps: AutoRedriveMemberProps = {
    centralEventBusArn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/AutoRedriveCentral`,
    controllerRoleArns: [`arn:aws:iam::${ACCOUNT}:role/controller`],
    externalId: 'auto-redrive-test',
  };
  const member = (props: Partial<AutoRedriveMemberProps> = {}) => {
    const stack = newStack({ id: 'Member', agnostic: true });
    const m = new AutoRedriveMember(stack, 'AutoRedriveMember', { ...memberProps, ...props });
    return { stack, m, template: Template.fromStack(stack) };
  };

  test('member: its own canary state machine and schedule; no policy item, no alarm (those are central)', () => {
    const { stack, m, template } = member({ canaryInterval: Duration.minutes(30) });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'AutoRedriveCanary-Member', StateMachineType: 'STANDARD' });
    expect(template.toJSON().Resources[logicalIdOf(stack, m.canary!.schedule)].Properties.ScheduleExpression).toBe('rate(30 minutes)');
    template.resourceCountIs('Custom::AutoRedrivePolicy', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    // The member role (redrive, describe) covers the canary's executions: execution:*:* of this account.
    const redrive = identityStatements(template).filter((s) => list(s.Action).includes('states:RedriveExecution'));
    expect(redrive.flatMap((s) => list(s.Resource).map(flatten))).toEqual(['arn:<AWS::Partition>:states:*:<AWS::AccountId>:execution:*:*']);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('member with listed state machines: the canary is forwarded and may be redriven', () => {
    const orders = `arn:aws:states:${REGION}:${MEMBER_ACCOUNT}:stateMachine:orders`;
    const { stack, m, template } = member({ stateMachineArns: [orders] });
    const canaryArn = stack.resolve(m.canary!.stateMachineArn);
    expect(template.toJSON().Resources[logicalIdOf(stack, m.rule)].Properties.EventPattern.detail.stateMachineArn).toEqual([orders, canaryArn]);
    const redrive = identityStatements(template).filter((s) => list(s.Action).includes('states:RedriveExecution'));
    expect(redrive.flatMap((s) => list(s.Resource).map(flatten)).sort()).toEqual([
      `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:AutoRedriveCanary-Member:*`,
      `arn:aws:states:${REGION}:${MEMBER_ACCOUNT}:execution:orders:*`,
    ]);
  });

  test('member: canary false removes it', () => {
    const { m, template } = member({ canary: false });
    expect(m.canary).toBeUndefined();
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    expect(Object.values(template.toJSON().Resources).filter((r: any) => r.Properties?.ScheduleExpression)).toEqual([]);
  });
});

describe('validation names the prop', () => {
  test.each([
    ['interval under 5 minutes', { canaryInterval: Duration.minutes(4) }, /^AutoRedrive: canaryInterval must be between 5 and 1440 minutes, got 4 minutes$/],
    ['interval over a day', { canaryInterval: Duration.hours(25) }, /^AutoRedrive: canaryInterval must be between 5 and 1440 minutes/],
    ['interval in seconds', { canaryInterval: Duration.seconds(330) }, /^AutoRedrive: canaryInterval must be a whole number of minutes/],
    ['statuses without FAILED', { statuses: ['TIMED_OUT'] }, /^AutoRedrive: canary needs statuses to include FAILED/],
    [
      "an alarm period over CloudWatch's 7 days",
      { canaryInterval: Duration.days(1), drainInterval: Duration.days(6), reconcileEvery: Duration.days(6), backlogAgeAlarmThreshold: Duration.days(13) },
      /^AutoRedrive: canaryInterval \(1440 min\) makes the canary alarm's period .* longer than CloudWatch's 7 days$/,
    ],
  ] as Array<[string, AutoRedriveProps, RegExp]>)('%s', (_n, props, message) => {
    expect(() => newAutoRedrive(props)).toThrow(message);
    try {
      newAutoRedrive(props);
    } catch (e) {
      expect((e as { prop: string }).prop).toMatch(/^canary/);
    }
  });

  test('canary false: statuses without FAILED are fine', () => {
    expect(() => newAutoRedrive({ statuses: ['TIMED_OUT'], canary: false })).not.toThrow();
  });

  test('the member names its prop too', () => {
    const stack = newStack({ agnostic: true });
    expect(
      () => new AutoRedriveMember(stack, 'M', {
        centralEventBusArn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/AutoRedriveCentral`,
        controllerRoleArns: [`arn:aws:iam::${ACCOUNT}:role/controller`],
        externalId: 'auto-redrive-test',
        canaryInterval: Duration.minutes(2),
      }),
    ).toThrow(/^AutoRedriveMember: canaryInterval must be between 5 and 1440 minutes, got 2 minutes$/);
  });

  test('the stack names the context key', () => {
    expect(() => newAutoRedriveStack({ [CONTEXT.canaryIntervalMinutes]: 2 })).toThrow(
      /^Context 'auto-redrive:canaryIntervalMinutes': AutoRedrive: canaryInterval must be between 5 and 1440 minutes/,
    );
    expect(() => newAutoRedriveStack({ [CONTEXT.canary]: 'maybe' })).toThrow(/^Context 'auto-redrive:canary': must be true or false/);
  });

  test('a second canary in one stack: an error naming canary', () => {
    const stack = newStack();
    new AutoRedrive(stack, 'Orders', { dashboardName: 'AutoRedrive-orders' });
    expect(() => new AutoRedrive(stack, 'Billing', { dashboardName: 'AutoRedrive-billing' })).toThrow(
      /^AutoRedrive: canary: Test\/Orders already deploys this stack's canary \(AutoRedriveCanary-Test\); set canary to false on Test\/Billing$/,
    );
    expect(() => new AutoRedrive(stack, 'Billing2', { dashboardName: 'AutoRedrive-billing', canary: false })).not.toThrow();
  });
});
