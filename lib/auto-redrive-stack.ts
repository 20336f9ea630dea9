import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AutoRedrive, AutoRedriveProps } from './auto-redrive';
import { RedrivableStatus } from './event-pattern';

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
} as const;

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
  };
}

/** The context key each construct prop comes from, to name it in validation errors. */
const CONTEXT_OF_PROP: Partial<Record<keyof AutoRedriveProps, string>> = {
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
};

/**
 * The construct validates its props and names the prop ("AutoRedrive: drainInterval
 * must be ..."); here every prop comes from context, so prefix the context key as well.
 */
function withContextKey(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const prop = /^AutoRedrive: ([A-Za-z]+)/.exec(e.message)?.[1] as keyof AutoRedriveProps | undefined;
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
