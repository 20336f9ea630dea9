import { Aws, CfnCondition, CfnOutput, CfnResource, Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { RedrivableStatus } from '../contract/event-pattern';
import { SETTINGS } from '../contract/settings';
import { AutoRedriveCanary, checkCanarySettings } from './canary';
import { acknowledgeMemberFindings } from './nag';
import { memberStepFunctionsResources } from './permissions';
import { createDeadLetterQueue, statusChangeEventPattern } from './resources';
import {
  PropValidator,
  eventBusArnProblem,
  externalIdProblem,
  organizationIdProblem,
  regionProblem,
  roleArnProblem,
  roleNameProblem,
  stateMachineArnProblem,
} from './validation';

/** The only Step Functions actions the member role allows. */
export const MEMBER_ROLE_ACTIONS = [
  'states:RedriveExecution',
  'states:DescribeExecution',
  'states:ListExecutions',
  'states:ListStateMachines',
  // The failed state, for state-scoped policies (neverAtStates, onlyAtStates).
  'states:GetExecutionHistory',
] as const;

/** Properties of {@link AutoRedriveMember}. */
export interface AutoRedriveMemberProps {
  /**
   * ARN of the central controller's event bus (the `CentralEventBusArn` output of the
   * central AutoRedrive stack). The status-change events of this account and Region are
   * forwarded to it; it may be in another account and another Region.
   */
  readonly centralEventBusArn: string;

  /**
   * ARNs of the central controller's and drain's execution roles (the `ControllerRoleArn`
   * and `DrainRoleArn` outputs of the central stack). Only these roles may assume the
   * member role.
   */
  readonly controllerRoleArns: readonly string[];

  /**
   * The external id the central controller passes to sts:AssumeRole (the central
   * `organization.externalId`). 2 to 1224 characters of letters, digits and `_+=,.@:/-`.
   * A confused-deputy guard, not a credential: see docs/organizations.md.
   */
  readonly externalId: string;

  /**
   * AWS Organizations id (`o-...`). When set, the member role can only be assumed by
   * principals of that organization (an `aws:PrincipalOrgID` trust condition).
   *
   * @default - no organization condition
   */
  readonly organizationId?: string;

  /**
   * Name of the member role. Must equal the central `organization.memberRoleName`: the
   * controller builds the role ARN from the account in an execution ARN and this name.
   *
   * @default 'AutoRedriveMember' (DEFAULT_MEMBER_ROLE_NAME in contract/environment.ts)
   */
  readonly roleName?: string;

  /**
   * The one Region whose stack creates the member role. IAM is global and the role has a
   * fixed name, so when this construct is deployed to several Regions of one account
   * (e.g. by a StackSet) only one of them may create it; stacks in the other Regions then
   * only forward events. The role covers every Region of the account either way.
   *
   * @default - every stack creates the role (deploy to one Region per account only)
   */
  readonly roleRegion?: string;

  /**
   * Execution statuses to forward. Use the central stack's `statuses`.
   *
   * @default ['FAILED', 'TIMED_OUT']
   */
  readonly statuses?: readonly RedrivableStatus[];

  /**
   * State machines of this account to forward events of and to allow redriving. Narrows
   * the rule and the role's Step Functions resources to these machines.
   *
   * @default - every state machine of the account
   */
  readonly stateMachineArns?: readonly string[];

  /**
   * Deploy this account's and Region's canary: a tiny Standard state machine that a
   * schedule starts every `canaryInterval`, fails once and is redriven by the central
   * controller, proving the cross-account path (forwarding rule, central bus, member role)
   * for this account and Region. Its managed policy is written by the central stack.
   *
   * @default true
   */
  readonly canary?: boolean;

  /**
   * How often the schedule starts the canary. Whole minutes, from 5 minutes to 1 day.
   *
   * @default Duration.minutes(60) (CANARY_DEFAULT_INTERVAL_MINUTES in contract/canary.ts)
   */
  readonly canaryInterval?: Duration;
}

/**
 * The member-account side of an organization-wide auto-redrive: forwards this account's
 * Step Functions status-change events to the central controller's event bus, and gives
 * the central controller a narrow role to redrive, describe and list executions here.
 *
 * One controller then serves every member account: it routes each Step Functions call by
 * the account and Region in the ARN and assumes `roleName` in that account with the
 * external id. The role's resources use `states:*:<this account>` because one role (IAM
 * is global) serves every Region the central controller covers.
 */
export class AutoRedriveMember extends Construct {
  /** The rule on this account's default bus that forwards the status changes. */
  public readonly rule: events.Rule;
  /** Dead-letter queue of the forwarding target (events the central bus did not accept). */
  public readonly deadLetterQueue: sqs.Queue;
  /** The role the central controller assumes. */
  public readonly role: iam.Role;
  /** Set when `roleRegion` is: the role exists only in that Region's stack. */
  public readonly roleCondition?: CfnCondition;
  /** This account's and Region's canary (`canary`, default true); its policy item is the central stack's. */
  public readonly canary?: AutoRedriveCanary;

  constructor(scope: Construct, id: string, props: AutoRedriveMemberProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const p = resolveMemberProps(this, stack, props);

    // ---- Canary: forwarded and redriven like any failure (listed too when the state machines are) ----
    if (p.canary) this.canary = new AutoRedriveCanary(this, 'Canary', { intervalMinutes: p.canaryIntervalMinutes });
    const watched = this.canary && p.stateMachineArns ? [...p.stateMachineArns, this.canary.stateMachineArn] : p.stateMachineArns;

    // ---- Forwarding ----------------------------------------------------------------
    this.deadLetterQueue = createDeadLetterQueue(this);

    // The same pattern builder as the central rules, so member and central cannot drift.
    this.rule = new events.Rule(this, 'ForwardRule', {
      description: `auto-redrive: forwards Step Functions executions that ended ${p.statuses.join(', ')} to the central controller`,
      eventPattern: statusChangeEventPattern({ statuses: p.statuses, stateMachineArns: watched }),
    });
    // EventBridge retries delivery to an event bus target with its default policy (24 hours,
    // 185 attempts); RetryPolicy cannot be set on event bus targets (CDK's EventBusProps:
    // "Retry policy is not supported for Event bus targets"). What still fails lands here.
    const centralBus = events.EventBus.fromEventBusArn(this, 'CentralEventBus', props.centralEventBusArn);
    this.rule.addTarget(new targets.EventBus(centralBus, { deadLetterQueue: this.deadLetterQueue }));

    // ---- Member role ----------------------------------------------------------------
    const conditions: Record<string, Record<string, unknown>> = {
      StringEquals: {
        'sts:ExternalId': props.externalId,
        ...(props.organizationId !== undefined ? { 'aws:PrincipalOrgID': props.organizationId } : {}),
      },
      // The trusted principal is the controller's account, narrowed to the listed roles:
      // aws:PrincipalArn survives the replacement of a central role (a role principal
      // would turn into a dangling unique id) and is checked on every AssumeRole.
      ArnEquals: { 'aws:PrincipalArn': [...props.controllerRoleArns] },
    };
    const accounts = controllerAccounts(props.controllerRoleArns);
    const principal = new iam.CompositePrincipal(...accounts.map((a) => new iam.AccountPrincipal(a)));

    const sfn = memberStepFunctionsResources(stack, watched);
    this.role = new iam.Role(this, 'Role', {
      roleName: p.roleName,
      description: 'auto-redrive member role: the central controller redrives, describes and lists Step Functions executions of this account',
      assumedBy: new iam.PrincipalWithConditions(principal, conditions),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: {
        StepFunctionsRedrive: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'RedriveAndDescribe',
              actions: ['states:RedriveExecution', 'states:DescribeExecution'],
              resources: sfn.executions,
            }),
            new iam.PolicyStatement({
              sid: 'ReconciliationSweep',
              actions: ['states:ListExecutions'],
              resources: sfn.stateMachines,
            }),
            new iam.PolicyStatement({
              sid: 'FailedState',
              actions: ['states:GetExecutionHistory'],
              resources: sfn.executions,
            }),
            new iam.PolicyStatement({
              sid: 'FindStateMachines',
              actions: ['states:ListStateMachines'],
              resources: ['*'],
            }),
          ],
        }),
      },
    });

    if (p.roleRegion !== undefined) {
      this.roleCondition = new CfnCondition(this, 'CreateRole', {
        expression: Fn.conditionEquals(Aws.REGION, p.roleRegion),
      });
      (this.role.node.defaultChild as CfnResource).cfnOptions.condition = this.roleCondition;
    }

    new CfnOutput(this, 'MemberRoleArn', {
      description: 'Role the central auto-redrive controller assumes in this account',
      value: this.role.roleArn,
      condition: this.roleCondition,
    });
    new CfnOutput(this, 'ForwardDeadLetterQueueUrl', {
      description: 'SQS dead-letter queue of status-change events the central bus did not accept',
      value: this.deadLetterQueue.queueUrl,
    });
    if (this.canary) {
      new CfnOutput(this, 'CanaryStateMachineArn', {
        description: "This account's canary, started every canaryInterval: it fails once and the central controller redrives it",
        value: this.canary.stateMachine.stateMachineArn,
      });
    }

    acknowledgeMemberFindings(stack, { deadLetterQueue: this.deadLetterQueue, role: this.role, stepFunctions: sfn });
  }
}

