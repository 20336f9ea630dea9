import * as path from 'path';
import {
  ArnFormat,
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  Token,
  Tokenization,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, IConstruct } from 'constructs';
import { ENV, ORG_ENV } from '../contract/environment';
import { CONTROLLER_TIMEOUT_SECONDS, DurationUnit, NumberRange, RUNTIME_NUMBER_IDS, SETTINGS, Setting } from '../contract/settings';
import { REMOVAL_POLICIES, UNIT_MS, durationOf } from './settings';
import { isStateMachineArn } from '../contract/arn';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../contract/metrics';
import {
  REDRIVABLE_STATUSES,
  RedrivableStatus,
  statusChangePattern,
} from '../contract/event-pattern';
import { AlarmKey, Observability } from './observability';
import {
  accountIdProblem,
  eventBusNameProblem,
  externalIdProblem,
  listProblem,
  organizationIdProblem,
  regionProblem,
  roleNameProblem,
} from './organization';
import { LEDGER_TABLE, POLICY_TABLE, TableDefinition } from '../contract/table-definitions';
import { executionsOf } from './state-machine-arns';

/** Repository root: the esbuild project root and the base of the handler entry paths. */
const PROJECT_ROOT = path.resolve(__dirname, '..');
const HANDLERS_DIR = path.join(PROJECT_ROOT, 'lambda', 'handlers');

/** Timeout of the controller Lambda. A claim must outlive it (see `claimTimeout`). */
export const CONTROLLER_TIMEOUT = Duration.seconds(CONTROLLER_TIMEOUT_SECONDS);
/** Timeout of the drain Lambda. */
export const DRAIN_TIMEOUT = Duration.minutes(5);

/** Lambda's longest async-invoke event age. */
const MAX_LAMBDA_EVENT_AGE_SECONDS = 6 * 60 * 60;
/** CloudWatch dashboard names: letters, digits, '-' and '_', up to 255 characters. */
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/**
 * Organization mode of {@link AutoRedrive}: one controller for many accounts. Each member
 * account deploys `AutoRedriveMember` (lib/auto-redrive-member.ts), which forwards its
 * status-change events to the central bus created here and provides the role the
 * controller assumes. See README.md ("Running across an Organization").
 */
export interface AutoRedriveOrganization {
  /**
   * The member accounts served (12-digit ids, not this stack's own account). Required: the
   * controller acts only on events and executions of the accounts listed here
   * (MEMBER_ACCOUNTS); an event from any other account is skipped as `unknown-account`.
   * Only these accounts may put events on the central bus.
   */
  readonly memberAccounts: readonly string[];

  /**
   * AWS Organizations id (`o-...`). When set, the central bus also requires the sender to
   * belong to the organization (`aws:PrincipalOrgID`), so an account that left the
   * organization is refused even while it is still listed.
   *
   * @default - the account list alone admits senders
   */
  readonly organizationId?: string;

  /**
   * External id passed to sts:AssumeRole for the member roles (their trust policy requires
   * it). 2 to 1224 characters of letters, digits and `_+=,.@:/-`. It is a confused-deputy
   * guard, not a secret: it is visible in the Lambda configuration and the template.
   */
  readonly externalId: string;

  /**
   * Regions the reconciliation sweep lists state machines in (every served account). The
   * controller's own account is served in these Regions with its own role, so its
   * Step Functions permissions cover them. Must include the stack's Region.
   *
   * @default - the stack's Region
   */
  readonly servedRegions?: readonly string[];

  /**
   * Name of the role in every member account (AutoRedriveMember's `roleName`).
   *
   * @default 'AutoRedriveMember' (DEFAULT_MEMBER_ROLE_NAME in contract/environment.ts)
   */
  readonly memberRoleName?: string;

  /**
   * Name of the central custom event bus the member accounts forward to. Event bus names
   * are unique per account and Region.
   *
   * @default 'AutoRedriveCentral'
   */
  readonly eventBusName?: string;
}

/** Properties of {@link AutoRedrive}. */
export interface AutoRedriveProps {
  /**
   * Execution statuses that trigger a redrive decision. ABORTED is opt-in because an abort
   * is usually a person's deliberate decision.
   *
   * @default ['FAILED', 'TIMED_OUT']
   */
  readonly statuses?: readonly RedrivableStatus[];

  /**
   * Standard state machines to watch. Narrows the EventBridge rule and the Step Functions
   * IAM permissions to these machines. Each ARN must be a plain (unqualified) state
   * machine ARN in the stack's account and Region: EventBridge delivers Step Functions
   * events only to the default bus of the account and Region the execution runs in.
   *
   * @default - every state machine in the stack's account and Region
   */
  readonly stateMachineArns?: readonly string[];

  /**
   * Reserved concurrency of the controller Lambda. Caps how many status-change events are
   * processed at once, and protects the rest of the account from a failure storm.
   *
   * @default 10
   */
  readonly reservedConcurrency?: number;

  /**
   * How long a Lambda instance caches the loaded policies and the kill switch. Whole
   * seconds, between 1 second and 1 hour.
   *
   * @default Duration.seconds(60)
   */
  readonly policyCacheTtl?: Duration;

