/**
 * The CDK side of the metrics contract: every CloudWatch metric the dashboard and the
 * alarms use is built here, and only here, from `lambda/observability/metrics-contract.ts`
 * (namespace, metric names, dimension names) plus a short allow-list of AWS-published
 * metrics. test/lib/observability.test.ts checks the synthesized dashboard and alarms
 * against this module and this module against the Lambda source.
 *
 * How the Lambda emits (lambda/observability/telemetry.ts): every data point is a
 * Powertools `singleMetric()` with its own dimensions. Powertools adds its default
 * dimension `service` = POWERTOOLS_SERVICE_NAME (SERVICE_NAME) to every one of them, and
 * the EMF dimension set is exactly [service, ...the dimensions the call passed]. A
 * CloudWatch metric is identified by its full dimension set, so a dashboard metric or
 * alarm without `service` (or with a dimension the Lambda does not send) would match
 * nothing and stay empty without any error.
 *
 * Why not cdk-monitoring-constructs: it is not a dependency of this project (and nothing
 * is added for this), and its value is generic widgets for AWS-published metrics. The
 * part that can silently break here is the custom metrics' exact dimension sets, which
 * that library cannot know either; a dozen explicit metrics in one module, checked by a
 * test against the emitting code, keeps the dashboard and alarms honest with no extra
 * dependency or its upgrade cadence.
 */
import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { DECISION_KINDS } from '../contract/decisions';
import {
  DIMENSION,
  METRIC,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  type MetricName,
} from '../contract/metrics';

/** The default dimension Powertools Metrics adds to every data point (value: SERVICE_NAME). */
export const SERVICE_DIMENSION = 'service';

/**
 * The dimensions (besides `service`) each metric is emitted with, as the Lambda's call
 * sites pass them. Typed over every MetricName, so a metric added to the contract must be
 * listed here; the test reads the Lambda source to keep this table exact.
 */
export const EMITTED_DIMENSIONS: { readonly [N in MetricName]: readonly string[] } = {
  [METRIC.decisions]: [DIMENSION.outcome, DIMENSION.reason],
  [METRIC.redrives]: [],
  [METRIC.redrivesSucceeded]: [],
  [METRIC.exhaustions]: [],
  [METRIC.malformedEvents]: [],
  [METRIC.policyInvalid]: [],
  [METRIC.redriveLatency]: [],
  [METRIC.deferrals]: [DIMENSION.reason],
  [METRIC.pendingBacklog]: [],
  [METRIC.oldestPendingAge]: [],
  [METRIC.reconciled]: [],
  [METRIC.managedPolicyOverwritten]: [],
  [METRIC.breakerOpened]: [],
  [METRIC.breakerClosed]: [DIMENSION.reason],
  [METRIC.probes]: [DIMENSION.outcome],
  [METRIC.heldFailures]: [DIMENSION.reason],
  [METRIC.heldBacklog]: [],
  [METRIC.parkedFailures]: [],
  [METRIC.openBreakers]: [],
  [METRIC.oldestOpenBreakerAge]: [],
  [METRIC.canaryRecoveries]: [DIMENSION.account, DIMENSION.region],
  [METRIC.canaryRecoverySeconds]: [DIMENSION.account, DIMENSION.region],
  [METRIC.awaitingApproval]: [],
  [METRIC.budgetReached]: [],
  [METRIC.overBudgetHeld]: [],
  [METRIC.oldestOverBudgetAge]: [],
};

/** Values of the Decisions metric's Outcome dimension: the decision kinds. */
export const OUTCOMES = DECISION_KINDS;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * AWS-published metrics the dashboard and alarms may use: namespace, the one dimension
 * they are read by, and the metric names.
 */
