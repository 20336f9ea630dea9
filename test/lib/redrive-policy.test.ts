/**
 * RedrivePolicy and AutoRedrive.addPolicy: the custom resource and its exact policy item,
 * the writer Lambda (one per stack, from the pre-built bundle) and its IAM, synth-time
 * validation by the shared policy schema, and cdk-nag.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, AssetStaging, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { CANARY_POLICY_KEY } from '../../contract/canary';
import { AutoRedrive, RedrivePolicy, RedrivePolicyPropsError } from '../../lib';
import { ACCOUNT, REGION, identityStatements, logicalIdOf, nagFindings, newApp, removeOutdirs } from './helpers';

afterAll(removeOutdirs);

const ORDERS_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:orders`;
const PATTERN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:billing-*`;

function setup(app: App = newApp()) {
  const stack = new Stack(app, 'Orders', { env: { account: ACCOUNT, region: REGION } });
  const autoRedrive = new AutoRedrive(stack, 'AutoRedrive');
  const machine = new sfn.StateMachine(stack, 'OrdersMachine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Step')) });
  return { app, stack, autoRedrive, machine };
}

const policies = (t: Template) => Object.values(t.findResources('Custom::AutoRedrivePolicy')).map((r) => r.Properties);

describe('two policies in the stack of the controller', () => {
  const { stack, autoRedrive, machine } = setup();
  new RedrivePolicy(stack, 'OrdersRedrive', { autoRedrive, stateMachine: machine, maxRedrives: 5, interval: Duration.minutes(2), errorEquals: ['Lambda.*'] });
  autoRedrive.addPolicy(PATTERN, { jitter: sfn.JitterType.NONE, maxDelay: Duration.minutes(30), statuses: ['FAILED'], dryRun: true, description: 'billing' });
  const template = Template.fromStack(stack);
  const tableRef = { Ref: logicalIdOf(stack, autoRedrive.policyTable) };
  const writerId = () => logicalIdOf(stack, stack.node.findChild('AutoRedrivePolicyWriter').node.findChild('Function') as lambda.Function);

  test('each is a custom resource holding its exact policy item, with managedBy naming stack and construct', () => {
    expect(policies(template)).toEqual(
      expect.arrayContaining([
        {
          ServiceToken: { 'Fn::GetAtt': [writerId(), 'Arn'] },
          TableName: tableRef,
          Policy: { stateMachine: { Ref: logicalIdOf(stack, machine) }, maxRedrives: 5, intervalSeconds: 120, errorEquals: ['Lambda.*'], managedBy: 'Orders/OrdersRedrive' },
        },
        {
          ServiceToken: { 'Fn::GetAtt': [writerId(), 'Arn'] },
          TableName: tableRef,
          Policy: { stateMachine: PATTERN, maxDelaySeconds: 1800, jitter: 'NONE', statuses: ['FAILED'], dryRun: true, description: 'billing', managedBy: `Orders/AutoRedrive/Policy ${PATTERN}` },
        },
      ]),
    );
    // ... and the canary's managed item (test/lib/canary.test.ts).
    expect(policies(template)).toHaveLength(3);
  });

  test('one writer Lambda for the stack, deployed from the pre-built policy-resource bundle', () => {
    const writers = template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('RedrivePolicy') } });
    expect(Object.keys(writers)).toEqual([writerId()]);
    const p = writers[writerId()].Properties;
    expect(p).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    const staging = stack.node.findChild('AutoRedrivePolicyWriter').node.findAll().find((c): c is AssetStaging => c instanceof AssetStaging)!;
    expect(fs.readFileSync(path.join(staging.absoluteStagedPath, 'index.js'))).toEqual(
      fs.readFileSync(path.join(__dirname, '..', '..', 'dist', 'assets', 'policy-resource', 'index.js')),
    );
  });

  test("the writer reads and writes only the declared keys of the policy table (LeadingKeys), and deletes only in that table", () => {
    const fnRole = template.toJSON().Resources[writerId()].Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === fnRole))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const dynamo = statements.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, autoRedrive.policyTable), 'Arn'] },
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [CANARY_POLICY_KEY, { Ref: logicalIdOf(stack, machine) }, PATTERN] } },
      },
      { Effect: 'Allow', Action: 'dynamodb:DeleteItem', Resource: { 'Fn::GetAtt': [logicalIdOf(stack, autoRedrive.policyTable), 'Arn'] } },
    ]);
    // Nothing else reaches DynamoDB or any wildcard resource.
    expect(identityStatements(template).filter((s) => JSON.stringify(s.Resource) === '"*"' && JSON.stringify(s).includes('dynamodb'))).toEqual([]);
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding (but on the test\'s own bare state machine)', () => {
    expect(nagFindings(stack).filter((f) => !f.includes('Orders/OrdersMachine/'))).toEqual([]);
  });
});

test('breaker, onExhausted and holdMargin become the policy fields the controller reads', () => {
  const { stack, autoRedrive, machine } = setup();
  new RedrivePolicy(stack, 'Held', {
    autoRedrive,
    stateMachine: machine,
    onExhausted: 'hold',
    holdMargin: Duration.hours(48),
    breaker: { threshold: 50, redriveFailureThreshold: 3, window: Duration.minutes(10), probeInterval: Duration.minutes(1), maxProbeInterval: Duration.minutes(8), probeTimeout: Duration.minutes(20) },
  });
  autoRedrive.addPolicy(ORDERS_ARN, { breaker: false });
  const items = policies(Template.fromStack(stack)).map((p) => p.Policy);
  expect(items).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        onExhausted: 'hold',
        holdMarginHours: 48,
        breaker: { threshold: 50, redriveFailureThreshold: 3, windowSeconds: 600, probeIntervalSeconds: 60, maxProbeIntervalSeconds: 480, probeTimeoutSeconds: 1200 },
      }),
      expect.objectContaining({ stateMachine: ORDERS_ARN, breaker: false }),
    ]),
  );
});

test('neverAtStates and onlyAtStates become the policy fields the controller reads', () => {
  const { stack, autoRedrive, machine } = setup();
  new RedrivePolicy(stack, 'Scoped', { autoRedrive, stateMachine: machine, neverAtStates: ['ChargeCard', 'Send*'] });
  autoRedrive.addPolicy(ORDERS_ARN, { onlyAtStates: ['Validate', 'TIMED_OUT'] });
  const items = policies(Template.fromStack(stack)).map((p) => p.Policy);
  expect(items).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ neverAtStates: ['ChargeCard', 'Send*'] }),
      expect.objectContaining({ stateMachine: ORDERS_ARN, onlyAtStates: ['Validate', 'TIMED_OUT'] }),
    ]),
  );
});

describe('state machines and tables in other forms', () => {
  test('an imported state machine, a literal ARN and an imported policy table (a controller deployed elsewhere)', () => {
    const app = newApp();
    const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
    const policyTable = dynamodb.Table.fromTableName(stack, 'Policies', 'auto-redrive-policies');
    const imported = sfn.StateMachine.fromStateMachineArn(stack, 'Orders', ORDERS_ARN);
    new RedrivePolicy(stack, 'OrdersRedrive', { policyTable, stateMachine: imported, enabled: false });
    new RedrivePolicy(stack, 'Everything', { policyTable, stateMachine: '*', maxRedrives: 1 });
    const t = Template.fromStack(stack);
    expect(policies(t).map((p) => [p.TableName, p.Policy])).toEqual([
      ['auto-redrive-policies', { stateMachine: ORDERS_ARN, enabled: false, managedBy: 'Consumer/OrdersRedrive' }],
      ['auto-redrive-policies', { stateMachine: '*', maxRedrives: 1, managedBy: 'Consumer/Everything' }],
    ]);
    t.resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  test('addPolicy with a state machine construct gets a stable id from it', () => {
    const { autoRedrive, machine } = setup();
    const policy = autoRedrive.addPolicy(machine, { maxRedrives: 2 });
    expect(policy.node.path).toMatch(/^Orders\/AutoRedrive\/PolicyOrdersOrdersMachine[0-9A-F]{8}$/);
    expect(policy.item).toMatchObject({ maxRedrives: 2 });
    expect(() => autoRedrive.addPolicy(machine.stateMachineArn)).toThrow(/options\.id is required when stateMachine is an ARN token/);
    expect(autoRedrive.addPolicy(machine.stateMachineArn, { id: 'ByArn', dryRun: true }).node.path).toBe('Orders/AutoRedrive/ByArn');
  });
});

describe('validated at synth by the shared policy schema, naming the prop', () => {
  const cases: Array<[string, (s: ReturnType<typeof setup>) => void, string, RegExp]> = [
    ['maxRedrives out of range', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, maxRedrives: 5000 }), 'maxRedrives', /^RedrivePolicy Orders\/P: maxRedrives must be from 0 to 1000$/],
    ['interval not whole seconds', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, interval: Duration.millis(1500) }), 'interval', /^RedrivePolicy Orders\/P: interval must be a whole number of seconds, got 1 second 500 millis$/],
    ['interval beyond the redrive window', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, interval: Duration.days(15) }), 'interval', /^RedrivePolicy Orders\/P: interval must be from 0 to 1209600 \(policy field intervalSeconds\)$/],
    ['maxDelay of zero', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, maxDelay: Duration.seconds(0) }), 'maxDelay', /^RedrivePolicy Orders\/P: maxDelay must be from 1 to 1209600 \(policy field maxDelaySeconds\)$/],
    ['backoffRate below 1', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, backoffRate: 0.5 }), 'backoffRate', /backoffRate must be from 1.0 to 100$/],
    ['States.ALL with others', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, errorEquals: ['States.ALL', 'Lambda.*'] }), 'errorEquals', /errorEquals States.ALL must appear alone/],
    ['a bad error pattern', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, nonRetryableErrors: ['Lambda.*.Timeout'] }), 'nonRetryableErrors', /nonRetryableErrors 'Lambda.\*.Timeout' is not an error name/],
    ['an execution ARN as the key', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: `arn:aws:states:${REGION}:${ACCOUNT}:execution:orders:run-1` }), 'stateMachine', /^RedrivePolicy Orders\/P: stateMachine '.*' is not a state machine ARN: resource type 'execution' must be 'stateMachine'$/],
    ['both a controller and a table', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, policyTable: s.autoRedrive.policyTable, stateMachine: '*' }), 'autoRedrive', /set exactly one of them/],
    ['neither a controller nor a table', (s) => new RedrivePolicy(s.stack, 'P', { stateMachine: '*' }), 'autoRedrive', /set exactly one of them/],
    ['an EXPRESS state machine', (s) => new RedrivePolicy(s.stack, 'P', {
      autoRedrive: s.autoRedrive,
      stateMachine: new sfn.StateMachine(s.stack, 'Express', { stateMachineType: sfn.StateMachineType.EXPRESS, definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(s.stack, 'E')) }),
    }), 'stateMachine', /Orders\/Express is an EXPRESS state machine; only Standard executions can be redriven/],
    ['the same key twice in one table', (s) => {
      new RedrivePolicy(s.stack, 'A', { autoRedrive: s.autoRedrive, stateMachine: ORDERS_ARN });
      new RedrivePolicy(s.stack, 'B', { autoRedrive: s.autoRedrive, stateMachine: ORDERS_ARN });
    }, 'stateMachine', /^RedrivePolicy Orders\/B: stateMachine '.*:orders' already has a RedrivePolicy in this table \(Orders\/A\); one policy per key$/],
    ['a breaker window out of range', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, breaker: { window: Duration.seconds(5) } }), 'breaker.window', /^RedrivePolicy Orders\/P: breaker.window must be from 10 to 86400 \(policy field breaker.windowSeconds\)$/],
    ['a breaker probe interval not whole seconds', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, breaker: { probeInterval: Duration.millis(2500) } }), 'breaker.probeInterval', /^RedrivePolicy Orders\/P: breaker.probeInterval must be a whole number of seconds, got 2 seconds 500 millis$/],
    ['a hold margin beyond 72 hours', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, holdMargin: Duration.days(4) }), 'holdMargin', /^RedrivePolicy Orders\/P: holdMargin .*\(policy field holdMarginHours\)$/],
    // A JavaScript app (no type check) passing a string where a boolean belongs.
    ['approval as a word', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, approval: 'yes' as unknown as boolean }), 'approval', /^RedrivePolicy Orders\/P: approval must be true or false/],
    ['an empty onlyAtStates', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, onlyAtStates: [] }), 'onlyAtStates', /^RedrivePolicy Orders\/P: onlyAtStates must list at least one state/],
    ['an empty state name in neverAtStates', (s) => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, neverAtStates: ['ChargeCard', ' '] }), 'neverAtStates', /^RedrivePolicy Orders\/P: neverAtStates entries must not be empty \(policy field neverAtStates.1\)$/],
  ];

  test.each(cases)('%s', (_name, make, prop, message) => {
    const s = setup();
    let error: unknown;
    try {
      make(s);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RedrivePolicyPropsError);
    expect((error as RedrivePolicyPropsError).prop).toBe(prop);
    expect((error as Error).message).toMatch(message);
  });

  test('a token key (a state machine of the same stack) is left to the custom resource; the rest is still checked', () => {
    const s = setup();
    expect(() => new RedrivePolicy(s.stack, 'Ok', { autoRedrive: s.autoRedrive, stateMachine: s.machine.stateMachineArn })).not.toThrow();
    expect(() => new RedrivePolicy(s.stack, 'Bad', { autoRedrive: s.autoRedrive, stateMachine: s.machine.stateMachineArn, maxRedrives: -1 })).toThrow(
      /^RedrivePolicy Orders\/Bad: maxRedrives must be from 0 to 1000$/,
    );
  });
});

test('reserved concurrency is opt-in on AutoRedrive (default: none)', () => {
  const { stack } = setup();
  const other = new Stack(newApp(), 'Reserved', { env: { account: ACCOUNT, region: REGION } });
  new AutoRedrive(other, 'AutoRedrive', { reservedConcurrency: 20 });
  const reserved = (s: Stack) =>
    Object.values(Template.fromStack(s).findResources('AWS::Lambda::Function')).map((f) => f.Properties.ReservedConcurrentExecutions);
  expect(reserved(stack).filter((r) => r !== undefined)).toEqual([]);
  expect(reserved(other).filter((r) => r !== undefined)).toEqual([20]);
});

test('approval becomes the policy field approval (absent when not set: the controller default, false)', () => {
  const { stack, autoRedrive, machine } = setup();
  new RedrivePolicy(stack, 'Approved', { autoRedrive, stateMachine: machine, approval: true });
  autoRedrive.addPolicy(ORDERS_ARN, {});
  const items = policies(Template.fromStack(stack)).map((p) => p.Policy);
  expect(items).toEqual(expect.arrayContaining([expect.objectContaining({ approval: true })]));
  expect(items.find((i) => i.stateMachine === ORDERS_ARN)).not.toHaveProperty('approval');
});

describe('maxRedrivesPerHour (the redrive budget)', () => {
  test('becomes the policy field the controller reads; absent, the item has none (no budget)', () => {
    const { stack, autoRedrive, machine } = setup();
    new RedrivePolicy(stack, 'Budgeted', { autoRedrive, stateMachine: machine, maxRedrivesPerHour: 500 });
    autoRedrive.addPolicy(ORDERS_ARN);
    const items = policies(Template.fromStack(stack)).map((p) => p.Policy);
    expect(items).toEqual(expect.arrayContaining([expect.objectContaining({ maxRedrivesPerHour: 500 })]));
    expect(items.find((i) => i.stateMachine === ORDERS_ARN)).not.toHaveProperty('maxRedrivesPerHour');
  });

  test.each([
    [-1, /^RedrivePolicy Orders\/P: maxRedrivesPerHour must be from 1 to 10000000$/],
    [0, /^RedrivePolicy Orders\/P: maxRedrivesPerHour must be from 1 to 10000000$/],
    [1.5, /^RedrivePolicy Orders\/P: maxRedrivesPerHour must be a whole number from 1 to 10000000$/],
  ])('%p is refused at synth, naming the prop', (value, message) => {
    const s = setup();
    expect(() => new RedrivePolicy(s.stack, 'P', { autoRedrive: s.autoRedrive, stateMachine: s.machine, maxRedrivesPerHour: value })).toThrow(message);
  });
});