  /**
   * Global RedriveExecution rate of the whole controller (all instances, event path and
   * drain), per second. Between 1 and 1000.
   *
   * @default 50 (DEFAULTS.redriveRatePerSecond in lambda/config.ts)
   */
  readonly redriveRatePerSecond?: number;

  /**
   * Global DescribeExecution rate (stale-event checks, drain re-checks, reconciliation),
   * per second. Between 1 and 100; DescribeExecution refills at only 15/s (10/s in
   * smaller Regions).
   *
   * @default 5 (DEFAULTS.describeRatePerSecond in lambda/config.ts)
   */
  readonly describeRatePerSecond?: number;

  /**
   * Longest a redrive waits in-process for a rate slot before it is deferred to the drain
   * instead. Between 1 millisecond and less than the controller's 60-second timeout.
   *
   * @default Duration.millis(5000) (DEFAULTS.maxRateWaitMs in lambda/config.ts)
   */
  readonly maxRateWait?: Duration;

  /**
   * How long audit records stay in the ledger before DynamoDB TTL removes them. Whole
   * days, at least 1.
   *
   * @default Duration.days(30)
   */
  readonly auditRetention?: Duration;

  /**
   * How often the drain Lambda runs (deferred redrives, abandoned claims, metrics and the
   * reconciliation sweep). Whole minutes, at least 1.
   *
   * @default Duration.minutes(1)
   */
  readonly drainInterval?: Duration;

  /**
   * How far back the reconciliation sweep looks for failed executions that no event
   * reported. Whole hours, between 1 hour and 14 days (RedriveExecution's limit).
   *
   * @default Duration.hours(24)
   */
  readonly reconcileLookback?: Duration;

  /**
   * How often the drain runs the reconciliation sweep. Whole minutes, at least
   * `drainInterval` (the sweep runs inside a drain run).
   *
   * @default Duration.minutes(15)
   */
  readonly reconcileEvery?: Duration;

  /**
   * Longest an execution may run and still be found by the reconciliation sweep (listing
   * is newest start first and stops at executions that started this long before the
   * look-back window). Events still cover longer runs. Whole hours, at least 1.
   *
   * @default Duration.hours(24)
   */
  readonly reconcileMaxRunTime?: Duration;

  /**
   * A claim older than this is treated as abandoned (a crashed Lambda) and retried. Whole
   * seconds, longer than the controller's 60-second timeout so a live claim is never
   * taken over.
   *
   * @default Duration.seconds(180) (DEFAULTS.claimTimeoutSeconds in lambda/config.ts)
   */
  readonly claimTimeout?: Duration;

  /**
   * An event older than this (event time vs. now) may be stale and is checked with
   * DescribeExecution before acting on it. Whole seconds, from 1 to 600: redrives of
   * fresher events rely on the ledger plus the clientToken, which Step Functions honours
   * for 15 minutes, so the check must start well inside that window.
   *
   * @default Duration.seconds(300) (DEFAULTS.staleEventAfterSeconds in lambda/config.ts)
   */
  readonly staleEventAfter?: Duration;

  /**
   * Whether the Lambdas publish `Auto Redrive Exhausted` / `Skipped` events to `eventBus`.
   *
   * @default true
   */
  readonly publishEvents?: boolean;

  /**
   * Bus the Lambdas publish their own events to, when `publishEvents` is true.
   *
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * Retention of the Lambdas' log groups.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Removal policy of the policy and ledger tables. The policy table holds hand-written
   * policies and the ledger the audit trail, so they are kept by default.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Name of the CloudWatch dashboard. Dashboard names are unique per account (across
   * Regions), so set it when more than one AutoRedrive is deployed in an account. Letters,
   * digits, '-' and '_', at most 255 characters.
   *
   * @default 'AutoRedrive'
   */
  readonly dashboardName?: string;

  /**
   * Where the runbook is: the dashboard and every alarm description link to its
   * `#runbook-...` sections (RUNBOOK in lib/observability.ts). Set it to the README's URL
   * in your repository so the links open from the console.
   *
   * @default 'README.md'
   */
  readonly runbookUrl?: string;

  /**
   * E-mail address subscribed to the alarm topic. SNS mails a confirmation link first;
   * nothing is delivered until it is confirmed.
   *
   * @default - no subscription; subscribe to `alarmTopic` yourself
   */
  readonly alarmEmail?: string;

  /**
   * Alarm when the oldest pending redrive has been overdue for longer than this (the
   * drain's OldestPendingAgeSeconds). Whole seconds, at least 1 minute and longer than
   * `drainInterval` (an item can wait up to one interval in normal operation).
   *
   * @default - Duration.minutes(15), or two drain intervals if that is longer
   */
  readonly backlogAgeAlarmThreshold?: Duration;

  /**
   * Serve the Step Functions executions of other accounts (an AWS Organization) as well:
   * a central event bus receives their forwarded events, and the Lambdas assume a role in
   * each member account. The default-bus rule keeps serving this account.
   *
   * @default - single account: this account and Region only
   */
  readonly organization?: AutoRedriveOrganization;
}

/** Validated organization settings with every default applied. */
interface ResolvedOrganization {
  readonly memberAccounts: readonly string[];
  readonly organizationId: string | undefined;
  readonly externalId: string;
  readonly servedRegions: readonly string[];
  readonly memberRoleName: string;
  readonly eventBusName: string;
}