export const AWS_METRICS = {
  lambda: {
    namespace: 'AWS/Lambda',
    dimension: 'FunctionName',
    names: ['Errors', 'Throttles', 'Duration', 'ConcurrentExecutions'],
  },
  sqs: {
    namespace: 'AWS/SQS',
    dimension: 'QueueName',
    names: ['ApproximateNumberOfMessagesVisible'],
  },
  /** Step Functions' redrive metrics (Standard workflows), per StateMachineArn. */
  states: {
    namespace: 'AWS/States',
    dimension: 'StateMachineArn',
    names: [
      'ExecutionsRedriven',
      'RedrivenExecutionsSucceeded',
      'RedrivenExecutionsFailed',
      'RedrivenExecutionsTimedOut',
      'RedrivenExecutionsAborted',
    ],
  },
} as const;

export type LambdaMetricName = (typeof AWS_METRICS.lambda.names)[number];
export type StatesRedriveMetricName = (typeof AWS_METRICS.states.names)[number];

/** Rendering and aggregation options shared by the builders. */
export interface MetricOptions {
  /** @default Stats.SUM */
  readonly statistic?: string;
  /** @default Duration.minutes(5) */
  readonly period?: Duration;
  /** @default - CloudWatch's default label */
  readonly label?: string;
  /** @default - automatic */
  readonly color?: string;
}

const DEFAULT_PERIOD = Duration.minutes(5);

/** `options` over the defaults: `statistic` (Sum unless given) and five minutes. */
function rendering(options: MetricOptions, statistic: string = cloudwatch.Stats.SUM) {
  return {
    statistic: options.statistic ?? statistic,
    period: options.period ?? DEFAULT_PERIOD,
    label: options.label,
    color: options.color,
  };
}

/** A math expression over SEARCH()es built for the expression's period. */
function searchExpression(
  options: MetricOptions,
  defaultLabel: string,
  expression: (period: Duration) => string,
): cloudwatch.MathExpression {
  const period = options.period ?? DEFAULT_PERIOD;
  return new cloudwatch.MathExpression({ expression: expression(period), label: options.label ?? defaultLabel, color: options.color, period });
}

// ---- auto-redrive's own metrics (namespace AutoRedrive) ------------------------------

/**
 * One auto-redrive metric with exactly the dimension set the Lambda emits it with:
 * `service` plus `dimensions`, whose names must be the metric's EMITTED_DIMENSIONS.
 */
export function autoRedriveMetric(
  name: MetricName,
  options: MetricOptions & { readonly dimensions?: Readonly<Record<string, string>> } = {},
): cloudwatch.Metric {
  const dimensions = options.dimensions ?? {};
  const expected = [...EMITTED_DIMENSIONS[name]].sort();
  const given = Object.keys(dimensions).sort();
  if (given.join() !== expected.join()) {
    throw new Error(
      `metrics: ${name} is emitted with dimensions [${[SERVICE_DIMENSION, ...expected].join(', ')}]; ` +
        `a metric with [${[SERVICE_DIMENSION, ...given].join(', ')}] would match no data. ` +
        'Use autoRedriveSearch() to aggregate over a dimension.',
    );
  }
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { [SERVICE_DIMENSION]: SERVICE_NAME, ...dimensions },
    ...rendering(options),
  });
}

/**
 * The text of a CloudWatch SEARCH() over one auto-redrive metric: the schema is the
 * metric's full emitted dimension set (so it matches exactly those time series), filtered
 * by `service` and by exact values of some of its dimensions.
 */
export function autoRedriveSearch(
  name: MetricName,
  filter: Readonly<Record<string, string>> = {},
  statistic: string = cloudwatch.Stats.SUM,
  period: Duration = DEFAULT_PERIOD,
): string {
  const emitted = EMITTED_DIMENSIONS[name];
  for (const key of Object.keys(filter)) {
    if (!emitted.includes(key)) throw new Error(`metrics: ${name} has no dimension ${key} (it has ${emitted.join(', ') || 'none'} besides service)`);
  }
  const schema = [METRICS_NAMESPACE, ...[SERVICE_DIMENSION, ...emitted].sort()].join(',');
  const terms = [`MetricName="${name}"`, `${SERVICE_DIMENSION}="${SERVICE_NAME}"`, ...Object.entries(filter).map(([k, v]) => `${k}="${v}"`)];
  return search(schema, terms, statistic, period);
}

