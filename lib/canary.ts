/**
 * The canary of both constructs (contract/canary.ts; docs/deploying.md "After deploying:
 * prove it"): a tiny Standard state machine and the schedule that starts it, in the
 * central (or standalone) stack and in every member stack. The central side also gets the
 * canary's managed policy item, the alarm "auto-redrive is not redriving in this account"
 * and the dashboard widgets; those are built here and placed by ./auto-redrive and
 * ./observability.
 */
import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CANARY_POLICY, canaryDefinition, canaryStateMachineName } from '../contract/canary';
import { DIMENSION, METRIC } from '../contract/metrics';
import { autoRedriveMetric, seriesByDimension } from './metrics';
import { acknowledgeCanaryFindings } from './nag';
import type { RedrivePolicyOptions } from './redrive-policy';
import type { PropValidator } from './validation';

/**
 * The alarm's margin beyond two intervals, besides one drain interval (a redrive scheduled
 * a few seconds after the failure is carried out by the next drain run): EventBridge
 * delivery, the policy cache, CloudWatch's metric delay.
 */
export const CANARY_ALARM_MARGIN_MINUTES = 15;

/** CloudWatch: an alarm's period × evaluation periods may not exceed 7 days (1 day below a 1-hour period). */
const MAX_ALARM_RANGE_MINUTES = 7 * 24 * 60;

/** The construct that deploys each stack's canary, to report a second one. */
const CANARY_OF_STACK = new WeakMap<Stack, string>();

/** The canary alarm's period, in minutes (a whole number of minutes: a multiple of 60 s, as CloudWatch requires). */
export function canaryAlarmPeriodMinutes(intervalMinutes: number, drainIntervalMinutes: number): number {
  return 2 * intervalMinutes + CANARY_ALARM_MARGIN_MINUTES + drainIntervalMinutes;
}

/**
 * The relations of the canary settings (ranges are the settings table's): the canary fails
 * with FAILED, so the rule must watch it; the alarm's period must fit CloudWatch's limit.
 */
export function checkCanarySettings(
  v: PropValidator,
  scope: Construct,
  s: { canary: boolean; canaryIntervalMinutes: number; statuses: readonly string[]; drainIntervalMinutes?: number },
): void {
  if (!s.canary) return;
  // The canary is named after its stack: a second one in the same stack would collide at deploy.
  const stack = Stack.of(scope);
  const other = CANARY_OF_STACK.get(stack);
  if (other !== undefined && other !== scope.node.path) {
    v.fail('canary', `canary: ${other} already deploys this stack's canary (${canaryStateMachineName(stack.stackName)}); set canary to false on ${scope.node.path}`);
  }
  CANARY_OF_STACK.set(stack, scope.node.path);
  if (!s.statuses.includes('FAILED')) {
    v.fail('canary', `canary needs statuses to include FAILED (the canary's first run fails with it), got ${s.statuses.join(', ')}; add FAILED or set canary to false`);
  }
  if (s.drainIntervalMinutes === undefined) return;
  const period = canaryAlarmPeriodMinutes(s.canaryIntervalMinutes, s.drainIntervalMinutes);
  if (period > MAX_ALARM_RANGE_MINUTES) {
    v.fail(
      'canaryInterval',
      `canaryInterval (${s.canaryIntervalMinutes} min) makes the canary alarm's period 2 × ${s.canaryIntervalMinutes} + ${CANARY_ALARM_MARGIN_MINUTES} + drainInterval ${s.drainIntervalMinutes} = ${period} minutes, longer than CloudWatch's 7 days`,
    );
  }
}

export interface AutoRedriveCanaryProps {
  /** How often the schedule starts the canary, in minutes. */
  readonly intervalMinutes: number;
}

/**
 * The canary's state machine (its definition from contract/canary.ts, as written) and the
 * schedule that starts it. Its role may only describe the canary's own executions (what
 * its one Task calls); the schedule's role may only start it.
 */
export class AutoRedriveCanary extends Construct {
  /** `AutoRedriveCanary-<stack name>` (canaryStateMachineName in contract/canary.ts). */
  public readonly stateMachineName: string;
  /** The state machine's ARN, built from its name (no reference to the resource). */
  public readonly stateMachineArn: string;
  public readonly stateMachine: sfn.StateMachine;
  /** The EventBridge schedule that starts the canary every interval. */
  public readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: AutoRedriveCanaryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.stackName)) throw new Error('AutoRedriveCanary: the stack name must be known at synth (the canary is named after it)');
    this.stateMachineName = canaryStateMachineName(stack.stackName);
    const arnOf = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'states', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.stateMachineArn = arnOf('stateMachine', this.stateMachineName);
    const ownExecutions = arnOf('execution', `${this.stateMachineName}:*`);

    const role = new iam.Role(this, 'Role', {
      description: 'auto-redrive canary: describes its own executions (the one call its Task makes)',
      // Only Step Functions on behalf of this state machine (confused-deputy guard).
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': this.stateMachineArn },
      }),
      inlinePolicies: {
        DescribeOwnExecutions: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [ownExecutions] })],
        }),
      },
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(canaryDefinition())),
      role,
    });

    // A missed start is superseded by the next one: retry it within one interval only.
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `auto-redrive canary: starts ${this.stateMachineName} every ${props.intervalMinutes} minutes`,
      schedule: events.Schedule.rate(Duration.minutes(props.intervalMinutes)),
    });
    this.schedule.addTarget(
      new targets.SfnStateMachine(this.stateMachine, {
        input: events.RuleTargetInput.fromObject({}),
        retryAttempts: 3,
        maxEventAge: Duration.minutes(props.intervalMinutes),
      }),
    );

    acknowledgeCanaryFindings(stack, { stateMachine: this.stateMachine, role, ownExecutions });
  }
}

