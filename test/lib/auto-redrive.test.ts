/**
 * The deployable stack with default settings, with the Lambda bundles it deploys
 * (dist/assets, built by the jest global setup as `npm run build` builds them), checked
 * resource by resource and against cdk-nag AwsSolutions.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, AssetStaging } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ENV } from '../../contract/environment';
import { RUNTIME_NUMBER_IDS, SETTINGS } from '../../contract/settings';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../contract/metrics';
import { AutoRedriveStack } from '../../lib/auto-redrive-stack';
import { statusChangePattern } from '../../contract/event-pattern';
import { LEDGER_TABLE, POLICY_TABLE, TableDefinition } from '../../contract/table-definitions';
import { acknowledgments, annotationProblems, functionStatements, identityStatements, list, logicalIdOf, nagFindings, newApp, removeOutdirs, resourcesFor } from './helpers';

let app: App;
let stack: AutoRedriveStack;
let template: Template;
let controllerId: string;
let drainId: string;
let queueId: string;

afterAll(removeOutdirs);

beforeAll(() => {
  app = newApp({}, /* bundle */ true);
  stack = new AutoRedriveStack(app, 'AutoRedrive');
  template = Template.fromStack(stack);
  const ar = stack.autoRedrive;
  controllerId = logicalIdOf(stack, ar.controller);
  drainId = logicalIdOf(stack, ar.drain);
  queueId = logicalIdOf(stack, ar.deadLetterQueue);
});

const all = (resource: string) => `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:${resource}`;

describe('status-change rule', () => {
  test('pattern is exactly statusChangePattern() (FAILED, TIMED_OUT, all state machines)', () => {
    const rules = template.findResources('AWS::Events::Rule', {
      Properties: { EventPattern: Match.anyValue() },
    });
    expect(Object.values(rules)).toHaveLength(1);
    const rule = Object.values(rules)[0];
    expect(rule.Properties.EventPattern).toEqual(statusChangePattern());
    expect(rule.Properties.EventBusName).toBeUndefined(); // default bus
  });

  test('targets the controller with retry policy and the DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.anyValue(),
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [controllerId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
        },
      ],
    });
  });

  test('EventBridge may send undeliverable events to the DLQ, from this rule only', () => {
    const ruleId = logicalIdOf(stack, stack.autoRedrive.rule);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          }),
        ]),
      },
    });
  });
});

