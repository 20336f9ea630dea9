import { CfnOutput, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AutoRedrive, AutoRedriveOrganization, AutoRedriveProps } from './auto-redrive';
import { AutoRedriveMember, AutoRedriveMemberProps } from './auto-redrive-member';
import { RedrivableStatus } from '../contract/event-pattern';

/**
 * Context keys read by {@link AutoRedriveStack}. Values may come from cdk.json (JSON
 * types) or from `cdk synth -c key=value` (strings); both are accepted. An absent key
 * means the construct's default.
 */
export const CONTEXT = {
  /** JSON array or comma-separated list of FAILED, TIMED_OUT, ABORTED. */
  statuses: 'auto-redrive:statuses',
  /** JSON array or comma-separated list of state machine ARNs; empty = all machines. */
  stateMachineArns: 'auto-redrive:stateMachineArns',
  /** Integer, reserved concurrency of the controller. */
  reservedConcurrency: 'auto-redrive:reservedConcurrency',
  /** Number, global RedriveExecution calls per second. */
  redriveRatePerSecond: 'auto-redrive:redriveRatePerSecond',
  /** Number, global DescribeExecution calls per second. */
  describeRatePerSecond: 'auto-redrive:describeRatePerSecond',
  /** Integer seconds, policy and kill-switch cache lifetime. */
  policyCacheTtlSeconds: 'auto-redrive:policyCacheTtlSeconds',
  /** Integer days, audit record retention. */
  auditRetentionDays: 'auto-redrive:auditRetentionDays',
  /** Integer minutes, drain schedule. */
  drainIntervalMinutes: 'auto-redrive:drainIntervalMinutes',
  /** Integer hours, reconciliation look-back. */
  reconcileLookbackHours: 'auto-redrive:reconcileLookbackHours',
  /** Integer minutes, reconciliation frequency. */
  reconcileEveryMinutes: 'auto-redrive:reconcileEveryMinutes',
  /** Integer days, one of CloudWatch Logs' retention values. */
  logRetentionDays: 'auto-redrive:logRetentionDays',
  /** 'retain' | 'destroy' | 'snapshot', for the two tables. */
  removalPolicy: 'auto-redrive:removalPolicy',
  /** Boolean, publish Exhausted/Skipped events to the default bus. */
  publishEvents: 'auto-redrive:publishEvents',
  /** Boolean, run the cdk-nag AwsSolutions checks on synth (read by bin/auto-redrive.ts). */
  nag: 'auto-redrive:nag',
  /** E-mail address subscribed to the alarm topic; absent or empty = no subscription. */
  alarmEmail: 'auto-redrive:alarmEmail',

  // ---- Organization mode (README: Running across an Organization) ----
  /** Boolean, central stack: serve member accounts (the `organization` prop). */
  organization: 'auto-redrive:organization',
  /** Central: JSON array or comma-separated list of member account ids. */
  memberAccounts: 'auto-redrive:memberAccounts',
  /** Both sides: AWS Organizations id (o-...); empty = no organization condition. */
  organizationId: 'auto-redrive:organizationId',
  /** Both sides: the external id of the member role's trust policy. */
  externalId: 'auto-redrive:externalId',
  /** Central: JSON array or comma-separated list of Regions to sweep; empty = the stack's Region. */
  servedRegions: 'auto-redrive:servedRegions',
  /** Both sides: name of the member role; empty = AutoRedriveMember. */
  memberRoleName: 'auto-redrive:memberRoleName',
  /** Central: name of the central event bus; empty = AutoRedriveCentral. */
  centralEventBusName: 'auto-redrive:centralEventBusName',
  /** Boolean, read by bin/auto-redrive.ts: add the AutoRedriveMember stack to the app. */
  member: 'auto-redrive:member',
  /** Member: ARN of the central event bus (central output CentralEventBusArn). */
  centralEventBusArn: 'auto-redrive:centralEventBusArn',
  /** Member: JSON array or comma-separated list of the central ControllerRoleArn and DrainRoleArn. */
  controllerRoleArns: 'auto-redrive:controllerRoleArns',
  /** Member: the one Region whose member stack creates the role; empty = every member stack does. */
  memberRoleRegion: 'auto-redrive:memberRoleRegion',
} as const;

/** Context keys that configure only organization mode of the central stack. */
const CENTRAL_ORGANIZATION_KEYS = [CONTEXT.memberAccounts, CONTEXT.servedRegions, CONTEXT.centralEventBusName] as const;