/**
 * CANARY_POLICY (contract/canary.ts) as RedrivePolicy options (its key is the policy's
 * `stateMachine`). test/lib/canary.test.ts checks that the written item is CANARY_POLICY
 * exactly, so a field the contract gains cannot be left out silently.
 */
export function canaryPolicyOptions(): RedrivePolicyOptions {
  const { description, maxRedrives, intervalSeconds, backoffRate, maxDelaySeconds, jitter, errorEquals, breaker } = CANARY_POLICY;
  return {
    description,
    maxRedrives,
    interval: Duration.seconds(intervalSeconds),
    backoffRate,
    maxDelay: Duration.seconds(maxDelaySeconds),
    jitter: sfn.JitterType[jitter],
    errorEquals: [...errorEquals],
    breaker: { ...breaker },
  };
}

// ---- Alarm and dashboard (central side) -------------------------------------------------

export interface CanaryObservabilityProps {
  readonly intervalMinutes: number;
  /** The canary state machine of this stack (its AWS/States ExecutionsStarted arms the alarm). */
  readonly stateMachineArn: string;
  /** The alarm's period: canaryAlarmPeriodMinutes(). */
  readonly alarmPeriodMinutes: number;
  /** Organization mode: the dashboard shows one line per member account and Region. */
  readonly perMember: boolean;
}

/** The canary metric of this stack's account and Region (the dimensions the controller emits it with). */
function ownCanaryMetric(stack: Stack, name: typeof METRIC.canaryRecoveries | typeof METRIC.canaryRecoverySeconds, options: { statistic: string; period: Duration; label?: string }) {
  return autoRedriveMetric(name, { ...options, dimensions: { [DIMENSION.account]: stack.account, [DIMENSION.region]: stack.region } });
}

/**
 * "auto-redrive is not redriving in this account": the canary started at least twice in the
 * window (two intervals plus the margin) and none recovered. Counting the starts (Step
 * Functions' own ExecutionsStarted; a redrive is not a start) keeps the alarm quiet until the
 * first two runs after the first deploy, where a bare "no recovery" with missing data
 * breaching would fire for hours; a stopped controller emits nothing, which is why the
 * recoveries are FILLed with 0 rather than left missing. A canary that is not started
 * (schedule disabled) leaves the window empty: `redrivectl doctor` checks its last recovery.
 */
export function createCanaryAlarm(scope: Construct, p: CanaryObservabilityProps, runbookLink: string): cloudwatch.Alarm {
  const stack = Stack.of(scope);
  const period = Duration.minutes(p.alarmPeriodMinutes);
  const started = new cloudwatch.Metric({
    namespace: 'AWS/States',
    metricName: 'ExecutionsStarted',
    dimensionsMap: { StateMachineArn: p.stateMachineArn },
    statistic: cloudwatch.Stats.SUM,
    period,
  });
  const recovered = ownCanaryMetric(stack, METRIC.canaryRecoveries, { statistic: cloudwatch.Stats.SUM, period });
  return new cloudwatch.Alarm(scope, 'CanaryAlarm', {
    metric: new cloudwatch.MathExpression({
      expression: 'IF(FILL(started, 0) >= 2 AND FILL(recovered, 0) < 1, 1, 0)',
      usingMetrics: { started, recovered },
      period,
      label: 'canary started twice, none recovered',
    }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription:
      `auto-redrive is not redriving in this account: the canary started at least twice in ${p.alarmPeriodMinutes} minutes and none was redriven to success ` +
      `(it fails every ${p.intervalMinutes} minutes and should be redriven within seconds). Failed executions are probably not ` +
      'being redriven either. Check in order: the rule (disabled, wrong bus, target), permissions (SCP, permission boundary, KMS), ' +
      `the kill switch (\`redrivectl status\`), Step Functions throttling, the dead-letter queue. Runbook: ${runbookLink}`,
  });
}

/**
 * The dashboard's top row: canary recoveries and the seconds from failure to recovery, for
 * this account and Region, or (organization mode) one line per account and Region served.
 */
export function canaryWidgets(stack: Stack, p: CanaryObservabilityProps): cloudwatch.IWidget[] {
  const period = Duration.minutes(p.intervalMinutes);
  const where = p.perMember ? 'per account and Region' : 'this account and Region';
  const recoveries = p.perMember
    ? seriesByDimension(METRIC.canaryRecoveries, { period })
    : ownCanaryMetric(stack, METRIC.canaryRecoveries, { statistic: cloudwatch.Stats.SUM, period, label: 'Canary recoveries' });
  const seconds = p.perMember
    ? seriesByDimension(METRIC.canaryRecoverySeconds, { statistic: cloudwatch.Stats.MAXIMUM, period })
    : ownCanaryMetric(stack, METRIC.canaryRecoverySeconds, { statistic: cloudwatch.Stats.MAXIMUM, period, label: 'Failure to recovery (s)' });
  return [
    new cloudwatch.GraphWidget({
      title: `Canary: recoveries (${where}; expect 1 per ${p.intervalMinutes} min)`,
      width: 12,
      height: 6,
      left: [recoveries],
      leftYAxis: { min: 0 },
    }),
    new cloudwatch.GraphWidget({
      title: `Canary: seconds from failure to recovery (${where})`,
      width: 12,
      height: 6,
      left: [seconds],
      leftYAxis: { min: 0 },
    }),
  ];
}