/** Validated props with every default applied. */
interface ResolvedProps {
  readonly statuses: readonly RedrivableStatus[];
  readonly stateMachineArns: readonly string[] | undefined;
  readonly reservedConcurrency: number;
  readonly policyCacheTtlSeconds: number;
  readonly redriveRatePerSecond: number;
  readonly describeRatePerSecond: number;
  readonly maxRateWaitMs: number;
  readonly auditRetentionDays: number;
  readonly drainIntervalMinutes: number;
  readonly reconcileLookbackHours: number;
  readonly reconcileEveryMinutes: number;
  readonly reconcileMaxRunHours: number;
  readonly claimTimeoutSeconds: number;
  readonly staleEventAfterSeconds: number;
  readonly publishEvents: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly dashboardName: string;
  readonly runbookUrl: string;
  readonly alarmEmail: string | undefined;
  readonly backlogAgeAlarmThresholdSeconds: number;
  readonly organization: ResolvedOrganization | undefined;
}

/**
 * Automatically redrives failed AWS Step Functions Standard executions.
 *
 * An EventBridge rule on the default bus sends the selected execution status changes to
 * the controller Lambda, which decides per the policies in the policy table and redrives,
 * recording every decision in the ledger table. A scheduled drain Lambda performs
 * deferred redrives, retries abandoned claims and runs a reconciliation sweep for
 * failures whose event was lost. Undeliverable events end up in one dead-letter queue.
 * A CloudWatch dashboard and alarms (to an encrypted SNS topic) watch all of it.
 */
export class AutoRedrive extends Construct {
  /** Redrive policies, one item per state machine ARN or pattern (key `stateMachine`). */
  public readonly policyTable: dynamodb.Table;
  /** Failure records, audit trail, kill switch and rate-limiter state. */
  public readonly ledgerTable: dynamodb.Table;
  /** The Lambda that handles status-change events. */
  public readonly controller: NodejsFunction;
  /** The scheduled Lambda that drains deferred redrives and reconciles. */
  public readonly drain: NodejsFunction;
  /**
   * Dead-letter queue of both the rule target (events EventBridge could not deliver) and
   * the controller (events that failed all async-invoke attempts).
   */
  public readonly deadLetterQueue: sqs.Queue;
  /** The rule that sends the execution status changes to the controller. */
  public readonly rule: events.Rule;
  /** The schedule that runs the drain. */
  public readonly drainSchedule: events.Rule;
  /** SNS topic (KMS-encrypted, SSL only) every alarm notifies, on ALARM and on OK. */
  public readonly alarmTopic: sns.Topic;
  /** The alarms, by key: deadLetterQueue, controllerErrors, drainErrors, exhaustion, backlogAge, policyInvalid. */
  public readonly alarms: Readonly<Record<AlarmKey, cloudwatch.Alarm>>;
  /** The CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Organization mode only: the custom bus the member accounts forward their events to. */
  public readonly centralEventBus?: events.EventBus;
  /** Organization mode only: the rule on `centralEventBus` that sends the events to the controller. */
  public readonly centralRule?: events.Rule;

