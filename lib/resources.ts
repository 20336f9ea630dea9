/**
 * Resource factories of the constructs: the tables (from contract/table-definitions.ts),
 * the dead-letter queue, the two Lambdas with their environment (from the settings table),
 * the event rules and the drain schedule. Each takes the scope to create in, so the
 * construct ids (and with them the logical ids) stay those of `AutoRedrive` and
 * `AutoRedriveMember`.
 */
import { Aws, Duration, RemovalPolicy, Tokenization } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, ORG_ENV } from '../contract/environment';
import { type StatusChangePatternOptions, statusChangePattern } from '../contract/event-pattern';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../contract/metrics';
import { CONTROLLER_TIMEOUT_SECONDS, DRAIN_TIMEOUT_SECONDS, RUNTIME_NUMBER_IDS, SETTINGS, SETTING_LIST } from '../contract/settings';
import { LAMBDA_MEMORY_MB, type LambdaBundleName } from '../contract/lambda-bundles';
import { bundledCode } from './lambda-code';
import type { KeyAttribute, TableDefinition } from '../contract/table-definitions';
import type { ResolvedOrganization, ResolvedProps } from './resolve-props';

/** Timeout of the controller Lambda. A claim must outlive it (see `claimTimeout`). */
export const CONTROLLER_TIMEOUT = Duration.seconds(CONTROLLER_TIMEOUT_SECONDS);
/** Timeout of the drain Lambda. */
export const DRAIN_TIMEOUT = Duration.seconds(DRAIN_TIMEOUT_SECONDS);
/** Lambda's longest async-invoke event age. */
const MAX_LAMBDA_EVENT_AGE_SECONDS = 6 * 60 * 60;

// ---- Storage ------------------------------------------------------------------------------

export function createTable(scope: Construct, id: string, def: TableDefinition, removalPolicy: RemovalPolicy): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: keyAttribute(def.partitionKey),
    sortKey: def.sortKey ? keyAttribute(def.sortKey) : undefined,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: def.timeToLiveAttribute,
    removalPolicy,
  });
  for (const gsi of def.globalSecondaryIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: gsi.indexName,
      partitionKey: keyAttribute(gsi.partitionKey),
      sortKey: gsi.sortKey ? keyAttribute(gsi.sortKey) : undefined,
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return table;
}

function keyAttribute(attr: KeyAttribute): dynamodb.Attribute {
  return { name: attr.name, type: attr.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER };
}

/** `<scope>/DeadLetterQueue`: SQS-managed encryption, SSL only, 14 days (SQS's longest retention). */
export function createDeadLetterQueue(scope: Construct): sqs.Queue {
  return new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}

// ---- Lambdas ------------------------------------------------------------------------------

export interface EnvironmentSources {
  readonly policyTable: dynamodb.ITable;
  readonly ledgerTable: dynamodb.ITable;
  /** Where the Lambdas publish their own events; undefined = they do not. */
  readonly eventBus: events.IEventBus | undefined;
}

/**
 * The Lambdas' environment: the table names, every runtime setting under its variable
 * (contract/settings.ts, in its unit), the event bus, and in organization mode the
 * organization settings (read back by lambda/config.ts).
 */
export function lambdaEnvironment(p: ResolvedProps, sources: EnvironmentSources): Record<string, string> {
  return {
    [ENV.policyTableName]: sources.policyTable.tableName,
    [ENV.ledgerTableName]: sources.ledgerTable.tableName,
    ...Object.fromEntries(RUNTIME_NUMBER_IDS.map((id) => [SETTINGS[id].env, Tokenization.stringifyNumber(p[id])])),
    ...(sources.eventBus ? { [ENV.eventBusName]: sources.eventBus.eventBusName } : {}),
    ...(p.organization ? organizationEnvironment(p.organization) : {}),
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    NODE_OPTIONS: '--enable-source-maps',
  };
}

/** The organization settings that have a variable (`organization.<field>` in the table), lists comma-separated. */
const ORGANIZATION_ENV = SETTING_LIST.filter((s) => s.env && s.prop?.startsWith('organization.'));

function organizationEnvironment(org: ResolvedOrganization): Record<string, string> {
  return {
    [ORG_ENV.homeAccount]: Aws.ACCOUNT_ID,
    ...Object.fromEntries(
      ORGANIZATION_ENV.map((s) => {
        // The external id is not a secret (see AutoRedriveOrganization.externalId): a confused-deputy guard.
        const value = org[s.prop!.slice('organization.'.length) as keyof ResolvedOrganization];
        return [s.env, Array.isArray(value) ? value.join(',') : String(value)];
      }),
    ),
  };
}

interface FunctionOptions {
  readonly bundle: LambdaBundleName;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly timeout: Duration;
  readonly reservedConcurrentExecutions?: number;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly deadLetterQueue?: sqs.IQueue;
}

/** The controller: reserved concurrency if asked for, two retries (Lambda's maximum), then the dead-letter queue. */
export function createController(scope: Construct, p: ResolvedProps, environment: Record<string, string>, deadLetterQueue: sqs.IQueue): lambda.Function {
  return createFunction(scope, 'Controller', {
    bundle: 'controller',
    description: 'auto-redrive controller: decides on and redrives failed Step Functions executions',
    environment,
    logRetention: p.logRetention,
    timeout: CONTROLLER_TIMEOUT,
    reservedConcurrentExecutions: p.reservedConcurrency,
    // Function errors: two retries (Lambda's maximum); throttles and system errors are
    // requeued for up to 6 hours. After that the event goes to the DLQ.
    retryAttempts: 2,
    maxEventAge: Duration.hours(6),
    deadLetterQueue,
  });
}

