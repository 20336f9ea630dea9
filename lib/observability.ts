/**
 * auto-redrive's dashboard, alarms and alarm topic. Every metric comes from ./metrics
 * (the metrics contract), so what is graphed and alarmed on is exactly what the Lambdas
 * emit. Built by {@link AutoRedrive}; not exported from the package on its own.
 */
import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../contract/metrics';
import { OVER_BUDGET_ALARM_SECONDS } from '../contract/budget';
import { DETAIL_TYPE_EXHAUSTED, OWNER_EVENT_SOURCE } from '../contract/owner-events';
import {
  AWS_METRICS,
  OUTCOMES,
  SERVICE_DIMENSION,
  StatesRedriveMetricName,
  autoRedriveMetric,
  decisionsByReason,
  decisionsOfOutcome,
  deferralsByReason,
  lambdaMetric,
  queueDepth,
  seriesByDimension,
  statesRedriveMetric,
  statesRedriveSearch,
} from './metrics';
import { type CanaryObservabilityProps, canaryWidgets, createCanaryAlarm } from './canary';
import { safetyControlWidgets } from './safety-controls-widgets';

/**
 * Anchors of the runbook sections (docs/runbook.md, at `runbookUrl`) the dashboard and the
 * alarm descriptions link to. A heading "Runbook: Dead-letter queue not empty" renders as
 * the anchor `#runbook-dead-letter-queue-not-empty`.
 */
export const RUNBOOK = {
  overview: 'runbook',
  deadLetterQueue: 'runbook-dead-letter-queue-not-empty',
  controllerErrors: 'runbook-controller-errors',
  drainErrors: 'runbook-drain-errors',
  exhaustion: 'runbook-redrives-exhausted',
  backlogAge: 'runbook-backlog-too-old',
  policyInvalid: 'runbook-invalid-policy',
  breakerOpen: 'runbook-breaker-open-too-long',
  canary: 'runbook-auto-redrive-is-not-redriving-in-this-account',
  overBudget: 'runbook-over-budget-too-long',
} as const;

/** The alarms, by key. */
export type AlarmKey = 'deadLetterQueue' | 'controllerErrors' | 'drainErrors' | 'exhaustion' | 'backlogAge' | 'policyInvalid' | 'breakerOpen'
  | 'overBudget';

export interface ObservabilityProps {
  readonly controller: lambda.IFunction;
  readonly drain: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  /** Watched state machines; undefined = every state machine (SEARCH expressions). */
  readonly stateMachineArns: readonly string[] | undefined;
  readonly reservedConcurrency: number | undefined;
  readonly dashboardName: string;
  readonly runbookUrl: string;
  readonly alarmEmail: string | undefined;
  readonly backlogAgeAlarmThresholdSeconds: number;
  /** Alarm when a (state machine, error) breaker has been open longer than this. */
  readonly breakerOpenAlarmThresholdSeconds: number;
  /** The canary's alarm and widgets (lib/canary.ts); undefined when `canary` is false. */
  readonly canary?: CanaryObservabilityProps;
}

const FIVE_MINUTES = Duration.minutes(5);