  constructor(scope: Construct, id: string, props: AutoRedriveProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const p = resolveProps(this, stack, props);

    // ---- Storage -------------------------------------------------------------------
    this.policyTable = createTable(this, 'PolicyTable', POLICY_TABLE, p.removalPolicy);
    this.ledgerTable = createTable(this, 'LedgerTable', LEDGER_TABLE, p.removalPolicy);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    // ---- Lambdas -------------------------------------------------------------------
    const eventBus = p.publishEvents
      ? (props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default'))
      : undefined;

    const environment: Record<string, string> = {
      [ENV.policyTableName]: this.policyTable.tableName,
      [ENV.ledgerTableName]: this.ledgerTable.tableName,
      ...Object.fromEntries(RUNTIME_NUMBER_IDS.map((id) => [SETTINGS[id].env, num(p[id])])),
      ...(eventBus ? { [ENV.eventBusName]: eventBus.eventBusName } : {}),
      ...(p.organization ? organizationEnvironment(p.organization) : {}),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
    };

    this.controller = createFunction(this, 'Controller', {
      entryFile: 'controller.ts',
      description: 'auto-redrive controller: decides on and redrives failed Step Functions executions',
      environment,
      logRetention: p.logRetention,
      timeout: CONTROLLER_TIMEOUT,
      reservedConcurrentExecutions: p.reservedConcurrency,
      // Function errors: two retries (Lambda's maximum); throttles and system errors are
      // requeued for up to 6 hours. After that the event goes to the DLQ.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      deadLetterQueue: this.deadLetterQueue,
    });

    // A drain tick is superseded by the next one: no retries, and a tick that waited
    // (throttled behind a running drain) longer than one interval is dropped.
    const drainTickAge = Duration.seconds(
      Math.min(Math.max(60, p.drainIntervalMinutes * 60), MAX_LAMBDA_EVENT_AGE_SECONDS),
    );
    this.drain = createFunction(this, 'Drain', {
      entryFile: 'drain.ts',
      description: 'auto-redrive drain: deferred redrives, abandoned claims, reconciliation sweep',
      environment,
      logRetention: p.logRetention,
      timeout: DRAIN_TIMEOUT,
      // Only one drain at a time.
      reservedConcurrentExecutions: 1,
      retryAttempts: 0,
      maxEventAge: drainTickAge,
    });

    // ---- Events --------------------------------------------------------------------
    // The shared pattern builder (also used by the local event bus), mapped onto the CDK
    // type; the rendered pattern is exactly statusChangePattern()'s output.
    const pattern = statusChangePattern({ statuses: p.statuses, stateMachineArns: p.stateMachineArns });
    this.rule = new events.Rule(this, 'StatusChangeRule', {
      description: `auto-redrive: Step Functions executions that ended ${p.statuses.join(', ')}`,
      eventPattern: { source: pattern.source, detailType: pattern['detail-type'], detail: pattern.detail },
    });
    this.rule.addTarget(
      new targets.LambdaFunction(this.controller, {
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
        deadLetterQueue: this.deadLetterQueue,
      }),
    );

    // Organization mode: the member accounts' forwarded events arrive on a custom bus with
    // the same pattern (statuses only: member rules narrow to their own state machines).
    if (p.organization) {
      const org = p.organization;
      this.centralEventBus = new events.EventBus(this, 'CentralEventBus', { eventBusName: org.eventBusName });
      this.centralEventBus.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AutoRedriveMembers',
          actions: ['events:PutEvents'],
          principals: org.memberAccounts.map((a) => new iam.AccountPrincipal(a)),
          resources: [this.centralEventBus.eventBusArn],
          conditions: org.organizationId
            ? { StringEquals: { 'aws:PrincipalOrgID': org.organizationId } }
            : undefined,
        }),
      );
      const central = statusChangePattern({ statuses: p.statuses });
      this.centralRule = new events.Rule(this, 'CentralStatusChangeRule', {
        description: `auto-redrive: member accounts' Step Functions executions that ended ${p.statuses.join(', ')}`,
        eventBus: this.centralEventBus,
        eventPattern: { source: central.source, detailType: central['detail-type'], detail: central.detail },
      });
      this.centralRule.addTarget(
        new targets.LambdaFunction(this.controller, {
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
          deadLetterQueue: this.deadLetterQueue,
        }),
      );
    }

    this.drainSchedule = new events.Rule(this, 'DrainSchedule', {
      description: 'auto-redrive: runs the drain',
      schedule: events.Schedule.rate(Duration.minutes(p.drainIntervalMinutes)),
    });
    this.drainSchedule.addTarget(
      new targets.LambdaFunction(this.drain, { retryAttempts: 2, maxEventAge: drainTickAge }),
    );

    // ---- Permissions ---------------------------------------------------------------
    const stepFunctions = stepFunctionsResources(stack, p.stateMachineArns, p.organization?.servedRegions);
    for (const fn of [this.controller, this.drain]) {
      // Exactly the DynamoDB actions the Lambda code sends, not grantReadData's and
      // grantReadWriteData's wider sets (test/hardening/iam.test.ts checks them against
      // lambda/**). Table.grant also covers the table's indexes (the ledger's byDue).
      this.policyTable.grant(fn, 'dynamodb:Scan');
      this.ledgerTable.grant(fn, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query');
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['states:RedriveExecution', 'states:DescribeExecution'],
        resourceArns: stepFunctions.executions,
      });
      eventBus?.grantPutEventsTo(fn);
    }
    // Reconciliation sweep (drain only).
    iam.Grant.addToPrincipal({
      grantee: this.drain,
      actions: ['states:ListExecutions'],
      resourceArns: stepFunctions.stateMachines,
    });
    iam.Grant.addToPrincipal({
      grantee: this.drain,
      actions: ['states:ListStateMachines'],
      resourceArns: ['*'],
    });
    // Organization mode: member accounts are reached through their member role only.
    if (p.organization) {
      const org = p.organization;
      const memberRoles = org.memberAccounts.map((account) =>
        stack.formatArn({ service: 'iam', region: '', account, resource: 'role', resourceName: org.memberRoleName }),
      );
      for (const fn of [this.controller, this.drain]) {
        iam.Grant.addToPrincipal({ grantee: fn, actions: ['sts:AssumeRole'], resourceArns: memberRoles });
      }
    }

    // ---- Observability -------------------------------------------------------------
    const observability = new Observability(this, 'Observability', {
      controller: this.controller,
      drain: this.drain,
      deadLetterQueue: this.deadLetterQueue,
      stateMachineArns: p.stateMachineArns,
      reservedConcurrency: p.reservedConcurrency,
      dashboardName: p.dashboardName,
      runbookUrl: p.runbookUrl,
      alarmEmail: p.alarmEmail,
      backlogAgeAlarmThresholdSeconds: p.backlogAgeAlarmThresholdSeconds,
    });
    this.alarmTopic = observability.alarmTopic;
    this.alarms = observability.alarms;
    this.dashboard = observability.dashboard;

    // ---- Outputs -------------------------------------------------------------------
    new CfnOutput(this, 'PolicyTableName', {
      description: 'DynamoDB table holding the redrive policies',
      value: this.policyTable.tableName,
    });
    new CfnOutput(this, 'LedgerTableName', {
      description: 'DynamoDB table holding the failure records and the audit trail',
      value: this.ledgerTable.tableName,
    });
    new CfnOutput(this, 'ControllerFunctionName', {
      description: 'Lambda that handles Step Functions status-change events',
      value: this.controller.functionName,
    });
    new CfnOutput(this, 'DrainFunctionName', {
      description: 'Scheduled Lambda that drains deferred redrives and reconciles',
      value: this.drain.functionName,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'SQS dead-letter queue of the rule target and the controller',
      value: this.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic the auto-redrive alarms notify (subscribe here)',
      value: this.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'DashboardName', {
      description: 'CloudWatch dashboard of auto-redrive',
      value: this.dashboard.dashboardName,
    });

    if (p.organization) {
      new CfnOutput(this, 'CentralEventBusArn', {
        description: 'Event bus the member accounts forward to (AutoRedriveMember centralEventBusArn)',
        value: this.centralEventBus!.eventBusArn,
      });
      new CfnOutput(this, 'ControllerRoleArn', {
        description: 'Controller execution role, allowed to assume the member role (AutoRedriveMember controllerRoleArns)',
        value: this.controller.role!.roleArn,
      });
      new CfnOutput(this, 'DrainRoleArn', {
        description: 'Drain execution role, allowed to assume the member role (AutoRedriveMember controllerRoleArns)',
        value: this.drain.role!.roleArn,
      });
    }

    this.acknowledgeNagFindings(stack, stepFunctions);
  }

  /**
   * cdk-nag (v3) acknowledgments, each with its reason. cdk-nag v3 reads CDK's native
   * `Validations.of(x).acknowledge()` records; an acknowledgment on a construct covers
   * the resources under it, and an IAM5 finding is acknowledged by its exact id
   * `AwsSolutions-IAM5[Resource::<rendered ARN>]`, so each wildcard is listed explicitly.
   */
  private acknowledgeNagFindings(stack: Stack, sfn: StepFunctionsResources): void {
    const ledgerIndexFinding = `Resource::${nagResource(stack, `${this.ledgerTable.tableArn}/index/*`)}`;
    const executionReason =
      'Execution ARNs embed execution ids that are not known in advance; the resource is limited to ' +
      (sfn.narrowed
        ? 'executions of the listed state machines'
        : `executions of this account's state machines in ${sfn.regionCount > 1 ? 'the served Regions' : 'this Region'}`) +
      ' (execution:<stateMachine>:*).';

    for (const fn of [this.controller, this.drain]) {
      // IAM findings are reported on the role's DefaultPolicy, so acknowledge on the role.
      const v = Validations.of(fn.role!);
      for (const finding of sfn.executionFindings) {
        v.acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: executionReason });
      }
      v.acknowledge({
        id: `AwsSolutions-IAM5[${ledgerIndexFinding}]`,
        reason:
          "Query on the ledger's byDue index: Table.grant scopes the index ARN to " +
          '<ledger table ARN>/index/*, the indexes of this one table only.',
      });
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'Runtime deliberately pinned to Node.js 22 (nodejs22.x): the bundle is built and tested ' +
          'for it (esbuild target node22); runtime upgrades are a deliberate change, not implicit.',
      });
    }

    const drain = Validations.of(this.drain.role!);
    drain.acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'states:ListStateMachines has no resource-level permissions (the Service Authorization ' +
        'Reference lists no resource type for it), so "*" is the only valid resource. The drain ' +
        'needs it to find the state machines a policy pattern matches.',
    });
    for (const finding of sfn.stateMachineFindings) {
      drain.acknowledge({
        id: `AwsSolutions-IAM5[${finding}]`,
        reason:
          "states:ListExecutions for the reconciliation sweep on this account and Region's state " +
          'machines (stateMachine:*): which machines have policies is data in the policy table, ' +
          'not known at deploy time. Set stateMachineArns to narrow it.',
      });
    }
    // No SQS3 acknowledgment: cdk-nag recognises the queue as the controller's DLQ.
  }
}

// ---- Helpers -------------------------------------------------------------------------

function createTable(
  scope: Construct,
  id: string,
  def: TableDefinition,
  removalPolicy: RemovalPolicy,
): dynamodb.Table {
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

function keyAttribute(attr: { name: string; type: 'S' | 'N' }): dynamodb.Attribute {
  return {
    name: attr.name,
    type: attr.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
  };
}

interface FunctionOptions {
  readonly entryFile: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly timeout: Duration;
  readonly reservedConcurrentExecutions: number;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly deadLetterQueue?: sqs.IQueue;
}

function createFunction(scope: Construct, id: string, o: FunctionOptions): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: o.logRetention });
  // An explicit role without AWSLambdaBasicExecutionRole: the function may write to its
  // own log group only (no logs:CreateLogGroup, no account-wide log access).
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of the auto-redrive ${id.toLowerCase()} Lambda`,
  });
  logGroup.grantWrite(role);

  return new NodejsFunction(scope, id, {
    entry: path.join(HANDLERS_DIR, o.entryFile),
    handler: 'handler',
    description: o.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: o.timeout,
    reservedConcurrentExecutions: o.reservedConcurrentExecutions,
    retryAttempts: o.retryAttempts,
    maxEventAge: o.maxEventAge,
    deadLetterQueue: o.deadLetterQueue,
    role,
    logGroup,
    environment: o.environment,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    bundling: {
      forceDockerBundling: false,
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      target: 'node22',
      format: OutputFormat.CJS,
      // Bundle the AWS SDK v3 too: the versions pinned in package-lock.json run, not
      // whatever the runtime ships, and one bundled file loads faster than node_modules.
      externalModules: [],
    },
  });
}

interface StepFunctionsResources {
  /** True when the permissions are narrowed to listed state machines. */
  readonly narrowed: boolean;
  readonly executions: string[];
  readonly stateMachines: string[];
  /** cdk-nag IAM5 finding ids ("Resource::...") of the wildcard execution resources. */
  readonly executionFindings: string[];
  /** cdk-nag IAM5 finding ids of the wildcard state machine resources (none when narrowed). */
  readonly stateMachineFindings: string[];
  /** How many Regions the wildcard resources cover. */
  readonly regionCount: number;
}

