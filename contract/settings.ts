/**
 * Every tunable of auto-redrive, once: its construct prop, its cdk.json context key, the
 * Lambda environment variable that carries it, its unit, range and default, and what it
 * means. Derived from this table: the Lambda's config loader and DEFAULTS
 * (lambda/config.ts), the construct's range checks and environment map (lib/), the stack's
 * context reading (lib/auto-redrive-stack.ts CONTEXT), cdk.json's documented defaults and
 * docs/settings.md (scripts/settings-doc.ts). Tests check the hand-written prop interfaces
 * and cdk.json against it.
 */
import { CANARY_DEFAULT_INTERVAL_MINUTES } from './canary';
import { DEFAULT_MEMBER_ROLE_NAME, ENV, ORG_ENV } from './environment';
import { DEFAULT_WATCHED_STATUSES, REDRIVABLE_STATUSES } from './event-pattern';
import { INDEX_WRITES_PER_FAILURE, MAX_INDEX_SHARDS, PARTITION_WRITE_UNITS_PER_SECOND, SHARD_HEADROOM, WRITE_UNITS_PER_INDEX_WRITE } from './due-shards';
import { CONTEXT_PREFIX, type Setting } from './setting-shape';

// The row shape is part of this module's interface: importers keep importing it from here.
export { CONTEXT_PREFIX, DURATION_UNITS, UNIT_KIND, type DurationUnit, type NumberRange, type Setting, type SettingUnit } from './setting-shape';

/** Timeout of the controller Lambda: a claim must outlive it, a rate wait must fit in it. */
export const CONTROLLER_TIMEOUT_SECONDS = 60;
/** Timeout of the drain Lambda: also how long a drain run holds its lease when it has no Lambda deadline to go by. */
export const DRAIN_TIMEOUT_SECONDS = 5 * 60;
/** The peak whose shard count is MAX_INDEX_SHARDS (contract/due-shards.ts). */
const MAX_PEAK_FAILURES_PER_SECOND = (MAX_INDEX_SHARDS * PARTITION_WRITE_UNITS_PER_SECOND * SHARD_HEADROOM) / (INDEX_WRITES_PER_FAILURE * WRITE_UNITS_PER_INDEX_WRITE);
/** RedriveExecution only accepts executions that stopped within the last 14 days. */
const MAX_RECONCILE_LOOKBACK_HOURS = 14 * 24;