/** Dashboard, alarms and the alarm topic of one {@link AutoRedrive}. */
export class Observability extends Construct {
  public readonly alarmTopicKey: kms.Key;
  public readonly alarmTopic: sns.Topic;
  public readonly alarms: Readonly<Record<AlarmKey, cloudwatch.Alarm>>;
  public readonly dashboard: cloudwatch.Dashboard;
  /** "auto-redrive is not redriving in this account" (lib/canary.ts), when the canary is on. */
  public readonly canaryAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, private readonly props: ObservabilityProps) {
    super(scope, id);
    const topic = this.createTopic();
    this.alarmTopicKey = topic.key;
    this.alarmTopic = topic.topic;
    this.alarms = this.createAlarms();
    if (props.canary) this.canaryAlarm = createCanaryAlarm(this, props.canary, this.runbook(RUNBOOK.canary));
    for (const alarm of [...Object.values(this.alarms), ...(this.canaryAlarm ? [this.canaryAlarm] : [])]) {
      alarm.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
      alarm.addOkAction(new cwActions.SnsAction(this.alarmTopic));
    }
    this.dashboard = this.createDashboard();
  }

  private get breakerOpenThreshold(): number {
    return this.props.breakerOpenAlarmThresholdSeconds;
  }

  private runbook(anchor: string): string {
    return `${this.props.runbookUrl}#${anchor}`;
  }

  // ---- Alarm topic -------------------------------------------------------------------

  /**
   * SNS topic encrypted with a customer managed key (cdk-nag SNS2) and SSL-only (SNS3).
   * Not `alias/aws/sns`: CloudWatch alarms publish to an encrypted topic only if the key
   * policy lets cloudwatch.amazonaws.com use the key, and the AWS managed key's policy
   * cannot be changed, so alarm notifications to such a topic are silently dropped.
   */
  private createTopic(): { key: kms.Key; topic: sns.Topic } {
    const stack = Stack.of(this);
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'auto-redrive: encrypts the alarm notification topic',
      enableKeyRotation: true,
      // The topic holds notifications for minutes at most; nothing else is encrypted with
      // this key, so it goes with the stack (after KMS's shortest waiting period).
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'auto-redrive alarms',
      masterKey: key,
      enforceSSL: true,
    });

    // CloudWatch alarms of this account and Region may publish (with the key) to the
    // topic. The topic policy CDK creates for enforceSSL replaces SNS's default policy, so
    // the publish permission is stated explicitly.
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    };
    const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTopic',
        principals: [cloudwatchPrincipal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudwatchPrincipal],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );

    if (this.props.alarmEmail !== undefined) {
      topic.addSubscription(new subscriptions.EmailSubscription(this.props.alarmEmail));
    }
    return { key, topic };
  }

  // ---- Alarms ------------------------------------------------------------------------

  private createAlarms(): Record<AlarmKey, cloudwatch.Alarm> {
    const p = this.props;
    const thresholdMinutes = p.backlogAgeAlarmThresholdSeconds / 60;
    const alarm = (
      key: AlarmKey,
      id: string,
      metric: cloudwatch.IMetric,
      props: Omit<cloudwatch.CreateAlarmOptions, 'alarmDescription'> & { description: string; anchor: string },
    ): [AlarmKey, cloudwatch.Alarm] => {
      const { description, anchor, ...rest } = props;
      return [
        key,
        new cloudwatch.Alarm(this, id, {
          metric,
          alarmDescription: `${description} Runbook: ${this.runbook(anchor)}`,
          ...rest,
        }),
      ];
    };

    return Object.fromEntries([
      alarm('deadLetterQueue', 'DeadLetterQueueNotEmptyAlarm', queueDepth(p.deadLetterQueue, { period: FIVE_MINUTES }), {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // An idle queue publishes metrics less often; no data means no messages.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        anchor: RUNBOOK.deadLetterQueue,
        description:
          'auto-redrive dead-letter queue is not empty: status-change events that EventBridge could not deliver ' +
          'or the controller failed on after its retries. Those failures were NOT decided on. ' +
          'Fix the cause (see controller errors), then `redrivectl dlq replay`; the reconciliation sweep also ' +
          'finds them within reconcileLookback.',
      }),
      alarm('controllerErrors', 'ControllerErrorsAlarm', lambdaMetric(p.controller, 'Errors', { period: FIVE_MINUTES }), {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        anchor: RUNBOOK.controllerErrors,
        description:
          'The auto-redrive controller Lambda failed in the last 5 minutes. Lambda retries an event twice, then ' +
          "sends it to the dead-letter queue. Read the error in the controller's log group " +
          '(permissions, throttling, a bad deploy) and fix it; `redrivectl pause` stops all redrives meanwhile.',
      }),
      alarm('drainErrors', 'DrainErrorsAlarm', lambdaMetric(p.drain, 'Errors', { period: FIVE_MINUTES }), {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // One failed run is retried by the next tick; 15 minutes of failures are not.
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        anchor: RUNBOOK.drainErrors,
        description:
          'The auto-redrive drain Lambda has failed in each of the last 15 minutes: deferred redrives, abandoned ' +
          "claims and the reconciliation sweep are stuck, and the backlog metrics may be missing. Read the error in the drain's log group and fix it.",
      }),
      alarm('exhaustion', 'ExhaustionAlarm', autoRedriveMetric(METRIC.exhaustions, { period: FIVE_MINUTES }), {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        anchor: RUNBOOK.exhaustion,
        description:
          "A failed execution reached its policy's maxRedrives and will not be redriven again automatically. " +
          `An "${DETAIL_TYPE_EXHAUSTED}" event (source ${OWNER_EVENT_SOURCE}) names it. ` +
          'Investigate with `redrivectl explain <executionArn>`; fix the cause, then redrive by hand if needed.',
      }),
      alarm('backlogAge', 'BacklogAgeAlarm', autoRedriveMetric(METRIC.oldestPendingAge, { statistic: cloudwatch.Stats.MAXIMUM, period: FIVE_MINUTES }), {
        threshold: p.backlogAgeAlarmThresholdSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // The drain reports this every run; a missing value is covered by the drain
        // errors alarm, not guessed at here.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        anchor: RUNBOOK.backlogAge,
        description:
          `The oldest pending redrive is more than ${formatMinutes(thresholdMinutes)} overdue: the drain is not ` +
          'keeping up or cannot redrive (Step Functions throttling, drain errors). Expected while paused ' +
          '(`redrivectl status` shows the kill switch). Check the Deferrals and drain widgets on the dashboard.',
      }),
      alarm('breakerOpen', 'BreakerOpenAlarm', autoRedriveMetric(METRIC.oldestOpenBreakerAge, { statistic: cloudwatch.Stats.MAXIMUM, period: FIVE_MINUTES }), {
        threshold: this.breakerOpenThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // The drain reports it every run (0 with no open breaker); missing data is the drain errors alarm's.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        anchor: RUNBOOK.breakerOpen,
        description:
          `An outage breaker has been open for more than ${formatMinutes(this.breakerOpenThreshold / 60)}: failures of one ` +
          '(state machine, error) are being held, and every probe so far failed with the same error. ' +
          '`redrivectl status` lists open breakers and held counts; fix the downstream, then let the next probe close it or ' +
          '`redrivectl release --state-machine <arn>`. Held failures are given up (owner event) before their 14-day redrive window ends.',
      }),
      alarm('policyInvalid', 'PolicyInvalidAlarm', autoRedriveMetric(METRIC.policyInvalid, { period: FIVE_MINUTES }), {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        anchor: RUNBOOK.policyInvalid,
        description:
          'A redrive policy in the policy table is invalid; failures of the state machines it governs are skipped ' +
          '(reason policy-invalid). `redrivectl policy validate` names the item and fields; fix it with ' +
          '`redrivectl policy put`. The alarm clears once no invalid item is loaded.',
      }),
      alarm('overBudget', 'OverBudgetAlarm', autoRedriveMetric(METRIC.oldestOverBudgetAge, { statistic: cloudwatch.Stats.MAXIMUM, period: FIVE_MINUTES }), {
        threshold: OVER_BUDGET_ALARM_SECONDS,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // The drain reports it every run (0 with nothing held over budget); missing data is the drain errors alarm's.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        anchor: RUNBOOK.overBudget,
        description:
          `A state machine has been at its redrive budget (maxRedrivesPerHour) for more than ${formatMinutes(OVER_BUDGET_ALARM_SECONDS / 60)}: ` +
          'failures over it are held (over-budget) and released oldest first as the budget allows. `redrivectl status` lists the state machines ' +
          'at their budget; find why so many fail, or raise the budget (`redrivectl policy put <key> --max-redrives-per-hour <n>`).',
      }),
    ]) as Record<AlarmKey, cloudwatch.Alarm>;
  }

  // ---- Dashboard ---------------------------------------------------------------------

  private createDashboard(): cloudwatch.Dashboard {
    const p = this.props;
    const fns: Array<[string, lambda.IFunction]> = [
      ['controller', p.controller],
      ['drain', p.drain],
    ];
    const perFunction = (name: 'Errors' | 'Throttles' | 'Duration' | 'ConcurrentExecutions', statistic: string) =>
      fns.map(([label, fn]) => lambdaMetric(fn, name, { statistic, label }));
    const graph = (title: string, width: number, props: Partial<cloudwatch.GraphWidgetProps>) =>
      new cloudwatch.GraphWidget({ title, width, height: 6, ...props });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: p.dashboardName,
      defaultInterval: Duration.hours(3),
    });

    // The canary first: it says whether auto-redrive is redriving at all.
    if (p.canary) dashboard.addWidgets(...canaryWidgets(Stack.of(this), p.canary));
    const alarms = [...(this.canaryAlarm ? [this.canaryAlarm] : []), ...Object.values(this.alarms)];
    dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: this.dashboardText(), width: 12, height: 6 }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 12, height: 6 }),
    );

    // What the controller decided and did.
    dashboard.addWidgets(
      graph('Decisions by outcome', 8, {
        left: OUTCOMES.map((o) => decisionsOfOutcome(o)),
        stacked: true,
      }),
      graph('Decisions by outcome and reason', 8, { left: [decisionsByReason()] }),
      graph('Redrives (and those that then succeeded), exhaustions, deferrals', 8, {
        left: [
          autoRedriveMetric(METRIC.redrives, { label: 'Redrives' }),
          autoRedriveMetric(METRIC.redrivesSucceeded, { label: 'Redrives that then succeeded' }),
          autoRedriveMetric(METRIC.exhaustions, { label: 'Exhaustions' }),
          deferralsByReason({ label: 'Deferred' }),
          autoRedriveMetric(METRIC.reconciled, { label: 'Found by reconciliation' }),
        ],
      }),
    );

    // The drain's backlog, API latency, bad input.
    dashboard.addWidgets(
      graph('Pending backlog and oldest overdue age', 8, {
        left: [autoRedriveMetric(METRIC.pendingBacklog, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Pending redrives' })],
        right: [autoRedriveMetric(METRIC.oldestPendingAge, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Oldest overdue (s)' })],
        rightAnnotations: [{ value: p.backlogAgeAlarmThresholdSeconds, label: 'Alarm threshold' }],
        leftYAxis: { min: 0 },
        rightYAxis: { min: 0 },
      }),
      graph('RedriveExecution latency', 8, {
        left: [
          autoRedriveMetric(METRIC.redriveLatency, { statistic: cloudwatch.Stats.p(50), label: 'p50 (ms)' }),
          autoRedriveMetric(METRIC.redriveLatency, { statistic: cloudwatch.Stats.p(99), label: 'p99 (ms)' }),
        ],
      }),
      graph('Malformed events and invalid policies', 8, {
        left: [
          autoRedriveMetric(METRIC.malformedEvents, { label: 'Malformed events' }),
          autoRedriveMetric(METRIC.policyInvalid, { label: 'Invalid policy loads' }),
          // Emitted by the policy writer of the stacks that deploy RedrivePolicy items.
          autoRedriveMetric(METRIC.managedPolicyOverwritten, { label: 'Hand edits overwritten by a deploy' }),
        ],
      }),
    );

    // The outage breakers: open groups, held failures, probes, transitions.
    dashboard.addWidgets(
      graph('Outage breakers: open, held failures; parked failures', 8, {
        left: [autoRedriveMetric(METRIC.openBreakers, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Open breakers' })],
        right: [
          autoRedriveMetric(METRIC.heldBacklog, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Held failures' }),
          // Held or pending failures skipped for now (paused, policy disabled, ...): back when that changes.
          autoRedriveMetric(METRIC.parkedFailures, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Parked failures' }),
        ],
        leftYAxis: { min: 0 },
        rightYAxis: { min: 0 },
      }),
      graph('Breakers opened and closed (by reason); longest open', 8, {
        left: [autoRedriveMetric(METRIC.breakerOpened, { label: 'Opened' }), seriesByDimension(METRIC.breakerClosed, { label: 'Closed' })],
        right: [autoRedriveMetric(METRIC.oldestOpenBreakerAge, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Longest open (s)' })],
        rightAnnotations: [{ value: this.breakerOpenThreshold, label: 'Alarm threshold' }],
        rightYAxis: { min: 0 },
      }),
      graph('Probes by outcome; failures held by reason', 8, {
        left: [seriesByDimension(METRIC.probes, { label: 'Probes' })],
        right: [seriesByDimension(METRIC.heldFailures, { label: 'Held' })],
      }),
    );

    // Approval before redrive and redrive budgets (lib/safety-controls-widgets.ts).
    const safety = safetyControlWidgets();
    dashboard.addWidgets(...safety.approval);
    dashboard.addWidgets(...safety.budget);

    // The Lambdas and the dead-letter queue.
    const reserved = p.reservedConcurrency === undefined || Token.isUnresolved(p.reservedConcurrency) ? [] : [{ value: p.reservedConcurrency, label: 'Controller reserved concurrency' }];
    dashboard.addWidgets(
      graph('Lambda errors', 5, { left: perFunction('Errors', cloudwatch.Stats.SUM) }),
      graph('Lambda throttles', 5, { left: perFunction('Throttles', cloudwatch.Stats.SUM) }),
      graph('Lambda duration p99 (ms)', 5, { left: perFunction('Duration', cloudwatch.Stats.p(99)) }),
      graph('Lambda concurrent executions', 5, {
        left: perFunction('ConcurrentExecutions', cloudwatch.Stats.MAXIMUM),
        leftAnnotations: reserved,
      }),
      graph('Dead-letter queue depth', 4, { left: [queueDepth(p.deadLetterQueue, { label: 'Messages visible' })] }),
    );

    // Step Functions' own redrive metrics of the watched state machines.
    const states = (name: StatesRedriveMetricName): cloudwatch.IMetric[] =>
      p.stateMachineArns ? p.stateMachineArns.map((arn) => statesRedriveMetric(name, arn)) : [statesRedriveSearch(name)];
    const scope = p.stateMachineArns ? 'watched state machines' : 'all state machines';
    dashboard.addWidgets(
      graph(`Executions redriven (Step Functions, ${scope})`, 12, { left: states('ExecutionsRedriven') }),
      graph('Redriven executions that succeeded', 12, { left: states('RedrivenExecutionsSucceeded') }),
    );
    dashboard.addWidgets(
      graph('Redriven executions that failed again', 8, { left: states('RedrivenExecutionsFailed') }),
      graph('Redriven executions that timed out', 8, { left: states('RedrivenExecutionsTimedOut') }),
      graph('Redriven executions that were aborted', 8, { left: states('RedrivenExecutionsAborted') }),
    );
    return dashboard;
  }

  private dashboardText(): string {
    const link = (text: string, anchor: string) => `[${text}](${this.runbook(anchor)})`;
    return [
      '## auto-redrive',
      `Redrives failed Step Functions Standard executions per the policy table. Metrics: namespace \`${METRICS_NAMESPACE}\`, ` +
        `dimension \`${SERVICE_DIMENSION}=${SERVICE_NAME}\`; Step Functions' own redrive metrics: \`${AWS_METRICS.states.namespace}\`.`,
      '',
      `**Runbook** (${link('overview', RUNBOOK.overview)}):`,
      `- ${link('Dead-letter queue not empty', RUNBOOK.deadLetterQueue)}`,
      `- ${link('Controller errors', RUNBOOK.controllerErrors)} / ${link('drain errors', RUNBOOK.drainErrors)}`,
      `- ${link('Redrives exhausted', RUNBOOK.exhaustion)}`,
      `- ${link('Backlog too old', RUNBOOK.backlogAge)}`,
      `- ${link('Invalid policy', RUNBOOK.policyInvalid)}`,
      `- ${link('Breaker open too long', RUNBOOK.breakerOpen)}`,
      ...(this.props.canary ? [`- ${link('auto-redrive is not redriving in this account', RUNBOOK.canary)} (the canary)`] : []),
      `- ${link('Over budget too long', RUNBOOK.overBudget)}`,
      '',
      'Per state machine: the Step Functions widgets below (redrives and their results, by StateMachineArn). ' +
        `Exhaustions are not per state machine here; each one is an "${DETAIL_TYPE_EXHAUSTED}" event naming the execution.`,
      'Per execution: `redrivectl explain <executionArn>`; overall: `redrivectl status`; stop everything: `redrivectl pause`.',
    ].join('\n');
  }
}

function formatMinutes(minutes: number): string {
  return Number.isInteger(minutes) ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${minutes * 60} seconds`;
}