export type AutoRedriveStackProps = StackProps;

/** The deployable stack: one {@link AutoRedrive}, configured from CDK context. */
export class AutoRedriveStack extends Stack {
  public readonly autoRedrive: AutoRedrive;

  constructor(scope: Construct, id: string, props: AutoRedriveStackProps = {}) {
    super(scope, id, {
      description: 'auto-redrive: automatically redrives failed Step Functions Standard executions',
      ...props,
    });
    const autoRedriveProps = propsFromContext(this);
    try {
      this.autoRedrive = new AutoRedrive(this, 'AutoRedrive', autoRedriveProps);
    } catch (e) {
      throw withContextKey(e);
    }

    // Stable output keys (PolicyTableName, ...) for operators and redrivectl, instead of
    // the hashed logical ids that nesting in the construct would give them.
    for (const child of this.autoRedrive.node.children) {
      if (child instanceof CfnOutput) child.overrideLogicalId(child.node.id);
    }
  }
}

/** Reads and validates the `auto-redrive:*` context into construct props. */
export function propsFromContext(scope: Construct): AutoRedriveProps {
  const get = (key: string): unknown => scope.node.tryGetContext(key);

  const statuses = stringList(CONTEXT.statuses, get(CONTEXT.statuses));
  const arns = stringList(CONTEXT.stateMachineArns, get(CONTEXT.stateMachineArns));
  const removal = optionalString(CONTEXT.removalPolicy, get(CONTEXT.removalPolicy));
  const logDays = integer(CONTEXT.logRetentionDays, get(CONTEXT.logRetentionDays));
  const alarmEmail = optionalString(CONTEXT.alarmEmail, get(CONTEXT.alarmEmail))?.trim();

  const seconds = (key: string) => map(integer(key, get(key)), Duration.seconds);
  const minutes = (key: string) => map(integer(key, get(key)), Duration.minutes);

  return {
    statuses: statuses && statuses.length > 0 ? (statuses as RedrivableStatus[]) : undefined,
    stateMachineArns: arns && arns.length > 0 ? arns : undefined,
    reservedConcurrency: integer(CONTEXT.reservedConcurrency, get(CONTEXT.reservedConcurrency)),
    redriveRatePerSecond: number(CONTEXT.redriveRatePerSecond, get(CONTEXT.redriveRatePerSecond)),
    describeRatePerSecond: number(CONTEXT.describeRatePerSecond, get(CONTEXT.describeRatePerSecond)),
    policyCacheTtl: seconds(CONTEXT.policyCacheTtlSeconds),
    auditRetention: map(integer(CONTEXT.auditRetentionDays, get(CONTEXT.auditRetentionDays)), Duration.days),
    drainInterval: minutes(CONTEXT.drainIntervalMinutes),
    reconcileLookback: map(integer(CONTEXT.reconcileLookbackHours, get(CONTEXT.reconcileLookbackHours)), Duration.hours),
    reconcileEvery: minutes(CONTEXT.reconcileEveryMinutes),
    logRetention: logDays === undefined ? undefined : retentionDays(logDays),
    removalPolicy: removal === undefined ? undefined : removalPolicy(removal),
    publishEvents: boolean(CONTEXT.publishEvents, get(CONTEXT.publishEvents)),
    alarmEmail: alarmEmail === '' ? undefined : alarmEmail,
    organization: organizationFromContext(scope),
  };
}

/** The `organization` prop from context, when `auto-redrive:organization` is true. */
function organizationFromContext(scope: Construct): AutoRedriveOrganization | undefined {
  const get = (key: string): unknown => scope.node.tryGetContext(key);
  if (boolean(CONTEXT.organization, get(CONTEXT.organization)) !== true) {
    const stray = CENTRAL_ORGANIZATION_KEYS.find((k) => !isEmptyValue(get(k)));
    if (stray) contextError(stray, `is set but '${CONTEXT.organization}' is not true; set it to true to serve member accounts`);
    return undefined;
  }
  const externalId = optionalString(CONTEXT.externalId, get(CONTEXT.externalId));
  if (externalId === undefined) contextError(CONTEXT.externalId, `is required when '${CONTEXT.organization}' is true`);
  return {
    memberAccounts: stringList(CONTEXT.memberAccounts, get(CONTEXT.memberAccounts)) ?? [],
    organizationId: optionalString(CONTEXT.organizationId, get(CONTEXT.organizationId)),
    externalId,
    servedRegions: nonEmpty(stringList(CONTEXT.servedRegions, get(CONTEXT.servedRegions))),
    memberRoleName: optionalString(CONTEXT.memberRoleName, get(CONTEXT.memberRoleName)),
    eventBusName: optionalString(CONTEXT.centralEventBusName, get(CONTEXT.centralEventBusName)),
  };
}