/**
 * A drain tick is superseded by the next one: no retries, and a tick that waited
 * (throttled behind a running drain) longer than one interval is dropped.
 */
export function drainTickAge(drainIntervalMinutes: number): Duration {
  return Duration.seconds(Math.min(Math.max(60, drainIntervalMinutes * 60), MAX_LAMBDA_EVENT_AGE_SECONDS));
}

/**
 * The drain: no retries of a tick. No reserved concurrency: one run at a time is the lease
 * in the ledger (lambda/record/drain-lease.ts), which needs no account quota.
 */
export function createDrain(scope: Construct, p: ResolvedProps, environment: Record<string, string>): lambda.Function {
  return createFunction(scope, 'Drain', {
    bundle: 'drain',
    description: 'auto-redrive drain: deferred redrives, abandoned claims, reconciliation sweep',
    environment,
    logRetention: p.logRetention,
    timeout: DRAIN_TIMEOUT,
    retryAttempts: 0,
    maxEventAge: drainTickAge(p.drainIntervalMinutes),
  });
}

function createFunction(scope: Construct, id: string, o: FunctionOptions): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: o.logRetention });
  // An explicit role without AWSLambdaBasicExecutionRole: the function may write to its
  // own log group only (no logs:CreateLogGroup, no account-wide log access).
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of the auto-redrive ${id.toLowerCase()} Lambda`,
  });
  logGroup.grantWrite(role);

  return new lambda.Function(scope, id, {
    // Pre-built by `npm run build` (scripts/bundle.ts): minified, the AWS SDK inside.
    ...bundledCode(o.bundle),
    description: o.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: LAMBDA_MEMORY_MB,
    timeout: o.timeout,
    reservedConcurrentExecutions: o.reservedConcurrentExecutions,
    retryAttempts: o.retryAttempts,
    maxEventAge: o.maxEventAge,
    deadLetterQueue: o.deadLetterQueue,
    role,
    logGroup,
    environment: o.environment,
  });
}

// ---- Events ---------------------------------------------------------------------------------

/**
 * The shared pattern builder (also used by the local event bus and the member rule),
 * mapped onto the CDK type; the rendered pattern is exactly statusChangePattern()'s output.
 */
export function statusChangeEventPattern(options: StatusChangePatternOptions): events.EventPattern {
  const pattern = statusChangePattern(options);
  return { source: pattern.source, detailType: pattern['detail-type'], detail: pattern.detail };
}

/** A rule's target: the controller, with EventBridge's longest retry and the dead-letter queue. */
export function controllerTarget(controller: lambda.IFunction, deadLetterQueue: sqs.IQueue): targets.LambdaFunction {
  return new targets.LambdaFunction(controller, { retryAttempts: 185, maxEventAge: Duration.hours(24), deadLetterQueue });
}

/** The rule on the account's default bus that sends the selected status changes to the controller. */
export function createStatusChangeRule(scope: Construct, p: ResolvedProps, target: events.IRuleTarget): events.Rule {
  const rule = new events.Rule(scope, 'StatusChangeRule', {
    description: `auto-redrive: Step Functions executions that ended ${p.statuses.join(', ')}`,
    eventPattern: statusChangeEventPattern({ statuses: p.statuses, stateMachineArns: p.stateMachineArns }),
  });
  rule.addTarget(target);
  return rule;
}

/**
 * Organization mode: the member accounts' forwarded events arrive on a custom bus, with the
 * same pattern (statuses only: member rules narrow to their own state machines).
 */
export function createCentralBus(
  scope: Construct,
  p: ResolvedProps,
  org: ResolvedOrganization,
  target: events.IRuleTarget,
): { bus: events.EventBus; rule: events.Rule } {
  const bus = new events.EventBus(scope, 'CentralEventBus', { eventBusName: org.eventBusName });
  bus.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AutoRedriveMembers',
      actions: ['events:PutEvents'],
      principals: org.memberAccounts.map((a) => new iam.AccountPrincipal(a)),
      resources: [bus.eventBusArn],
      conditions: org.organizationId ? { StringEquals: { 'aws:PrincipalOrgID': org.organizationId } } : undefined,
    }),
  );
  const rule = new events.Rule(scope, 'CentralStatusChangeRule', {
    description: `auto-redrive: member accounts' Step Functions executions that ended ${p.statuses.join(', ')}`,
    eventBus: bus,
    eventPattern: statusChangeEventPattern({ statuses: p.statuses }),
  });
  rule.addTarget(target);
  return { bus, rule };
}

/** The schedule that runs the drain every `drainInterval`. */
export function createDrainSchedule(scope: Construct, drain: lambda.IFunction, drainIntervalMinutes: number): events.Rule {
  const schedule = new events.Rule(scope, 'DrainSchedule', {
    description: 'auto-redrive: runs the drain',
    schedule: events.Schedule.rate(Duration.minutes(drainIntervalMinutes)),
  });
  schedule.addTarget(new targets.LambdaFunction(drain, { retryAttempts: 2, maxEventAge: drainTickAge(drainIntervalMinutes) }));
  return schedule;
}