export const SETTINGS = {
  // ---- What is watched ----
  statuses: {
    prop: 'statuses',
    memberProp: 'statuses',
    context: 'auto-redrive:statuses',
    unit: 'statuses',
    allowed: REDRIVABLE_STATUSES,
    rule: 'at least one, no duplicates; ABORTED is opt-in',
    default: DEFAULT_WATCHED_STATUSES,
    meaning: 'Execution statuses that trigger a redrive decision.',
  },
  stateMachineArns: {
    prop: 'stateMachineArns',
    memberProp: 'stateMachineArns',
    context: 'auto-redrive:stateMachineArns',
    unit: 'state machine ARNs',
    rule: "plain state machine ARNs of the stack's account and Region; no duplicates",
    defaultText: 'every state machine of the account and Region',
    contextDefault: [],
    meaning: 'Standard state machines to watch; narrows the rule and the Step Functions permissions.',
  },

  // ---- Capacity and rates ----
  reservedConcurrency: {
    prop: 'reservedConcurrency',
    context: 'auto-redrive:reservedConcurrency',
    unit: 'count',
    range: { min: 1, max: 1000, integer: true },
    // Opt-in: Lambda refuses a reservation that leaves fewer than 100 unreserved executions,
    // and new accounts often have a quota of 10 or 50.
    defaultText: 'none (opt-in: reserving N needs an account concurrency quota of at least N + 100)',
    contextDefault: '',
    meaning: 'Reserved concurrency of the controller Lambda: status-change events processed at once.',
  },
  redriveRatePerSecond: {
    prop: 'redriveRatePerSecond',
    context: 'auto-redrive:redriveRatePerSecond',
    env: ENV.redriveRatePerSecond,
    unit: 'per second',
    range: { min: 1, max: 1000, integer: false },
    // Well below RedriveExecution's refill of 300/s (us-east-1, us-west-2, eu-west-1) and
    // 150/s elsewhere, leaving room for people and other tools in the same account.
    // https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
    default: 50,
    meaning: 'Global RedriveExecution rate of the whole controller (all instances, event path and drain).',
  },
  describeRatePerSecond: {
    prop: 'describeRatePerSecond',
    context: 'auto-redrive:describeRatePerSecond',
    env: ENV.describeRatePerSecond,
    unit: 'per second',
    range: { min: 1, max: 100, integer: false },
    // DescribeExecution refills at only 15/s (10/s in smaller Regions).
    default: 5,
    meaning: 'Global DescribeExecution rate (stale-event checks, drain re-checks, reconciliation).',
  },
  peakFailuresPerSecond: {
    prop: 'peakFailuresPerSecond',
    context: 'auto-redrive:peakFailuresPerSecond',
    env: ENV.peakFailuresPerSecond,
    unit: 'per second',
    range: { min: 1, max: MAX_PEAK_FAILURES_PER_SECOND, integer: false },
    rule: `shards of each byDue index family = ceil(peak × ${INDEX_WRITES_PER_FAILURE * WRITE_UNITS_PER_INDEX_WRITE} / ${PARTITION_WRITE_UNITS_PER_SECOND * SHARD_HEADROOM}), at most ${MAX_INDEX_SHARDS} (contract/due-shards.ts)`,
    // 1,000 failures/s: 16 shards, each under 500 of DynamoDB's ~1,000 write units/s per partition key.
    default: 1000,
    meaning: 'Highest rate of failed executions the controller must take without a hot DynamoDB partition (a failure storm); sets how many partition values the ledger index spreads its writes over.',
  },
  maxRateWaitMs: {
    prop: 'maxRateWait',
    propType: 'Duration',
    env: ENV.maxRateWaitMs,
    unit: 'milliseconds',
    range: { min: 1, max: CONTROLLER_TIMEOUT_SECONDS * 1000 - 1, integer: true },
    rule: `less than the controller's ${CONTROLLER_TIMEOUT_SECONDS}-second timeout`,
    default: 5_000,
    meaning: 'Longest a redrive waits in-process for a rate slot before it is deferred to the drain.',
  },

  // ---- Timing ----
  policyCacheTtlSeconds: {
    prop: 'policyCacheTtl',
    propType: 'Duration',
    context: 'auto-redrive:policyCacheTtlSeconds',
    env: ENV.policyCacheTtlSeconds,
    unit: 'seconds',
    range: { min: 1, max: 3600, integer: true },
    default: 60,
    meaning: 'How long a Lambda instance caches the loaded policies and the kill switch.',
  },
  auditRetentionDays: {
    prop: 'auditRetention',
    propType: 'Duration',
    context: 'auto-redrive:auditRetentionDays',
    env: ENV.auditRetentionDays,
    unit: 'days',
    range: { min: 1, integer: true },
    default: 30,
    meaning: 'How long audit records stay in the ledger before DynamoDB TTL removes them.',
  },
  drainIntervalMinutes: {
    prop: 'drainInterval',
    propType: 'Duration',
    context: 'auto-redrive:drainIntervalMinutes',
    unit: 'minutes',
    range: { min: 1, integer: true },
    default: 1,
    meaning: 'How often the drain Lambda runs (deferred redrives, abandoned claims, metrics, reconciliation).',
  },
  reconcileLookbackHours: {
    prop: 'reconcileLookback',
    propType: 'Duration',
    context: 'auto-redrive:reconcileLookbackHours',
    env: ENV.reconcileLookbackHours,
    unit: 'hours',
    range: { min: 1, max: MAX_RECONCILE_LOOKBACK_HOURS, integer: true },
    rule: "at most 14 days (RedriveExecution's limit)",
    default: 24,
    meaning: 'How far back the reconciliation sweep looks for failed executions no event reported.',
  },
  reconcileEveryMinutes: {
    prop: 'reconcileEvery',
    propType: 'Duration',
    context: 'auto-redrive:reconcileEveryMinutes',
    env: ENV.reconcileEveryMinutes,
    unit: 'minutes',
    range: { min: 1, integer: true },
    rule: 'at least drainInterval (the sweep runs inside a drain run)',
    default: 15,
    meaning: 'How often the drain runs the reconciliation sweep.',
  },
  reconcileMaxRunHours: {
    prop: 'reconcileMaxRunTime',
    propType: 'Duration',
    env: ENV.reconcileMaxRunHours,
    unit: 'hours',
    range: { min: 1, integer: true },
    default: 24,
    meaning: 'Longest an execution may run and still be found by the sweep (events still cover longer runs).',
  },
  claimTimeoutSeconds: {
    prop: 'claimTimeout',
    propType: 'Duration',
    env: ENV.claimTimeoutSeconds,
    unit: 'seconds',
    range: { min: 1, integer: true },
    rule: `longer than the controller's ${CONTROLLER_TIMEOUT_SECONDS}-second timeout`,
    default: 180,
    meaning: 'A claim older than this is treated as abandoned (a crashed Lambda) and retried.',
  },
  staleEventAfterSeconds: {
    prop: 'staleEventAfter',
    propType: 'Duration',
    env: ENV.staleEventAfterSeconds,
    unit: 'seconds',
    range: { min: 1, max: 600, integer: true },
    rule: "well inside the 15 minutes Step Functions honours a redrive's clientToken",
    default: 300,
    meaning: 'An event older than this is checked with DescribeExecution before acting on it.',
  },

  // ---- Events out ----
  publishEvents: {
    prop: 'publishEvents',
    context: 'auto-redrive:publishEvents',
    unit: 'boolean',
    default: true,
    meaning: 'Whether the Lambdas publish `Auto Redrive Exhausted` / `Skipped` events.',
  },
  eventBus: {
    prop: 'eventBus',
    propType: 'events.IEventBus',
    env: ENV.eventBusName,
    unit: 'event bus',
    rule: 'only with publishEvents',
    defaultText: "the account's default event bus",
    meaning: 'Bus the Lambdas publish their own events to.',
  },

  // ---- Storage and logs ----
  logRetentionDays: {
    prop: 'logRetention',
    propType: 'logs.RetentionDays',
    context: 'auto-redrive:logRetentionDays',
    unit: 'days',
    rule: "one of CloudWatch Logs' retention values (1, 3, 5, 7, 14, 30, 60, 90, ...)",
    default: 30,
    meaning: "Retention of the Lambdas' log groups.",
  },
  removalPolicy: {
    prop: 'removalPolicy',
    propType: 'RemovalPolicy',
    context: 'auto-redrive:removalPolicy',
    unit: 'choice',
    allowed: ['retain', 'destroy', 'snapshot'],
    default: 'retain',
    meaning: 'Removal policy of the policy and ledger tables (hand-written policies, the audit trail).',
  },

  // ---- Observability ----
  dashboardName: {
    prop: 'dashboardName',
    unit: 'name',
    rule: "1 to 255 letters, digits, '-' and '_'; unique per account",
    default: 'AutoRedrive',
    meaning: 'Name of the CloudWatch dashboard.',
  },
  runbookUrl: {
    prop: 'runbookUrl',
    unit: 'URL',
    rule: "no spaces, parentheses or '#' (the section anchors are appended)",
    default: 'docs/runbook.md',
    meaning: 'Where the runbook is: the dashboard and every alarm description link to its sections.',
  },
  alarmEmail: {
    prop: 'alarmEmail',
    context: 'auto-redrive:alarmEmail',
    unit: 'e-mail address',
    defaultText: 'no subscription',
    contextDefault: '',
    meaning: 'E-mail address subscribed to the alarm topic (SNS mails a confirmation link first).',
  },
  backlogAgeAlarmThresholdSeconds: {
    prop: 'backlogAgeAlarmThreshold',
    propType: 'Duration',
    unit: 'seconds',
    range: { min: 60, integer: true },
    rule: 'longer than drainInterval',
    default: 15 * 60,
    defaultText: 'or two drain intervals if that is longer',
    meaning: 'Alarm when the oldest pending redrive has been overdue for longer than this.',
  },
  breakerOpenAlarmThresholdSeconds: {
    prop: 'breakerOpenAlarmThreshold',
    propType: 'Duration',
    unit: 'seconds',
    range: { min: 300, max: 14 * 24 * 3600, integer: true },
    default: 2 * 3600,
    meaning: 'Alarm when an outage breaker (one state machine and error) has been open longer than this: an outage held that long needs a person.',
  },

  // ---- The canary (docs/deploying.md "After deploying: prove it") ----
  canary: {
    prop: 'canary',
    memberProp: 'canary',
    context: 'auto-redrive:canary',
    unit: 'boolean',
    rule: 'statuses must include FAILED (the canary fails with it)',
    default: true,
    meaning: 'Deploy the canary: a tiny Standard state machine, started every canaryInterval, that fails once and is redriven through the normal path; its recoveries are a metric, a dashboard widget and an alarm.',
  },
  canaryIntervalMinutes: {
    prop: 'canaryInterval',
    memberProp: 'canaryInterval',
    propType: 'Duration',
    context: 'auto-redrive:canaryIntervalMinutes',
    unit: 'minutes',
    range: { min: 5, max: 24 * 60, integer: true },
    rule: "the alarm's period (2 intervals + 15 minutes + drainInterval) at most 7 days (CloudWatch's limit)",
    default: CANARY_DEFAULT_INTERVAL_MINUTES,
    meaning: 'How often the schedule starts the canary; its alarm fires when no canary has recovered for two intervals plus a margin.',
  },

  // ---- Organization mode, central side ----
  organization: {
    prop: 'organization',
    propType: 'AutoRedriveOrganization',
    context: 'auto-redrive:organization',
    unit: 'boolean',
    default: false,
    meaning: 'Serve the Step Functions executions of member accounts too (central stack of organization mode).',
  },
  memberAccounts: {
    prop: 'organization.memberAccounts',
    context: 'auto-redrive:memberAccounts',
    env: ORG_ENV.memberAccounts,
    unit: 'account ids',
    rule: "at least one; not the stack's own account",
    defaultText: 'required in organization mode',
    contextDefault: [],
    meaning: 'Member accounts served; events of any other account are skipped as unknown-account.',
  },
  organizationId: {
    prop: 'organization.organizationId',
    memberProp: 'organizationId',
    context: 'auto-redrive:organizationId',
    unit: 'organization id',
    defaultText: 'no organization condition',
    contextDefault: '',
    meaning: 'AWS Organizations id (o-...): the central bus and the member role also require it of the caller.',
  },
  externalId: {
    prop: 'organization.externalId',
    memberProp: 'externalId',
    context: 'auto-redrive:externalId',
    env: ORG_ENV.memberExternalId,
    unit: 'external id',
    rule: '2 to 1224 characters of letters, digits and _+=,.@:/-',
    defaultText: 'required in organization mode and for the member stack',
    contextDefault: '',
    meaning: "External id of sts:AssumeRole for the member roles (a confused-deputy guard, not a secret).",
  },
  servedRegions: {
    prop: 'organization.servedRegions',
    context: 'auto-redrive:servedRegions',
    env: ORG_ENV.servedRegions,
    unit: 'Regions',
    rule: "must include the stack's Region",
    defaultText: "the stack's Region",
    contextDefault: [],
    meaning: 'Regions the reconciliation sweep lists state machines in (every served account).',
  },
  memberRoleName: {
    prop: 'organization.memberRoleName',
    memberProp: 'roleName',
    context: 'auto-redrive:memberRoleName',
    env: ORG_ENV.memberRoleName,
    unit: 'name',
    rule: 'an IAM role name; the same on both sides',
    default: DEFAULT_MEMBER_ROLE_NAME,
    contextDefault: '',
    meaning: 'Name of the role the controller assumes in every member account.',
  },
  centralEventBusName: {
    prop: 'organization.eventBusName',
    context: 'auto-redrive:centralEventBusName',
    unit: 'name',
    rule: "an event bus name, not 'default'",
    default: 'AutoRedriveCentral',
    contextDefault: '',
    meaning: 'Name of the central custom event bus the member accounts forward to.',
  },

  // ---- Organization mode, member side ----
  member: {
    context: 'auto-redrive:member',
    unit: 'boolean',
    default: false,
    meaning: 'Add the AutoRedriveMember stack to the app (bin/auto-redrive.ts).',
  },
  centralEventBusArn: {
    memberProp: 'centralEventBusArn',
    context: 'auto-redrive:centralEventBusArn',
    unit: 'event bus ARN',
    defaultText: 'required for the member stack (central output CentralEventBusArn)',
    contextDefault: '',
    meaning: "ARN of the central controller's event bus the status changes are forwarded to.",
  },
  controllerRoleArns: {
    memberProp: 'controllerRoleArns',
    context: 'auto-redrive:controllerRoleArns',
    unit: 'role ARNs',
    defaultText: 'required for the member stack (central outputs ControllerRoleArn, DrainRoleArn)',
    contextDefault: [],
    meaning: 'The central controller and drain roles: the only principals that may assume the member role.',
  },
  memberRoleRegion: {
    memberProp: 'roleRegion',
    context: 'auto-redrive:memberRoleRegion',
    unit: 'Region',
    defaultText: 'every member stack creates the role',
    contextDefault: '',
    meaning: 'The one Region whose member stack creates the (global) member role.',
  },

  // ---- Tooling ----
  nag: {
    context: 'auto-redrive:nag',
    unit: 'boolean',
    default: false,
    meaning: 'Run the cdk-nag AwsSolutions checks on synth (bin/auto-redrive.ts).',
  },
} as const satisfies Record<string, Setting>;

