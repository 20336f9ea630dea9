/**
 * cdk-nag (v3) acknowledgments of both constructs, each with its reason. cdk-nag v3 reads
 * CDK's native `Validations.of(x).acknowledge()` records; an acknowledgment on a construct
 * covers the resources under it, and an IAM5 finding is acknowledged by its exact id
 * `AwsSolutions-IAM5[Resource::<rendered ARN>]`, so each wildcard is listed explicitly.
 */
import { type Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import type { StepFunctionsResources } from './permissions';

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

/** The IAM5 finding id of a wildcard policy resource. */
function iam5(stack: Stack, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${nagResource(stack, resource)}]`;
}

const LIST_STATE_MACHINES =
  'states:ListStateMachines has no resource-level permissions (the Service Authorization ' +
  'Reference lists no resource type for it), so "*" is the only valid resource. The ';

export interface AutoRedriveNagScope {
  readonly controller: lambda.Function;
  readonly drain: lambda.Function;
  readonly ledgerTable: dynamodb.ITable;
  readonly stepFunctions: StepFunctionsResources;
}

/** The central construct: wildcard execution and index resources, the pinned runtime, the sweep's listing. */
export function acknowledgeAutoRedriveFindings(stack: Stack, c: AutoRedriveNagScope): void {
  const sfn = c.stepFunctions;
  const executionReason =
    'Execution ARNs embed execution ids that are not known in advance; the resource is limited to ' +
    (sfn.narrowed
      ? 'executions of the listed state machines'
      : `executions of this account's state machines in ${sfn.regionCount === 1 ? 'this Region' : 'the served Regions'}`) +
    ' (execution:<stateMachine>:*).';

  for (const fn of [c.controller, c.drain]) {
    // IAM findings are reported on the role's DefaultPolicy, so acknowledge on the role.
    const v = Validations.of(fn.role!);
    for (const resource of sfn.executions) v.acknowledge({ id: iam5(stack, resource), reason: executionReason });
    v.acknowledge({
      id: iam5(stack, `${c.ledgerTable.tableArn}/index/*`),
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

  const drain = Validations.of(c.drain.role!);
  drain.acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `${LIST_STATE_MACHINES}drain needs it to find the state machines a policy pattern matches.`,
  });
  for (const resource of sfn.wildcardStateMachines) {
    drain.acknowledge({
      id: iam5(stack, resource),
      reason:
        "states:ListExecutions for the reconciliation sweep (and a probe's look for a success since its breaker opened) on this account and Region's state " +
        'machines (stateMachine:*): which machines have policies is data in the policy table, ' +
        'not known at deploy time. Set stateMachineArns to narrow it.',
    });
  }
  // No SQS3 acknowledgment: cdk-nag recognises the queue as the controller's DLQ.
}

export interface MemberNagScope {
  readonly deadLetterQueue: sqs.IQueue;
  readonly role: iam.IRole;
  readonly stepFunctions: StepFunctionsResources;
}

/** The member construct: its forwarding DLQ and the member role's wildcard resources. */
export function acknowledgeMemberFindings(stack: Stack, m: MemberNagScope): void {
  const sfn = m.stepFunctions;
  Validations.of(m.deadLetterQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself the dead-letter queue of the forwarding rule target (DeadLetterConfig ' +
      'of the event bus target); cdk-nag only recognises queues named in a RedrivePolicy or a Lambda ' +
      'DLQ. A dead-letter queue of a dead-letter queue would only hide the same events one level deeper.',
  });
  const v = Validations.of(m.role);
  const scope = sfn.narrowed ? 'the listed state machines' : "this account's state machines, in every Region";
  for (const resource of sfn.executions) {
    v.acknowledge({
      id: iam5(stack, resource),
      reason:
        'Execution ARNs embed execution ids that are not known in advance; the resource is limited to ' +
        `executions of ${scope} (execution:<stateMachine>:*). The Region is a wildcard because IAM is ` +
        'global: one role serves every Region the central controller covers.',
    });
  }
  for (const resource of sfn.wildcardStateMachines) {
    v.acknowledge({
      id: iam5(stack, resource),
      reason:
        "states:ListExecutions for the central reconciliation sweep (and a probe's look for a success since its breaker opened) on this account's state machines " +
        '(stateMachine:*, every Region): which machines have policies is data in the central policy ' +
        'table, not known at deploy time. Set stateMachineArns to narrow it.',
    });
  }
  v.acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `${LIST_STATE_MACHINES}central sweep needs it to find the state machines a policy pattern matches.`,
  });
}

export interface CanaryNagScope {
  readonly stateMachine: IConstruct;
  readonly role: iam.IRole;
  /** `execution:<canary name>:*`, the canary role's one resource. */
  readonly ownExecutions: string;
}

/** The canary (lib/canary.ts): its own executions, and no logging or tracing of a constant, input-free run. */
export function acknowledgeCanaryFindings(stack: Stack, c: CanaryNagScope): void {
  Validations.of(c.role).acknowledge({
    id: iam5(stack, c.ownExecutions),
    reason:
      "states:DescribeExecution on the canary's own executions only (execution:<canary name>:*): the canary's " +
      'Task describes the execution it runs in, whose id is not known in advance.',
  });
  const v = Validations.of(c.stateMachine);
  v.acknowledge({
    id: 'AwsSolutions-SF1',
    reason:
      'The canary runs one Task with a constant, empty input every interval; its outcome is its execution ' +
      'history and the CanaryRecoveries metric. Logging to CloudWatch Logs would need logs:*Delivery on "*" ' +
      "in the canary's role, which may otherwise only describe its own executions.",
  });
  v.acknowledge({
    id: 'AwsSolutions-SF2',
    reason:
      'X-Ray tracing of the canary would trace one DescribeExecution call per interval and need ' +
      "xray:PutTraceSegments on \"*\" in the canary's role, which may otherwise only describe its own executions.",
  });
}
