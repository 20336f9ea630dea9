/**
 * The doctor's AWS calls: thin adapters, each taking its SDK client (tests pass clients
 * mocked with aws-sdk-client-mock; --local passes clients pointed at the stand-ins). They
 * return plain values and let errors through: the checks decide what an error means.
 */
import { CloudFormationClient, DescribeStacksCommand, ListStackResourcesCommand, type StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ListServiceQuotasCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { DescribeStateMachineCommand, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';

export interface StackDescription {
  readonly stackId: string;
  readonly status: string;
  readonly createdAt: number | undefined;
  readonly outputs: Record<string, string>;
}

export async function describeStack(cfn: CloudFormationClient, stackName: string): Promise<StackDescription> {
  const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  const stack = out.Stacks?.[0];
  if (!stack) throw Object.assign(new Error(`Stack with id ${stackName} does not exist`), { name: 'ValidationError' });
  return {
    stackId: stack.StackId ?? '',
    status: stack.StackStatus ?? 'UNKNOWN',
    createdAt: stack.CreationTime?.getTime(),
    outputs: Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? ''])),
  };
}

/** The stack's resources of one type (every page; a stack has at most 500 resources). */
export async function stackResources(cfn: CloudFormationClient, stackName: string, type: string): Promise<StackResourceSummary[]> {
  const found: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token }));
    found.push(...(page.StackResourceSummaries ?? []).filter((r) => r.ResourceType === type));
    token = page.NextToken;
  } while (token);
  return found;
}

export interface RuleDescription {
  readonly name: string;
  readonly bus: string;
  readonly state: string;
  readonly targets: ReadonlyArray<{ readonly id: string; readonly arn: string }>;
}

export async function describeRule(events: EventBridgeClient, name: string, bus: string): Promise<RuleDescription> {
  const rule = await events.send(new DescribeRuleCommand({ Name: name, EventBusName: bus }));
  const targets: Array<{ id: string; arn: string }> = [];
  let token: string | undefined;
  do {
    const page = await events.send(new ListTargetsByRuleCommand({ Rule: name, EventBusName: bus, NextToken: token }));
    targets.push(...(page.Targets ?? []).map((t) => ({ id: t.Id ?? '', arn: t.Arn ?? '' })));
    token = page.NextToken;
  } while (token);
  return { name, bus, state: rule.State ?? 'UNKNOWN', targets };
}

export async function functionRole(lambda: LambdaClient, functionName: string): Promise<{ functionArn: string; roleArn: string }> {
  const out = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  return { functionArn: out.FunctionArn ?? '', roleArn: out.Role ?? '' };
}

export interface LambdaHealth {
  readonly functionName: string;
  readonly invocations: number;
  readonly errors: number;
}

/** Sum of AWS/Lambda Invocations and Errors per function over [start, end]. */
export async function lambdaHealth(cloudwatch: CloudWatchClient, functionNames: readonly string[], start: number, end: number): Promise<LambdaHealth[]> {
  const queries = functionNames.flatMap((fn, i) =>
    (['Invocations', 'Errors'] as const).map((metric) => ({
      Id: `${metric.toLowerCase()}${i}`,
      MetricStat: {
        Metric: { Namespace: 'AWS/Lambda', MetricName: metric, Dimensions: [{ Name: 'FunctionName', Value: fn }] },
        Period: Math.max(60, Math.ceil((end - start) / 1000 / 60) * 60),
        Stat: 'Sum',
      },
    })),
  );
  const out = await cloudwatch.send(new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(start), EndTime: new Date(end) }));
  const sum = (id: string) => (out.MetricDataResults ?? []).filter((r) => r.Id === id).flatMap((r) => r.Values ?? []).reduce((a, b) => a + b, 0);
  return functionNames.map((functionName, i) => ({ functionName, invocations: sum(`invocations${i}`), errors: sum(`errors${i}`) }));
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
}

export interface MachineSummary {
  readonly arn: string;
  readonly name: string;
  readonly type: string;
}

/** Every state machine of the account and Region, up to `maxPages` pages of 1,000. */
export async function listStateMachines(sfn: SFNClient, maxPages = 20): Promise<{ machines: MachineSummary[]; complete: boolean }> {
  const machines: MachineSummary[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ maxResults: 1000, nextToken: token }));
    machines.push(...(page.stateMachines ?? []).map((m) => ({ arn: m.stateMachineArn ?? '', name: m.name ?? '', type: m.type ?? 'STANDARD' })));
    token = page.nextToken;
    pages++;
  } while (token && pages < maxPages);
  return { machines, complete: !token };
}

/** The state machine's type (STANDARD | EXPRESS), or undefined when it does not exist. */
export async function stateMachineType(sfn: SFNClient, arn: string): Promise<string | undefined> {
  try {
    const out = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    return out.type ?? 'STANDARD';
  } catch (e) {
    if ((e as { name?: string }).name === 'StateMachineDoesNotExist') return undefined;
    throw e;
  }
}

/** When the newest execution with `status` stopped (ListExecutions is newest first), or undefined. */
export async function lastStopped(sfn: SFNClient, stateMachineArn: string, status: 'FAILED' | 'TIMED_OUT'): Promise<number | undefined> {
  const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: status, maxResults: 1 }));
  const e = out.executions?.[0];
  return e ? (e.stopDate ?? e.startDate)?.getTime() : undefined;
}

export interface SimulatedDecision {
  readonly resource: string;
  /** allowed | explicitDeny | implicitDeny */
  readonly decision: string;
}

/** IAM's policy simulator: may `roleArn` call `action` on each resource (identity policies, boundaries, SCPs)? */
export async function simulate(iam: IAMClient, roleArn: string, action: string, resources: readonly string[]): Promise<SimulatedDecision[]> {
  const decisions: SimulatedDecision[] = [];
  // The simulator takes a bounded list of resources per call.
  for (let i = 0; i < resources.length; i += 20) {
    let marker: string | undefined;
    do {
      const out = await iam.send(
        new SimulatePrincipalPolicyCommand({ PolicySourceArn: roleArn, ActionNames: [action], ResourceArns: resources.slice(i, i + 20), Marker: marker }),
      );
      decisions.push(...(out.EvaluationResults ?? []).map((r) => ({ resource: r.EvalResourceName ?? '', decision: r.EvalDecision ?? 'implicitDeny' })));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
  }
  return decisions;
}

/** Step Functions' quotas as Service Quotas lists them: name -> value (at most `maxPages` pages). */
export async function stepFunctionsQuotas(quotas: ServiceQuotasClient, maxPages = 5): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await quotas.send(new ListServiceQuotasCommand({ ServiceCode: 'states', NextToken: token }));
    for (const q of page.Quotas ?? []) if (q.QuotaName && typeof q.Value === 'number') found.set(q.QuotaName, q.Value);
    token = page.NextToken;
    pages++;
  } while (token && pages < maxPages);
  return found;
}

export type { CloudFormationClient, CloudWatchClient, EventBridgeClient, IAMClient, LambdaClient, ServiceQuotasClient, SFNClient, SQSClient };
