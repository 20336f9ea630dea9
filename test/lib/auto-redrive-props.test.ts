/**
 * The AutoRedrive construct used directly, with non-default props. Asset bundling is
 * skipped here (aws:cdk:bundling-stacks = []); auto-redrive.test.ts bundles for real.
 */
import { CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ENV } from '../../contract/environment';
import { AutoRedrive, AutoRedriveProps } from '../../lib/auto-redrive';
import { statusChangePattern } from '../../contract/event-pattern';
import { ACCOUNT, REGION, annotationProblems, functionStatements, identityStatements, list, logicalIdOf, nagFindings, newApp, newAutoRedrive, newStack, removeOutdirs, resourcesFor, synthAutoRedrive } from './helpers';

afterAll(removeOutdirs);

const ORDERS = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:orders`;
const BILLING = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:billing-v2`;

function build(props: AutoRedriveProps = {}) {
  const t = synthAutoRedrive(props);
  return { ...t, rulePattern: () => t.resources[t.id(t.ar.rule)].Properties.EventPattern };
}

describe('statuses and stateMachineArns', () => {
  // Without the canary, which joins the listed machines (test/lib/canary.test.ts).
  const narrowed = () => build({ statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArns: [ORDERS, BILLING], canary: false });

  test('rule pattern is statusChangePattern() with ABORTED and the ARNs', () => {
    const t = narrowed();
    expect(t.rulePattern()).toEqual(
      statusChangePattern({ statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArns: [ORDERS, BILLING] }),
    );
  });

  test('Step Functions permissions are narrowed to the listed state machines', () => {
    const t = narrowed();
    const executions = [
      `arn:aws:states:${REGION}:${ACCOUNT}:execution:billing-v2:*`,
      `arn:aws:states:${REGION}:${ACCOUNT}:execution:orders:*`,
    ];
    for (const id of [t.controllerId, t.drainId]) {
      const st = functionStatements(t.template, id);
      expect(resourcesFor(st, 'states:RedriveExecution')).toEqual(executions);
      expect(resourcesFor(st, 'states:DescribeExecution')).toEqual(executions);
    }
    const drain = functionStatements(t.template, t.drainId);
    expect(resourcesFor(drain, 'states:ListExecutions')).toEqual([BILLING, ORDERS]);
    expect(resourcesFor(drain, 'states:ListStateMachines')).toEqual(['*']);
    // Nothing account-wide is left apart from ListStateMachines.
    const wide = identityStatements(t.template)
      .flatMap((s) => list(s.Resource))
      .filter((r) => typeof r === 'string' && r.includes('*') && !r.endsWith('/index/*'));
    expect([...new Set(wide)].sort()).toEqual(['*', ...executions].sort());
  });

  test('cdk-nag clean with narrowed permissions', () => {
    expect(nagFindings(narrowed().stack)).toEqual([]);
  });

  test('ARNs from tokens: split with Arn.split into per-machine execution ARNs, nag clean', () => {
    const stack = newStack({ agnostic: true });
    const arn = new CfnParameter(stack, 'StateMachineArn').valueAsString;
    const ar = new AutoRedrive(stack, 'AutoRedrive', { stateMachineArns: [arn], canary: false });
    const template = Template.fromStack(stack);
    expect(template.toJSON().Resources[logicalIdOf(stack, ar.rule)].Properties.EventPattern.detail.stateMachineArn)
      .toEqual([{ Ref: 'StateMachineArn' }]);
    const st = functionStatements(template, logicalIdOf(stack, ar.controller));
    const [resource] = resourcesFor(st, 'states:RedriveExecution');
    expect(resource).toMatch(/:execution:.*Fn::Select.*StateMachineArn.*:\*$/);
    expect(resourcesFor(functionStatements(template, logicalIdOf(stack, ar.drain)), 'states:ListExecutions'))
      .toEqual(['<StateMachineArn>']);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('the nag check is not vacuous: an unacknowledged finding is reported', () => {
    const { stack } = newAutoRedrive({}, { agnostic: true });
    new sqs.Queue(stack, 'PlainQueue');
    expect(nagFindings(stack)).toEqual([
      expect.stringMatching(/^error AwsSolutions-SQS3: .*Test\/PlainQueue\/Resource$/),
      expect.stringMatching(/^error AwsSolutions-SQS4: .*Test\/PlainQueue\/Resource$/),
    ]);
  });

  test('account/Region-specific stack without ARNs is nag clean too', () => {
    const t = build();
    expect(resourcesFor(functionStatements(t.template, t.drainId), 'states:ListExecutions')).toEqual([
      `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:stateMachine:*`,
    ]);
    expect(nagFindings(t.stack)).toEqual([]);
    expect(annotationProblems(t.stack)).toEqual([]);
  });
});

describe('settings', () => {
  // Each setting's variable and unit: test/lib/settings.test.ts. Here what else the settings shape.
  test('reservedConcurrency and drainInterval shape the controller, the schedule and the drain tick age; durations convert', () => {
    const t = build({
      reservedConcurrency: 3,
      drainInterval: Duration.minutes(5),
      policyCacheTtl: Duration.minutes(2),
      reconcileLookback: Duration.days(3),
      reconcileEvery: Duration.hours(1),
    });
    expect(t.env(t.drainId)).toMatchObject({
      [ENV.policyCacheTtlSeconds]: '120',
      [ENV.reconcileLookbackHours]: '72',
      [ENV.reconcileEveryMinutes]: '60',
    });
    t.template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 3 });
    t.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    // A drain tick older than one interval is superseded by the next one.
    t.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: t.drainId },
      MaximumEventAgeInSeconds: 300,
    });
  });

  test('logRetention and removalPolicy', () => {
    // canary: false leaves out the policy writer (the canary's managed policy), whose log group keeps its own 30 days.
    const t = build({ logRetention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY, canary: false });
    const groups = Object.values(t.template.findResources('AWS::Logs::LogGroup'));
    expect(groups.map((g) => g.Properties.RetentionInDays)).toEqual([7, 7]);
    const tables = Object.values(t.template.findResources('AWS::DynamoDB::Table'));
    expect(tables.map((r) => r.DeletionPolicy)).toEqual(['Delete', 'Delete']);
  });

  test('publishEvents: false sets no bus and grants no events:PutEvents', () => {
    const t = build({ publishEvents: false });
    for (const id of [t.controllerId, t.drainId]) {
      expect(t.env(id)[ENV.eventBusName]).toBeUndefined();
      expect(resourcesFor(functionStatements(t.template, id), 'events:PutEvents')).toEqual([]);
    }
  });

  test('a custom event bus receives the Lambdas\' events', () => {
    const stack = newStack({ agnostic: true });
    const bus = new events.EventBus(stack, 'Bus');
    const ar = new AutoRedrive(stack, 'AutoRedrive', { eventBus: bus });
    const template = Template.fromStack(stack);
    const busId = logicalIdOf(stack, bus);
    const controllerId = logicalIdOf(stack, ar.controller);
    expect(template.toJSON().Resources[controllerId].Properties.Environment.Variables[ENV.eventBusName])
      .toEqual({ Ref: busId });
    expect(resourcesFor(functionStatements(template, controllerId), 'events:PutEvents')).toEqual([`<${busId}.Arn>`]);
  });

  test('two instances in one stack do not collide', () => {
    const stack = newStack({ agnostic: true });
    new AutoRedrive(stack, 'Orders', { stateMachineArns: [ORDERS], dashboardName: 'AutoRedrive-orders' });
    // One canary per stack (it is named after the stack): the second instance goes without.
    new AutoRedrive(stack, 'Billing', { stateMachineArns: [BILLING], dashboardName: 'AutoRedrive-billing', canary: false });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 5); // 2 × (controller, drain) + the canary policy's writer
    template.resourceCountIs('AWS::DynamoDB::Table', 4);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 2);
    expect(Object.keys(template.toJSON().Outputs)).toHaveLength(15); // 2 × 7 + CanaryStateMachineArn
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: { $or: Match.anyValue(), stateMachineArn: [BILLING] } }),
    });
  });

  test('two instances in one app with the same dashboard name: an error naming dashboardName', () => {
    const app = newApp();
    new AutoRedrive(new Stack(app, 'Orders'), 'AutoRedrive', { stateMachineArns: [ORDERS] });
    expect(() => new AutoRedrive(new Stack(app, 'Billing'), 'AutoRedrive', { stateMachineArns: [BILLING] })).toThrow(
      /^AutoRedrive: dashboardName 'AutoRedrive' is already used by Orders\/AutoRedrive; dashboard names are unique per account/,
    );
    // Stacks in different accounts may use the same name.
    const other = newApp();
    new AutoRedrive(new Stack(other, 'A', { env: { account: '111111111111', region: REGION } }), 'AutoRedrive');
    expect(() => new AutoRedrive(new Stack(other, 'B', { env: { account: '222222222222', region: REGION } }), 'AutoRedrive')).not.toThrow();
  });
});