/**
 * This account's Step Functions resources the Lambdas act on: the listed state machines,
 * or every state machine in the stack's Region (plus, in organization mode, every served
 * Region: the controller's own account is reached with its own role there too).
 */
function stepFunctionsResources(
  stack: Stack,
  arns: readonly string[] | undefined,
  servedRegions: readonly string[] = [stack.region],
): StepFunctionsResources {
  if (!arns) {
    const regions = [stack.region, ...servedRegions.filter((r) => r !== stack.region)];
    const all = (resource: string, resourceName: string): string[] =>
      regions.map((region) =>
        stack.formatArn({ service: 'states', region, resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      );
    const executions = all('execution', '*:*');
    const stateMachines = all('stateMachine', '*');
    return {
      narrowed: false,
      regionCount: regions.length,
      executions,
      stateMachines,
      executionFindings: executions.map((r) => `Resource::${nagResource(stack, r)}`),
      stateMachineFindings: stateMachines.map((r) => `Resource::${nagResource(stack, r)}`),
    };
  }
  const executions = arns.map((arn) => executionsOf(stack, arn));
  return {
    narrowed: true,
    regionCount: 1,
    executions,
    stateMachines: [...arns],
    executionFindings: executions.map((e) => `Resource::${nagResource(stack, e)}`),
    stateMachineFindings: [],
  };
}

/**
 * How cdk-nag renders a policy resource in an IAM5 finding id: the resolved value with
 * Fn::Join flattened, `Ref` as `<Id>`, `Fn::GetAtt` as `<Id.Attr>` (the rendering of
 * cdk-nag's flattenCfnReference, which is not part of its public API).
 */
export function nagResource(stack: Stack, value: string): string {
  const visit = (node: unknown): string => {
    if (node === undefined) return '';
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
    const o = node as Record<string, unknown>;
    if (o['Fn::Join']) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(visit).join(delimiter);
    }
    if (o['Fn::Sub']) return visit(o['Fn::Sub']);
    if (o['Fn::GetAtt']) {
      const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${visit(resource)}.${visit(attribute)}>`;
    }
    if (o['Fn::ImportValue']) return visit(o['Fn::ImportValue']);
    if (o.Ref) return `<${visit(o.Ref)}>`;
    return JSON.stringify(node);
  };
  return visit(stack.resolve(value));
}

/** The ORG_ENV variables (lambda/config.ts loadOrganization) of organization mode. */
function organizationEnvironment(org: ResolvedOrganization): Record<string, string> {
  return {
    [ORG_ENV.homeAccount]: Aws.ACCOUNT_ID,
    [ORG_ENV.memberAccounts]: org.memberAccounts.join(','),
    [ORG_ENV.memberRoleName]: org.memberRoleName,
    // Not a secret (see AutoRedriveOrganization.externalId): a confused-deputy guard.
    [ORG_ENV.memberExternalId]: org.externalId,
    [ORG_ENV.servedRegions]: org.servedRegions.join(','),
  };
}

function num(n: number): string {
  return Tokenization.stringifyNumber(n);
}

// ---- Validation ----------------------------------------------------------------------

function fail(message: string): never {
  throw new Error(`AutoRedrive: ${message}`);
}

type NumberSetting = Setting & { readonly prop: string; readonly range: NumberRange; readonly default: number };
type DurationSetting = NumberSetting & { readonly unit: DurationUnit };

/** A number prop within its setting's range (tokens pass), or the setting's default. */
function checkNumber(s: NumberSetting, value: number | undefined): number {
  const { prop: name, range } = s;
  const n = value ?? s.default;
  if (Token.isUnresolved(n)) return n;
  const max = range.max ?? Infinity;
  if (!Number.isFinite(n) || n < range.min || n > max) fail(`${name} must be between ${range.min} and ${max}, got ${n}`);
  if (range.integer && !Number.isInteger(n)) fail(`${name} must be a whole number, got ${n}`);
  return n;
}

/**
 * A Duration prop as a whole number of its setting's unit within the setting's range, or
 * fails naming the prop. Absent: `fallback`, by default the setting's default.
 */
function checkDuration(s: DurationSetting, d: Duration | undefined, fallback = durationOf(s.unit, s.default)): number {
  const { prop: name, range } = s;
  const unit = s.unit.slice(0, -1); // 'seconds' -> 'second'
  const max = range.max ?? Infinity;
  const value = d ?? fallback;
  if (value.isUnresolved()) fail(`${name} must be a concrete duration, not a token`);
  const amount = value.toMilliseconds({ integral: false }) / UNIT_MS[s.unit];
  if (!Number.isInteger(amount)) fail(`${name} must be a whole number of ${unit}s, got ${value.toHumanString()}`);
  if (amount < range.min || amount > max) {
    const within = max === Infinity ? `at least ${range.min} ${unit}${range.min === 1 ? '' : 's'}` : `between ${range.min} and ${max} ${unit}s`;
    fail(`${name} must be ${within}, got ${value.toHumanString()}`);
  }
  return amount;
}

/** Dashboard names already taken in an app (keyed by its root), to report duplicates. */
const DASHBOARD_NAMES_IN_APP = new WeakMap<IConstruct, Map<string, string>>();

function resolveProps(scope: Construct, stack: Stack, props: AutoRedriveProps): ResolvedProps {
  // statuses
  const statuses = props.statuses ?? SETTINGS.statuses.default;
  if (statuses.length === 0) fail('statuses must contain at least one status');
  for (const s of statuses) {
    if (!(REDRIVABLE_STATUSES as readonly string[]).includes(s)) {
      fail(`statuses: '${s}' is not one of ${REDRIVABLE_STATUSES.join(', ')}`);
    }
  }
  if (new Set(statuses).size !== statuses.length) fail(`statuses contains duplicates: ${statuses.join(', ')}`);

  // stateMachineArns
  const arns = props.stateMachineArns;
  if (arns !== undefined) {
    if (arns.length === 0) fail('stateMachineArns must not be empty; omit it to watch every state machine');
    arns.forEach((arn, i) => {
      if (Token.isUnresolved(arn)) return;
      if (!isStateMachineArn(arn)) {
        fail(`stateMachineArns[${i}] '${arn}' is not a state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>)`);
      }
      const [, , , region, account] = arn.split(':');
      if (!Token.isUnresolved(stack.region) && region !== stack.region) {
        fail(`stateMachineArns[${i}] '${arn}' is in Region ${region}, but the stack is in ${stack.region}; Step Functions events reach only the default bus of their own Region`);
      }
      if (!Token.isUnresolved(stack.account) && account !== stack.account) {
        fail(`stateMachineArns[${i}] '${arn}' is in account ${account}, but the stack is in ${stack.account}; Step Functions events reach only the default bus of their own account`);
      }
    });
    const literal = arns.filter((a) => !Token.isUnresolved(a));
    if (new Set(literal).size !== literal.length) fail('stateMachineArns contains duplicates');
  }

  const reservedConcurrency = checkNumber(SETTINGS.reservedConcurrency, props.reservedConcurrency);
  const redriveRatePerSecond = checkNumber(SETTINGS.redriveRatePerSecond, props.redriveRatePerSecond);
  const describeRatePerSecond = checkNumber(SETTINGS.describeRatePerSecond, props.describeRatePerSecond);

  const policyCacheTtlSeconds = checkDuration(SETTINGS.policyCacheTtlSeconds, props.policyCacheTtl);
  const maxRateWaitMs = checkDuration(SETTINGS.maxRateWaitMs, props.maxRateWait);
  const auditRetentionDays = checkDuration(SETTINGS.auditRetentionDays, props.auditRetention);
  const drainIntervalMinutes = checkDuration(SETTINGS.drainIntervalMinutes, props.drainInterval);
  const reconcileLookbackHours = checkDuration(SETTINGS.reconcileLookbackHours, props.reconcileLookback);
  const reconcileEveryMinutes = checkDuration(SETTINGS.reconcileEveryMinutes, props.reconcileEvery);
  const reconcileMaxRunHours = checkDuration(SETTINGS.reconcileMaxRunHours, props.reconcileMaxRunTime);
  if (reconcileEveryMinutes < drainIntervalMinutes) {
    fail(`reconcileEvery (${reconcileEveryMinutes} min) must be at least drainInterval (${drainIntervalMinutes} min): the sweep runs inside a drain run`);
  }
  const claimTimeoutSeconds = checkDuration(SETTINGS.claimTimeoutSeconds, props.claimTimeout);
  if (claimTimeoutSeconds <= CONTROLLER_TIMEOUT_SECONDS) {
    fail(`claimTimeout must be longer than the controller's ${CONTROLLER_TIMEOUT_SECONDS}-second timeout, got ${claimTimeoutSeconds} seconds`);
  }
  const staleEventAfterSeconds = checkDuration(SETTINGS.staleEventAfterSeconds, props.staleEventAfter);

  if (props.eventBus && props.publishEvents === false) {
    fail('eventBus is set but publishEvents is false; remove one of them');
  }

  // Observability
  const dashboardName = props.dashboardName ?? SETTINGS.dashboardName.default;
  if (!Token.isUnresolved(dashboardName)) {
    if (!DASHBOARD_NAME.test(dashboardName)) fail(`dashboardName must be 1 to 255 letters, digits, '-' or '_', got '${dashboardName}'`);
    // Dashboard names are unique per account: catch a second instance in this app (same
    // account, or both environment-agnostic) at synth time rather than at deploy time.
    const names = DASHBOARD_NAMES_IN_APP.get(scope.node.root) ?? new Map<string, string>();
    DASHBOARD_NAMES_IN_APP.set(scope.node.root, names);
    const key = `${stack.account}/${dashboardName}`;
    const other = names.get(key);
    if (other !== undefined && other !== scope.node.path) {
      fail(`dashboardName '${dashboardName}' is already used by ${other}; dashboard names are unique per account, so give each AutoRedrive its own`);
    }
    names.set(key, scope.node.path);
  }
  const runbookUrl = props.runbookUrl ?? SETTINGS.runbookUrl.default;
  if (!Token.isUnresolved(runbookUrl) && (runbookUrl.trim() === '' || /[\s()#]/.test(runbookUrl))) {
    fail(`runbookUrl must be a URL or path without spaces, parentheses or '#' (the section anchors are appended), got '${runbookUrl}'`);
  }
  const alarmEmail = props.alarmEmail;
  if (alarmEmail !== undefined && !Token.isUnresolved(alarmEmail) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    fail(`alarmEmail must be an e-mail address, got '${alarmEmail}'`);
  }
  // The default follows a long drain interval: two intervals, if that is longer.
  const backlogAgeAlarmThresholdSeconds = checkDuration(
    SETTINGS.backlogAgeAlarmThresholdSeconds,
    props.backlogAgeAlarmThreshold,
    Duration.seconds(Math.max(SETTINGS.backlogAgeAlarmThresholdSeconds.default, 2 * drainIntervalMinutes * 60)),
  );
  if (backlogAgeAlarmThresholdSeconds <= drainIntervalMinutes * 60) {
    fail(`backlogAgeAlarmThreshold must be longer than drainInterval (${drainIntervalMinutes} min): a pending redrive can wait one drain interval in normal operation`);
  }

  const organization = props.organization === undefined ? undefined : resolveOrganization(stack, props.organization);

  return {
    organization,
    statuses,
    stateMachineArns: arns,
    reservedConcurrency,
    policyCacheTtlSeconds,
    redriveRatePerSecond,
    describeRatePerSecond,
    maxRateWaitMs,
    auditRetentionDays,
    drainIntervalMinutes,
    reconcileLookbackHours,
    reconcileMaxRunHours,
    reconcileEveryMinutes,
    claimTimeoutSeconds,
    staleEventAfterSeconds,
    publishEvents: props.publishEvents ?? SETTINGS.publishEvents.default,
    logRetention: props.logRetention ?? (SETTINGS.logRetentionDays.default as logs.RetentionDays),
    removalPolicy: props.removalPolicy ?? REMOVAL_POLICIES[SETTINGS.removalPolicy.default],
    dashboardName,
    runbookUrl,
    alarmEmail,
    backlogAgeAlarmThresholdSeconds,
  };
}

function checkOrganization(name: string, problem: string | undefined): void {
  if (problem) fail(problem.startsWith(name) ? problem : `${name} ${problem}`);
}

function resolveOrganization(stack: Stack, org: AutoRedriveOrganization): ResolvedOrganization {
  const memberAccounts = org.memberAccounts ?? [];
  checkOrganization(
    'organization.memberAccounts',
    memberAccounts.length === 0
      ? 'organization.memberAccounts must list at least one account: the controller acts only on the listed accounts (MEMBER_ACCOUNTS) and skips events of any other'
      : listProblem('organization.memberAccounts', memberAccounts, accountIdProblem, 'account id'),
  );
  if (!Token.isUnresolved(stack.account) && memberAccounts.includes(stack.account)) {
    fail(`organization.memberAccounts must not include the stack's own account ${stack.account}: it is served with the Lambdas' own role`);
  }
  if (org.organizationId !== undefined) checkOrganization('organization.organizationId', organizationIdProblem(org.organizationId));
  if (org.externalId === undefined) fail('organization.externalId is required');
  checkOrganization('organization.externalId', externalIdProblem(org.externalId));

  const servedRegions = org.servedRegions ?? [stack.region];
  checkOrganization(
    'organization.servedRegions',
    listProblem('organization.servedRegions', servedRegions, regionProblem, 'Region'),
  );
  if (!Token.isUnresolved(stack.region) && !servedRegions.includes(stack.region)) {
    fail(`organization.servedRegions must include the stack's Region ${stack.region}, got ${servedRegions.join(', ')}`);
  }

  const memberRoleName = org.memberRoleName ?? SETTINGS.memberRoleName.default;
  checkOrganization('organization.memberRoleName', roleNameProblem(memberRoleName));
  const eventBusName = org.eventBusName ?? SETTINGS.centralEventBusName.default;
  checkOrganization('organization.eventBusName', eventBusNameProblem(eventBusName));

  return {
    memberAccounts,
    organizationId: org.organizationId,
    externalId: org.externalId,
    servedRegions,
    memberRoleName,
    eventBusName,
  };
}