export type SettingId = keyof typeof SETTINGS;
type Settings = typeof SETTINGS;

/** Every setting with its id, in table order. */
export const SETTING_LIST: ReadonlyArray<Setting & { readonly id: SettingId }> = (
  Object.entries(SETTINGS) as Array<[SettingId, Setting]>
).map(([id, s]) => ({ id, ...s }));

// ---- Derived views --------------------------------------------------------------------

type ContextOf<S> = S extends { readonly context: `${typeof CONTEXT_PREFIX}${infer N}` } ? N : never;
type ContextName = { [K in SettingId]: ContextOf<Settings[K]> }[SettingId];

/** Every context key the app reads, by its name without the prefix. */
export const CONTEXT_KEYS = Object.fromEntries(
  SETTING_LIST.flatMap((s) => (s.context ? [[s.context.slice(CONTEXT_PREFIX.length), s.context]] : [])),
) as { readonly [N in ContextName]: `${typeof CONTEXT_PREFIX}${N}` };

/** Settings the Lambdas read as a number from ENV, with a numeric default: ControllerConfig's tunables. */
export type RuntimeNumberId = {
  [K in SettingId]: Settings[K] extends { readonly env: string; readonly default: number } ? K : never;
}[SettingId];

export const RUNTIME_NUMBER_IDS = SETTING_LIST.filter(
  (s) => s.env !== undefined && typeof s.default === 'number',
).map((s) => s.id) as RuntimeNumberId[];

/** The value cdk.json documents for a context key (empty where "the default" is not a value). */
export function contextDefault(s: Setting): unknown {
  return s.contextDefault ?? s.default;
}

/** The setting a construct prop comes from (`organization.<name>` for the organization fields). */
export function settingOfProp(construct: 'AutoRedrive' | 'AutoRedriveMember', prop: string): Setting | undefined {
  return SETTING_LIST.find((s) => (construct === 'AutoRedrive' ? s.prop : s.memberProp) === prop);
}