// ---- Helpers -------------------------------------------------------------------------

/** The accounts of the controller roles: the principals of the trust policy. */
function controllerAccounts(roleArns: readonly string[]): string[] {
  const accounts = roleArns.map((arn) => (Token.isUnresolved(arn) ? Fn.select(4, Fn.split(':', arn)) : arn.split(':')[4]));
  return [...new Set(accounts)];
}

interface ResolvedMemberProps {
  readonly statuses: readonly RedrivableStatus[];
  readonly stateMachineArns: readonly string[] | undefined;
  readonly roleName: string;
  readonly roleRegion: string | undefined;
  readonly canary: boolean;
  readonly canaryIntervalMinutes: number;
}

function resolveMemberProps(scope: Construct, stack: Stack, props: AutoRedriveMemberProps): ResolvedMemberProps {
  const v = new PropValidator('AutoRedriveMember');
  const required = <T>(prop: keyof AutoRedriveMemberProps, value: T | undefined): T => {
    return value === undefined ? v.fail(prop, `${prop} is required`) : value;
  };
  v.check('centralEventBusArn', eventBusArnProblem(required('centralEventBusArn', props.centralEventBusArn)));
  v.list('controllerRoleArns', required('controllerRoleArns', props.controllerRoleArns), { what: 'role ARN', element: roleArnProblem });
  v.check('externalId', externalIdProblem(required('externalId', props.externalId)));
  if (props.organizationId !== undefined) v.check('organizationId', organizationIdProblem(props.organizationId));

  const roleName = props.roleName ?? SETTINGS.memberRoleName.default;
  v.check('roleName', roleNameProblem(roleName));
  if (props.roleRegion !== undefined) v.check('roleRegion', regionProblem(props.roleRegion));

  const statuses = v.statuses(SETTINGS.statuses, props.statuses);
  // The member role acts on its own account only.
  const inAccount = (arn: string): string | undefined => {
    if (Token.isUnresolved(arn) || Token.isUnresolved(stack.account)) return undefined;
    const account = arn.split(':')[4];
    return account === stack.account ? undefined : `'${arn}' is in account ${account}, but the stack is in ${stack.account}; the member role acts on its own account only`;
  };
  const arns = props.stateMachineArns && v.list(v.propOf(SETTINGS.stateMachineArns), props.stateMachineArns, {
    what: 'state machine ARN',
    empty: 'must not be empty; omit it to forward every state machine',
    element: (arn) => stateMachineArnProblem(arn) ?? inAccount(arn),
  });

  const canary = props.canary ?? SETTINGS.canary.default;
  const canaryIntervalMinutes = v.duration(SETTINGS.canaryIntervalMinutes, props.canaryInterval);
  checkCanarySettings(v, scope, { canary, canaryIntervalMinutes, statuses });

  return { statuses, stateMachineArns: arns, roleName, roleRegion: props.roleRegion, canary, canaryIntervalMinutes };
}