describe('prop validation: errors name the prop', () => {
  const cases: Array<[string, AutoRedriveProps, RegExp]> = [
    ['empty statuses', { statuses: [] }, /^AutoRedrive: statuses must contain at least one status$/],
    ['unknown status', { statuses: ['FAILED', 'RUNNING' as never] }, /^AutoRedrive: statuses: 'RUNNING' is not one of/],
    ['duplicate status', { statuses: ['FAILED', 'FAILED'] }, /^AutoRedrive: statuses contains duplicates/],
    ['empty ARN list', { stateMachineArns: [] }, /^AutoRedrive: stateMachineArns must not be empty/],
    ['not an ARN', { stateMachineArns: ['orders'] }, /^AutoRedrive: stateMachineArns\[0\] 'orders' is not a state machine ARN/],
    [
      'execution ARN',
      { stateMachineArns: [`arn:aws:states:${REGION}:${ACCOUNT}:execution:orders:abc`] },
      /^AutoRedrive: stateMachineArns\[0\] .* is not a state machine ARN/,
    ],
    [
      'other Region',
      { stateMachineArns: [ORDERS, `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:x`] },
      /^AutoRedrive: stateMachineArns\[1\] .* is in Region us-east-1, but the stack is in eu-west-1/,
    ],
    [
      'other account',
      { stateMachineArns: [`arn:aws:states:${REGION}:210987654321:stateMachine:x`] },
      /^AutoRedrive: stateMachineArns\[0\] .* is in account 210987654321/,
    ],
    ['duplicate ARN', { stateMachineArns: [ORDERS, ORDERS] }, /^AutoRedrive: stateMachineArns contains duplicates/],
    ['reservedConcurrency 0', { reservedConcurrency: 0 }, /^AutoRedrive: reservedConcurrency must be between 1 and 1000, got 0$/],
    ['reservedConcurrency 2.5', { reservedConcurrency: 2.5 }, /^AutoRedrive: reservedConcurrency must be a whole number, got 2.5$/],
    ['redriveRatePerSecond 0', { redriveRatePerSecond: 0 }, /^AutoRedrive: redriveRatePerSecond must be between 1 and 1000, got 0$/],
    ['redriveRatePerSecond NaN', { redriveRatePerSecond: NaN }, /^AutoRedrive: redriveRatePerSecond must be between 1 and 1000, got NaN$/],
    ['describeRatePerSecond 500', { describeRatePerSecond: 500 }, /^AutoRedrive: describeRatePerSecond must be between 1 and 100, got 500$/],
    ['policyCacheTtl 0', { policyCacheTtl: Duration.seconds(0) }, /^AutoRedrive: policyCacheTtl must be between 1 and 3600 seconds/],
    ['policyCacheTtl 1.5 s', { policyCacheTtl: Duration.millis(1500) }, /^AutoRedrive: policyCacheTtl must be a whole number of seconds/],
    ['maxRateWait 60 s', { maxRateWait: Duration.seconds(60) }, /^AutoRedrive: maxRateWait must be between 1 and 59999 milliseconds/],
    ['auditRetention 12 h', { auditRetention: Duration.hours(12) }, /^AutoRedrive: auditRetention must be a whole number of days/],
    ['drainInterval 30 s', { drainInterval: Duration.seconds(30) }, /^AutoRedrive: drainInterval must be a whole number of minutes, got 30 seconds$/],
    ['drainInterval 0', { drainInterval: Duration.minutes(0) }, /^AutoRedrive: drainInterval must be at least 1 minute/],
    ['reconcileLookback 15 days', { reconcileLookback: Duration.days(15) }, /^AutoRedrive: reconcileLookback must be between 1 and 336 hours/],
    ['reconcileEvery < drainInterval', { drainInterval: Duration.minutes(10), reconcileEvery: Duration.minutes(5) }, /^AutoRedrive: reconcileEvery \(5 min\) must be at least drainInterval \(10 min\)/],
    ['claimTimeout <= controller timeout', { claimTimeout: Duration.seconds(60) }, /^AutoRedrive: claimTimeout must be longer than the controller's 60-second timeout, got 60 seconds$/],
    ['staleEventAfter 0', { staleEventAfter: Duration.seconds(0) }, /^AutoRedrive: staleEventAfter must be between 1 and 600 seconds/],
    ['staleEventAfter beyond the clientToken window', { staleEventAfter: Duration.minutes(11) }, /^AutoRedrive: staleEventAfter must be between 1 and 600 seconds, got 11 minutes/],
    ['reconcileMaxRunTime 0', { reconcileMaxRunTime: Duration.hours(0) }, /^AutoRedrive: reconcileMaxRunTime/],
  ];

  test.each(cases)('%s', (_name, props, message) => {
    expect(() => newAutoRedrive(props)).toThrow(message);
  });

  test('eventBus with publishEvents: false is contradictory', () => {
    const stack = newStack({ agnostic: true });
    const bus = new events.EventBus(stack, 'Bus');
    expect(() => new AutoRedrive(stack, 'AutoRedrive', { eventBus: bus, publishEvents: false })).toThrow(
      /^AutoRedrive: eventBus is set but publishEvents is false/,
    );
  });
});