describe('dead-letter queue', () => {
  test('SQS-managed SSE, 14-day retention', () => {
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  test('enforces SSL', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('Lambda functions', () => {
  const fn = (id: string) => template.toJSON().Resources[id].Properties;

  test('both: nodejs22.x on arm64, handler index.handler, explicit log group with retention', () => {
    for (const id of [controllerId, drainId]) {
      const p = fn(id);
      expect(p.Runtime).toBe('nodejs22.x');
      expect(p.Architectures).toEqual(['arm64']);
      expect(p.Handler).toBe('index.handler');
      expect(p.MemorySize).toBe(256);
      const logGroupId = p.LoggingConfig.LogGroup.Ref as string;
      expect(template.toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(30);
    }
  });

  test('controller: no reserved concurrency (opt-in, a new account may not have the quota), 60 s timeout, function-level DLQ', () => {
    const p = fn(controllerId);
    expect(p.ReservedConcurrentExecutions).toBeUndefined();
    expect(p.Timeout).toBe(60);
    expect(p.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
  });

  test('controller: async invoke config 2 retries, 6 h max event age', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: controllerId },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
    });
  });

  test('drain: no reserved concurrency (one at a time is the lease), 5 min timeout, scheduled every minute, no retries of a tick', () => {
    const p = fn(drainId);
    expect(p.ReservedConcurrentExecutions).toBeUndefined();
    expect(p.Timeout).toBe(300);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [drainId, 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: drainId },
      MaximumRetryAttempts: 0,
    });
  });

  test('environment: every ENV name, the runtime settings at their defaults, Powertools names from the metrics contract', () => {
    for (const id of [controllerId, drainId]) {
      const vars = fn(id).Environment.Variables;
      expect(vars).toEqual({
        [ENV.policyTableName]: { Ref: logicalIdOf(stack, stack.autoRedrive.policyTable) },
        [ENV.ledgerTableName]: { Ref: logicalIdOf(stack, stack.autoRedrive.ledgerTable) },
        // Every runtime setting of the table, at its default.
        ...Object.fromEntries(RUNTIME_NUMBER_IDS.map((s) => [SETTINGS[s].env, String(SETTINGS[s].default)])),
        [ENV.eventBusName]: 'default',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
    // Every name the Lambda reads is set.
    const set = Object.keys(fn(controllerId).Environment.Variables);
    expect(set).toEqual(expect.arrayContaining(Object.values(ENV)));
  });

  test('the pre-built bundles, as they are: minified CJS with source map, AWS SDK inside the bundle', () => {
    for (const [f, name] of [[stack.autoRedrive.controller, 'controller'], [stack.autoRedrive.drain, 'drain']] as const) {
      const staging = f.node.findAll().find((c): c is AssetStaging => c instanceof AssetStaging);
      expect(staging).toBeDefined();
      const dir = staging!.absoluteStagedPath;
      // Deployed unchanged from dist/assets/<name> (no bundling at synth).
      expect(fs.readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
      expect(fs.readFileSync(path.join(dir, 'index.js'))).toEqual(fs.readFileSync(path.join(__dirname, '..', '..', 'dist', 'assets', name, 'index.js')));
      const js = fs.readFileSync(path.join(dir, 'index.js'), 'utf8');
      expect(fs.existsSync(path.join(dir, 'index.js.map'))).toBe(true);
      expect(js).toMatch(/sourceMappingURL=index\.js\.map/);
      // The SDK is bundled: nothing is loaded from node_modules at run time except the
      // optional CRT signer, which the SDK itself requires inside a try/catch.
      const external = [...js.matchAll(/require\("(@aws-sdk\/[^"]+|@smithy\/[^"]+)"\)/g)].map((m) => m[1]);
      expect(external.filter((m) => m !== '@aws-sdk/signature-v4-crt')).toEqual([]);
    }
  });
});

describe('DynamoDB tables', () => {
  const keySchema = (d: { partitionKey: { name: string }; sortKey?: { name: string } }) => [
    { AttributeName: d.partitionKey.name, KeyType: 'HASH' },
    ...(d.sortKey ? [{ AttributeName: d.sortKey.name, KeyType: 'RANGE' }] : []),
  ];
  const attributes = (d: TableDefinition) =>
    [d.partitionKey, d.sortKey, ...(d.globalSecondaryIndexes ?? []).flatMap((g) => [g.partitionKey, g.sortKey])]
      .filter((a): a is NonNullable<typeof a> => a !== undefined)
      .map((a) => ({ AttributeName: a.name, AttributeType: a.type }));

  test.each([
    ['policy', () => stack.autoRedrive.policyTable, POLICY_TABLE],
    ['ledger', () => stack.autoRedrive.ledgerTable, LEDGER_TABLE],
  ] as const)('%s table: created from its definition, on-demand, PITR, SSE, retained', (_n, table, def) => {
    const resource = template.toJSON().Resources[logicalIdOf(stack, table())];
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
    const p = resource.Properties;
    expect(p.KeySchema).toEqual(keySchema(def));
    expect(p.AttributeDefinitions).toEqual(expect.arrayContaining(attributes(def)));
    expect(p.AttributeDefinitions).toHaveLength(attributes(def).length);
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.SSESpecification).toEqual({ SSEEnabled: true });
    expect(p.TimeToLiveSpecification).toEqual(
      def.timeToLiveAttribute ? { AttributeName: def.timeToLiveAttribute, Enabled: true } : undefined,
    );
    expect(p.GlobalSecondaryIndexes ?? []).toEqual(
      (def.globalSecondaryIndexes ?? []).map((g) => ({
        IndexName: g.indexName,
        KeySchema: keySchema(g),
        Projection: { ProjectionType: 'ALL' },
      })),
    );
  });

  test('ledger has the byDue GSI and the expiresAt TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'byDue' })],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });
});

describe('IAM', () => {
  test('no Allow statement has an action with a wildcard', () => {
    const actions = identityStatements(template).flatMap((s) => list(s.Action));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  test('no AWS managed policies (logs only to the explicit log groups)', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    for (const id of [controllerId, drainId]) {
      const logGroup = template.toJSON().Resources[id].Properties.LoggingConfig.LogGroup.Ref;
      expect(resourcesFor(functionStatements(template, id), 'logs:PutLogEvents')).toEqual([`<${logGroup}.Arn>`]);
    }
  });

  test('"*" is the resource of states:ListStateMachines only', () => {
    const star = identityStatements(template).filter((s) => list(s.Resource).includes('*'));
    expect(star.flatMap((s) => list(s.Action))).toEqual(['states:ListStateMachines']);
  });

  test('controller: redrive + describe on executions of this account and Region; tables; DLQ', () => {
    const st = functionStatements(template, controllerId);
    expect(resourcesFor(st, 'states:RedriveExecution')).toEqual([all('execution:*:*')]);
    expect(resourcesFor(st, 'states:DescribeExecution')).toEqual([all('execution:*:*')]);
    expect(resourcesFor(st, 'states:ListExecutions')).toEqual([]);
    expect(resourcesFor(st, 'states:ListStateMachines')).toEqual([]);
    const policyTable = `<${logicalIdOf(stack, stack.autoRedrive.policyTable)}.Arn>`;
    const ledgerTable = `<${logicalIdOf(stack, stack.autoRedrive.ledgerTable)}.Arn>`;
    expect(resourcesFor(st, 'dynamodb:Scan')).toEqual([policyTable]);
    expect(resourcesFor(st, 'dynamodb:GetItem')).toEqual(expect.arrayContaining([ledgerTable]));
    expect(resourcesFor(st, 'dynamodb:Query')).toContain(`${ledgerTable}/index/*`);
    expect(resourcesFor(st, 'dynamodb:PutItem')).toEqual([ledgerTable, `${ledgerTable}/index/*`].sort());
    expect(resourcesFor(st, 'sqs:SendMessage')).toEqual([`<${queueId}.Arn>`]);
    expect(resourcesFor(st, 'events:PutEvents')).toEqual([
      'arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default',
    ]);
  });

  test('drain: the same plus ListExecutions on state machines and ListStateMachines', () => {
    const st = functionStatements(template, drainId);
    expect(resourcesFor(st, 'states:RedriveExecution')).toEqual([all('execution:*:*')]);
    expect(resourcesFor(st, 'states:DescribeExecution')).toEqual([all('execution:*:*')]);
    expect(resourcesFor(st, 'states:ListExecutions')).toEqual([all('stateMachine:*')]);
    expect(resourcesFor(st, 'states:ListStateMachines')).toEqual(['*']);
    expect(resourcesFor(st, 'dynamodb:PutItem')).toHaveLength(2);
    expect(resourcesFor(st, 'dynamodb:PutItem')).not.toContain(
      `<${logicalIdOf(stack, stack.autoRedrive.policyTable)}.Arn>`,
    );
  });

  test('the policy table is read-only for both Lambdas', () => {
    const policyTable = `<${logicalIdOf(stack, stack.autoRedrive.policyTable)}.Arn>`;
    const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
    for (const id of [controllerId, drainId]) {
      for (const a of writes) expect(resourcesFor(functionStatements(template, id), a)).not.toContain(policyTable);
    }
  });
});

describe('outputs', () => {
  test('stable keys with the resource names', () => {
    const ar = stack.autoRedrive;
    const outputs = template.toJSON().Outputs;
    expect(outputs).toMatchObject({
      PolicyTableName: { Value: { Ref: logicalIdOf(stack, ar.policyTable) } },
      LedgerTableName: { Value: { Ref: logicalIdOf(stack, ar.ledgerTable) } },
      ControllerFunctionName: { Value: { Ref: controllerId } },
      DrainFunctionName: { Value: { Ref: drainId } },
      DeadLetterQueueUrl: { Value: { Ref: queueId } },
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  test('no unacknowledged errors or warnings', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  test('no CDK synthesis errors or warnings', () => {
    expect(annotationProblems(stack)).toEqual([]);
  });

  test('every acknowledgment is specific and has a written reason', () => {
    const acks = acknowledgments(stack);
    expect(acks.map(([, id]) => id).sort()).toEqual(
      [
        'AwsSolutions-IAM5[Resource::*]',
        `AwsSolutions-IAM5[Resource::${all('execution:*:*')}]`,
        `AwsSolutions-IAM5[Resource::${all('execution:*:*')}]`,
        `AwsSolutions-IAM5[Resource::${all('stateMachine:*')}]`,
        `AwsSolutions-IAM5[Resource::<${logicalIdOf(stack, stack.autoRedrive.ledgerTable)}.Arn>/index/*]`,
        `AwsSolutions-IAM5[Resource::<${logicalIdOf(stack, stack.autoRedrive.ledgerTable)}.Arn>/index/*]`,
        'AwsSolutions-L1',
        'AwsSolutions-L1',
        // The canary (lib/canary.ts): its role's own executions, no logs or tracing; its policy's writer.
        `AwsSolutions-IAM5[Resource::${all('execution:AutoRedriveCanary-AutoRedrive:*')}]`,
        'AwsSolutions-SF1',
        'AwsSolutions-SF2',
        'AwsSolutions-L1',
      ].sort(),
    );
    const short = acks.filter(([, , reason]) => reason.trim().length < 60);
    expect(short).toEqual([]);
    // IAM5 acknowledgments always name the finding; none acknowledges a whole rule.
    expect(acks.filter(([, id]) => id === 'AwsSolutions-IAM5')).toEqual([]);
  });
});