/** Whether the `auto-redrive:member` context asks for the member stack. */
export function memberStackRequested(scope: Construct): boolean {
  return boolean(CONTEXT.member, scope.node.tryGetContext(CONTEXT.member)) === true;
}

/** Reads and validates the member-side context into {@link AutoRedriveMember} props. */
export function memberPropsFromContext(scope: Construct): AutoRedriveMemberProps {
  const get = (key: string): unknown => scope.node.tryGetContext(key);
  const required = (key: string): string => {
    const v = optionalString(key, get(key));
    if (v === undefined) contextError(key, `is required for the member stack ('${CONTEXT.member}' is true)`);
    return v.trim();
  };
  const roleArns = stringList(CONTEXT.controllerRoleArns, get(CONTEXT.controllerRoleArns));
  if (!roleArns || roleArns.length === 0) {
    contextError(CONTEXT.controllerRoleArns, `is required for the member stack: the central ControllerRoleArn and DrainRoleArn outputs`);
  }
  const statuses = nonEmpty(stringList(CONTEXT.statuses, get(CONTEXT.statuses)));
  return {
    centralEventBusArn: required(CONTEXT.centralEventBusArn),
    controllerRoleArns: roleArns,
    externalId: required(CONTEXT.externalId),
    organizationId: optionalString(CONTEXT.organizationId, get(CONTEXT.organizationId)),
    roleName: optionalString(CONTEXT.memberRoleName, get(CONTEXT.memberRoleName)),
    roleRegion: optionalString(CONTEXT.memberRoleRegion, get(CONTEXT.memberRoleRegion)),
    statuses: statuses as RedrivableStatus[] | undefined,
    stateMachineArns: nonEmpty(stringList(CONTEXT.stateMachineArns, get(CONTEXT.stateMachineArns))),
  };
}

export type AutoRedriveMemberStackProps = StackProps;

/**
 * The member-account stack: one {@link AutoRedriveMember}, configured from CDK context.
 * Deploy it with `cdk deploy AutoRedriveMember` in each member account and Region, or use
 * its synthesized template as a CloudFormation StackSet template: it has no assets, no
 * bootstrap-version rule, and names no account or Region of its own (pseudo parameters).
 */
export class AutoRedriveMemberStack extends Stack {
  public readonly member: AutoRedriveMember;

  constructor(scope: Construct, id: string, props: AutoRedriveMemberStackProps = {}) {
    super(scope, id, {
      description: 'auto-redrive member: forwards Step Functions status changes to the central controller and lets it redrive here',
      // A StackSet template: no bootstrap-version rule (target accounts need no CDK
      // bootstrap for a StackSet) and no AWS::CDK::Metadata resource.
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
      analyticsReporting: false,
      ...props,
    });
    const memberProps = memberPropsFromContext(this);
    try {
      this.member = new AutoRedriveMember(this, 'AutoRedriveMember', memberProps);
    } catch (e) {
      throw withMemberContextKey(e);
    }
    for (const child of this.member.node.children) {
      if (child instanceof CfnOutput) child.overrideLogicalId(child.node.id);
    }
  }
}

const CONTEXT_OF_MEMBER_PROP: Partial<Record<keyof AutoRedriveMemberProps, string>> = {
  centralEventBusArn: CONTEXT.centralEventBusArn,
  controllerRoleArns: CONTEXT.controllerRoleArns,
  externalId: CONTEXT.externalId,
  organizationId: CONTEXT.organizationId,
  roleName: CONTEXT.memberRoleName,
  roleRegion: CONTEXT.memberRoleRegion,
  statuses: CONTEXT.statuses,
  stateMachineArns: CONTEXT.stateMachineArns,
};

function withMemberContextKey(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const prop = /^AutoRedriveMember: ([A-Za-z]+)/.exec(e.message)?.[1] as keyof AutoRedriveMemberProps | undefined;
  const key = prop && CONTEXT_OF_MEMBER_PROP[prop];
  return key ? new Error(`Context '${key}': ${e.message}`, { cause: e }) : e;
}