/** Decisions of one outcome (all reasons summed): one time series. */
export function decisionsOfOutcome(outcome: Outcome, options: MetricOptions = {}): cloudwatch.MathExpression {
  return searchExpression(options, outcome, (period) =>
    `SUM(${autoRedriveSearch(METRIC.decisions, { [DIMENSION.outcome]: outcome }, options.statistic, period)})`);
}

/** Every (Outcome, Reason) series of Decisions, or only those of one outcome. */
export function decisionsByReason(outcome?: Outcome, options: MetricOptions = {}): cloudwatch.MathExpression {
  return searchExpression(options, '', (period) =>
    autoRedriveSearch(METRIC.decisions, outcome ? { [DIMENSION.outcome]: outcome } : {}, options.statistic, period));
}

/** Deferrals, one series per Reason (rate-limited or the Step Functions error name). */
export function deferralsByReason(options: MetricOptions = {}): cloudwatch.MathExpression {
  return searchExpression(options, 'Deferrals', (period) => autoRedriveSearch(METRIC.deferrals, {}, options.statistic, period));
}

/** One series per value of the metric's one dimension (BreakerClosed by Reason, Probes by Outcome, ...). */
export function seriesByDimension(name: MetricName, options: MetricOptions = {}): cloudwatch.MathExpression {
  const period = options.period ?? DEFAULT_PERIOD;
  return new cloudwatch.MathExpression({
    expression: autoRedriveSearch(name, {}, options.statistic, period),
    label: options.label ?? '',
    period,
  });
}

// ---- AWS-published metrics ----------------------------------------------------------

/** An AWS/Lambda metric of one function (dimension FunctionName). */
export function lambdaMetric(fn: lambda.IFunction, name: LambdaMetricName, options: MetricOptions = {}): cloudwatch.Metric {
  return fn.metric(name, rendering(options));
}

/** Messages waiting in a queue (AWS/SQS ApproximateNumberOfMessagesVisible, Maximum). */
export function queueDepth(queue: sqs.IQueue, options: MetricOptions = {}): cloudwatch.Metric {
  return queue.metric(AWS_METRICS.sqs.names[0], rendering(options, cloudwatch.Stats.MAXIMUM));
}

/** A Step Functions redrive metric of one state machine (AWS/States, StateMachineArn). */
export function statesRedriveMetric(
  name: StatesRedriveMetricName,
  stateMachineArn: string,
  options: MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: AWS_METRICS.states.namespace,
    metricName: name,
    dimensionsMap: { [AWS_METRICS.states.dimension]: stateMachineArn },
    ...rendering(options),
    label: options.label ?? (Token.isUnresolved(stateMachineArn) ? undefined : stateMachineArn.split(':').pop()),
  });
}

/**
 * A Step Functions redrive metric of every state machine of the account and Region, one
 * series per StateMachineArn. The schema {AWS/States,StateMachineArn} matches the series
 * whose only dimension is StateMachineArn; series that also carry a Version or Alias
 * dimension (executions started from a version or alias) are not included.
 */
export function statesRedriveSearch(name: StatesRedriveMetricName, options: MetricOptions = {}): cloudwatch.MathExpression {
  const schema = `${AWS_METRICS.states.namespace},${AWS_METRICS.states.dimension}`;
  return searchExpression(options, '', (period) =>
    search(schema, [`MetricName="${name}"`], options.statistic ?? cloudwatch.Stats.SUM, period));
}

function search(schema: string, terms: string[], statistic: string, period: Duration): string {
  return `SEARCH('{${schema}} ${terms.join(' ')}', '${statistic}', ${period.toSeconds()})`;
}
