/**
 * IAM of both constructs: the Step Functions resources derived from the watched state
 * machines (the same shape for the central Lambdas and the member role), and the grants of
 * the controller and drain Lambdas. Exactly the actions the Lambda code sends
 * (test/hardening/iam.test.ts checks them against lambda/**).
 */
import { Arn, ArnFormat, Aws, type Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { ResolvedOrganization } from './resolve-props';

/** `arn:…:execution:<name>:*`: every execution of the given state machine (works for tokens too). */
export function executionsOf(stack: Stack, stateMachineArn: string): string {
  const c = Arn.split(stateMachineArn, ArnFormat.COLON_RESOURCE_NAME);
  return Arn.format(
    {
      partition: c.partition,
      service: 'states',
      region: c.region,
      account: c.account,
      resource: 'execution',
      resourceName: `${c.resourceName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    stack,
  );
}

export interface StepFunctionsResources {
  /** True when the permissions are narrowed to listed state machines. */
  readonly narrowed: boolean;
  readonly executions: string[];
  readonly stateMachines: string[];
  /** The wildcard state machine resources (none when narrowed). */
  readonly wildcardStateMachines: string[];
  /** How many Regions the wildcard resources cover (`*` for every Region). */
  readonly regionCount: number | '*';
}

/**
 * This account's Step Functions resources the central Lambdas act on: the listed state
 * machines, or every state machine in the stack's Region (plus, in organization mode, every
 * served Region: the controller's own account is reached with its own role there too).
 */
export function stepFunctionsResources(
  stack: Stack,
  arns: readonly string[] | undefined,
  servedRegions: readonly string[] = [stack.region],
): StepFunctionsResources {
  if (arns) return narrowedTo(stack, arns);
  const regions = [stack.region, ...servedRegions.filter((r) => r !== stack.region)];
  const all = (resource: string, resourceName: string): string[] =>
    regions.map((region) =>
      stack.formatArn({ service: 'states', region, resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    );
  const stateMachines = all('stateMachine', '*');
  return { narrowed: false, regionCount: regions.length, executions: all('execution', '*:*'), stateMachines, wildcardStateMachines: stateMachines };
}

/**
 * Step Functions resources of the member role. The account is the deploying account
 * (AWS::AccountId, so one template serves every account of a StackSet) and the Region is
 * `*`: the role is global and the central controller may serve several Regions.
 */
export function memberStepFunctionsResources(stack: Stack, arns: readonly string[] | undefined): StepFunctionsResources {
  if (arns) return narrowedTo(stack, arns);
  const all = (resource: string): string => `arn:${Aws.PARTITION}:states:*:${Aws.ACCOUNT_ID}:${resource}`;
  const stateMachines = [all('stateMachine:*')];
  return { narrowed: false, regionCount: '*', executions: [all('execution:*:*')], stateMachines, wildcardStateMachines: stateMachines };
}

function narrowedTo(stack: Stack, arns: readonly string[]): StepFunctionsResources {
  const executions = arns.map((arn) => executionsOf(stack, arn));
  return { narrowed: true, regionCount: 1, executions, stateMachines: [...arns], wildcardStateMachines: [] };
}

export interface LambdaGrants {
  readonly controller: lambda.IFunction;
  readonly drain: lambda.IFunction;
  readonly policyTable: dynamodb.ITable;
  readonly ledgerTable: dynamodb.ITable;
  readonly stepFunctions: StepFunctionsResources;
  /** Where the Lambdas publish their own events, if they do. */
  readonly eventBus: events.IEventBus | undefined;
  readonly organization: ResolvedOrganization | undefined;
}

/** The permissions of the controller and the drain (the drain also runs the reconciliation sweep). */
export function grantLambdaPermissions(stack: Stack, g: LambdaGrants): void {
  for (const fn of [g.controller, g.drain]) {
    // Exactly the DynamoDB actions the Lambda code sends, not grantReadData's and
    // grantReadWriteData's wider sets. Table.grant also covers the table's indexes (the
    // ledger's byDue).
    g.policyTable.grant(fn, 'dynamodb:Scan');
    g.ledgerTable.grant(fn, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query');
    iam.Grant.addToPrincipal({
      grantee: fn,
      // GetExecutionHistory: the failed state, for state-scoped policies (neverAtStates, onlyAtStates).
      actions: ['states:RedriveExecution', 'states:DescribeExecution', 'states:GetExecutionHistory'],
      resourceArns: g.stepFunctions.executions,
    });
    g.eventBus?.grantPutEventsTo(fn);
  }
  // Reconciliation sweep, and a probe's look for a success since its breaker opened (drain only).
  iam.Grant.addToPrincipal({ grantee: g.drain, actions: ['states:ListExecutions'], resourceArns: g.stepFunctions.stateMachines });
  iam.Grant.addToPrincipal({ grantee: g.drain, actions: ['states:ListStateMachines'], resourceArns: ['*'] });

  // Organization mode: member accounts are reached through their member role only.
  const org = g.organization;
  if (org) {
    const memberRoles = org.memberAccounts.map((account) =>
      stack.formatArn({ service: 'iam', region: '', account, resource: 'role', resourceName: org.memberRoleName }),
    );
    for (const fn of [g.controller, g.drain]) {
      iam.Grant.addToPrincipal({ grantee: fn, actions: ['sts:AssumeRole'], resourceArns: memberRoles });
    }
  }
}
