/**
 * The AutoRedrive construct: what it creates, in order. Its props are in
 * ./auto-redrive-props (checked by ./resolve-props against the settings table), the
 * resources come from ./resources and ./permissions, the dashboard and alarms from
 * ./observability, the cdk-nag acknowledgments from ./nag.
 */
import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CANARY_POLICY_KEY } from '../contract/canary';
import { LEDGER_TABLE, POLICY_TABLE } from '../contract/table-definitions';
import type { AutoRedriveProps } from './auto-redrive-props';
import { AutoRedriveCanary, canaryAlarmPeriodMinutes, canaryPolicyOptions } from './canary';
import { acknowledgeAutoRedriveFindings } from './nag';
import { AlarmKey, Observability } from './observability';
import { grantLambdaPermissions, stepFunctionsResources } from './permissions';
import { type AddRedrivePolicyOptions, RedrivePolicy, defaultPolicyId } from './redrive-policy';
import { type ResolvedProps, resolveProps } from './resolve-props';
import {
  controllerTarget,
  createCentralBus,
  createController,
  createDeadLetterQueue,
  createDrain,
  createDrainSchedule,
  createStatusChangeRule,
  createTable,
  lambdaEnvironment,
} from './resources';

export type { AutoRedriveOrganization, AutoRedriveProps } from './auto-redrive-props';
export { AutoRedrivePropError } from './validation';
export { CONTROLLER_TIMEOUT, DRAIN_TIMEOUT } from './resources';

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
  public readonly controller: lambda.Function;
  /** The scheduled Lambda that drains deferred redrives and reconciles. */
  public readonly drain: lambda.Function;
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
  /** The canary's state machine and schedule (`canary`, default true). */
  public readonly canary?: AutoRedriveCanary;
  /** The canary's managed policy item (CANARY_POLICY in contract/canary.ts): every canary this controller serves. */
  public readonly canaryPolicy?: RedrivePolicy;
  /** "auto-redrive is not redriving in this account": no canary recovered for two intervals plus a margin. */
  public readonly canaryAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AutoRedriveProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const p = resolveProps(this, stack, props);

    // Storage: the logical ids of these three never change (test/lib/stateful-resources.test.ts).
    this.policyTable = createTable(this, 'PolicyTable', POLICY_TABLE, p.removalPolicy);
    this.ledgerTable = createTable(this, 'LedgerTable', LEDGER_TABLE, p.removalPolicy);
    this.deadLetterQueue = createDeadLetterQueue(this);

    // Lambdas.
    const eventBus = p.publishEvents
      ? (props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default'))
      : undefined;
    const environment = lambdaEnvironment(p, { policyTable: this.policyTable, ledgerTable: this.ledgerTable, eventBus });
    this.controller = createController(this, p, environment, this.deadLetterQueue);
    this.drain = createDrain(this, p, environment);

    // The canary, redriven like any failure; when the watched state machines are listed, it is one of them.
    if (p.canary) this.canary = new AutoRedriveCanary(this, 'Canary', { intervalMinutes: p.canaryIntervalMinutes });
    const watched = this.canary && p.stateMachineArns ? [...p.stateMachineArns, this.canary.stateMachineArn] : p.stateMachineArns;

    // Events in: the default bus, the central bus in organization mode, the drain schedule.
    this.rule = createStatusChangeRule(this, { ...p, stateMachineArns: watched }, controllerTarget(this.controller, this.deadLetterQueue));
    if (p.organization) {
      const central = createCentralBus(this, p, p.organization, controllerTarget(this.controller, this.deadLetterQueue));
      this.centralEventBus = central.bus;
      this.centralRule = central.rule;
    }
    this.drainSchedule = createDrainSchedule(this, this.drain, p.drainIntervalMinutes);

    // Permissions.
    const stepFunctions = stepFunctionsResources(stack, watched, p.organization?.servedRegions);
    grantLambdaPermissions(stack, { ...this.parts(), stepFunctions, eventBus, organization: p.organization });

    // Dashboard, alarms, alarm topic.
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
      breakerOpenAlarmThresholdSeconds: p.breakerOpenAlarmThresholdSeconds,
      canary: this.canary
        ? {
            intervalMinutes: p.canaryIntervalMinutes,
            stateMachineArn: this.canary.stateMachineArn,
            alarmPeriodMinutes: canaryAlarmPeriodMinutes(p.canaryIntervalMinutes, p.drainIntervalMinutes),
            perMember: p.organization !== undefined,
          }
        : undefined,
    });
    this.alarmTopic = observability.alarmTopic;
    this.alarms = observability.alarms;
    this.dashboard = observability.dashboard;
    this.canaryAlarm = observability.canaryAlarm;

    // The canary's policy: written by this stack only, its key covers every member's canary too.
    if (this.canary) this.canaryPolicy = this.addPolicy(CANARY_POLICY_KEY, { id: 'CanaryPolicy', ...canaryPolicyOptions() });

    this.createOutputs(p);
    acknowledgeAutoRedriveFindings(stack, { ...this.parts(), stepFunctions });
  }

  /**
   * Declares the redrive policy of `stateMachine`, deployed with the stack: a
   * {@link RedrivePolicy} under this construct, writing to its policy table.
   *
   * @param stateMachine a state machine, a state machine ARN, or a pattern of ARNs with `*`
   * @param options the policy (every field optional, with the policy defaults)
   */
  public addPolicy(stateMachine: sfn.IStateMachine | string, options: AddRedrivePolicyOptions = {}): RedrivePolicy {
    const { id, ...policy } = options;
    return new RedrivePolicy(this, id ?? defaultPolicyId(stateMachine), { ...policy, stateMachine, autoRedrive: this });
  }

  private parts() {
    return { controller: this.controller, drain: this.drain, policyTable: this.policyTable, ledgerTable: this.ledgerTable };
  }

  /** Outputs for operators and redrivectl (AutoRedriveStack gives them stable keys). */
  private createOutputs(p: ResolvedProps): void {
    const outputs: Array<[id: string, description: string, value: string]> = [
      ['PolicyTableName', 'DynamoDB table holding the redrive policies', this.policyTable.tableName],
      ['LedgerTableName', 'DynamoDB table holding the failure records and the audit trail', this.ledgerTable.tableName],
      ['ControllerFunctionName', 'Lambda that handles Step Functions status-change events', this.controller.functionName],
      ['DrainFunctionName', 'Scheduled Lambda that drains deferred redrives and reconciles', this.drain.functionName],
      ['DeadLetterQueueUrl', 'SQS dead-letter queue of the rule target and the controller', this.deadLetterQueue.queueUrl],
      ['AlarmTopicArn', 'SNS topic the auto-redrive alarms notify (subscribe here)', this.alarmTopic.topicArn],
      ['DashboardName', 'CloudWatch dashboard of auto-redrive', this.dashboard.dashboardName],
    ];
    if (this.canary) outputs.push(['CanaryStateMachineArn', 'The canary, started every canaryInterval: it fails once and auto-redrive redrives it', this.canary.stateMachine.stateMachineArn]);
    if (p.organization) {
      outputs.push(
        ['CentralEventBusArn', 'Event bus the member accounts forward to (AutoRedriveMember centralEventBusArn)', this.centralEventBus!.eventBusArn],
        ['ControllerRoleArn', 'Controller execution role, allowed to assume the member role (AutoRedriveMember controllerRoleArns)', this.controller.role!.roleArn],
        ['DrainRoleArn', 'Drain execution role, allowed to assume the member role (AutoRedriveMember controllerRoleArns)', this.drain.role!.roleArn],
      );
    }
    for (const [outputId, description, value] of outputs) new CfnOutput(this, outputId, { description, value });
  }
}