/** The context key each construct prop comes from, to name it in validation errors. */
const CONTEXT_OF_PROP: Partial<Record<string, string>> = {
  statuses: CONTEXT.statuses,
  stateMachineArns: CONTEXT.stateMachineArns,
  reservedConcurrency: CONTEXT.reservedConcurrency,
  redriveRatePerSecond: CONTEXT.redriveRatePerSecond,
  describeRatePerSecond: CONTEXT.describeRatePerSecond,
  policyCacheTtl: CONTEXT.policyCacheTtlSeconds,
  auditRetention: CONTEXT.auditRetentionDays,
  drainInterval: CONTEXT.drainIntervalMinutes,
  reconcileLookback: CONTEXT.reconcileLookbackHours,
  reconcileEvery: CONTEXT.reconcileEveryMinutes,
  logRetention: CONTEXT.logRetentionDays,
  removalPolicy: CONTEXT.removalPolicy,
  publishEvents: CONTEXT.publishEvents,
  alarmEmail: CONTEXT.alarmEmail,
  'organization.memberAccounts': CONTEXT.memberAccounts,
  'organization.organizationId': CONTEXT.organizationId,
  'organization.externalId': CONTEXT.externalId,
  'organization.servedRegions': CONTEXT.servedRegions,
  'organization.memberRoleName': CONTEXT.memberRoleName,
  'organization.eventBusName': CONTEXT.centralEventBusName,
};

/**
 * The construct validates its props and names the prop ("AutoRedrive: drainInterval
 * must be ..."); here every prop comes from context, so prefix the context key as well.
 */
function withContextKey(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const prop = /^AutoRedrive: ([A-Za-z]+(?:\.[A-Za-z]+)?)/.exec(e.message)?.[1];
  const key = prop && CONTEXT_OF_PROP[prop];
  return key ? new Error(`Context '${key}': ${e.message}`, { cause: e }) : e;
}

// ---- Context parsing -----------------------------------------------------------------

function contextError(key: string, message: string): never {
  throw new Error(`Context '${key}': ${message}`);
}

function isAbsent(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

/** Absent, or an empty list (cdk.json's "no value" for list keys). */
function isEmptyValue(v: unknown): boolean {
  return isAbsent(v) || (Array.isArray(v) && v.length === 0);
}

function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? list : undefined;
}

function map<T, R>(v: T | undefined, f: (v: T) => R): R | undefined {
  return v === undefined ? undefined : f(v);
}

function stringList(key: string, v: unknown): string[] | undefined {
  if (isAbsent(v)) return undefined;
  let list: unknown = v;
  if (typeof v === 'string') {
    const t = v.trim();
    list = t.startsWith('[') ? parseJson(key, t) : t.split(',').map((s) => s.trim()).filter((s) => s !== '');
  }
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
    contextError(key, `must be a list of strings (JSON array or comma-separated), got ${JSON.stringify(v)}`);
  }
  return list as string[];
}

function parseJson(key: string, s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return contextError(key, `is not valid JSON: ${s}`);
  }
}

function number(key: string, v: unknown): number | undefined {
  if (isAbsent(v)) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n)) contextError(key, `must be a number, got ${JSON.stringify(v)}`);
  return n;
}

function integer(key: string, v: unknown): number | undefined {
  const n = number(key, v);
  if (n !== undefined && !Number.isInteger(n)) contextError(key, `must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

function boolean(key: string, v: unknown): boolean | undefined {
  if (isAbsent(v)) return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return contextError(key, `must be true or false, got ${JSON.stringify(v)}`);
}

function optionalString(key: string, v: unknown): string | undefined {
  if (isAbsent(v)) return undefined;
  if (typeof v !== 'string') contextError(key, `must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function removalPolicy(v: string): RemovalPolicy {
  switch (v.toLowerCase()) {
    case 'retain':
      return RemovalPolicy.RETAIN;
    case 'destroy':
      return RemovalPolicy.DESTROY;
    case 'snapshot':
      return RemovalPolicy.SNAPSHOT;
    default:
      return contextError(CONTEXT.removalPolicy, `must be one of retain, destroy, snapshot, got '${v}'`);
  }
}

function retentionDays(days: number): logs.RetentionDays {
  const valid = Object.values(logs.RetentionDays).filter((d): d is number => typeof d === 'number');
  if (!valid.includes(days)) {
    contextError(CONTEXT.logRetentionDays, `must be one of ${valid.sort((a, b) => a - b).join(', ')}, got ${days}`);
  }
  return days as logs.RetentionDays;
}
