/**
 * {@link AutoRedriveProps} checked and completed: every range and default from the settings
 * table (contract/settings.ts), the relations between settings, and the checks that need
 * the stack (its account and Region) or the app (dashboard names). Failures are
 * AutoRedrivePropErrors naming the prop (lib/validation.ts).
 */
import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import type { RedrivableStatus } from '../contract/event-pattern';
import { CONTROLLER_TIMEOUT_SECONDS, SETTINGS, type Setting } from '../contract/settings';
import type { AutoRedriveOrganization, AutoRedriveProps } from './auto-redrive-props';
import { checkCanarySettings } from './canary';
import { REMOVAL_POLICIES } from './settings';
import {
  PropValidator,
  accountIdProblem,
  dashboardNameProblem,
  emailProblem,
  eventBusNameProblem,
  externalIdProblem,
  organizationIdProblem,
  regionProblem,
  roleNameProblem,
  runbookUrlProblem,
  stateMachineArnProblem,
} from './validation';

/** Validated organization settings with every default applied. */
export interface ResolvedOrganization {
  readonly memberAccounts: readonly string[];
  readonly organizationId: string | undefined;
  readonly externalId: string;
  readonly servedRegions: readonly string[];
  readonly memberRoleName: string;
  readonly eventBusName: string;
}

/** Validated props with every default applied; numbers are in their setting's unit. */
export interface ResolvedProps {
  readonly statuses: readonly RedrivableStatus[];
  readonly stateMachineArns: readonly string[] | undefined;
  readonly reservedConcurrency: number | undefined;
  readonly policyCacheTtlSeconds: number;
  readonly redriveRatePerSecond: number;
  readonly describeRatePerSecond: number;
  readonly peakFailuresPerSecond: number;
  readonly maxRateWaitMs: number;
  readonly auditRetentionDays: number;
  readonly drainIntervalMinutes: number;
  readonly reconcileLookbackHours: number;
  readonly reconcileEveryMinutes: number;
  readonly reconcileMaxRunHours: number;
  readonly claimTimeoutSeconds: number;
  readonly staleEventAfterSeconds: number;
  readonly publishEvents: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly dashboardName: string;
  readonly runbookUrl: string;
  readonly alarmEmail: string | undefined;
  readonly backlogAgeAlarmThresholdSeconds: number;
  readonly breakerOpenAlarmThresholdSeconds: number;
  readonly organization: ResolvedOrganization | undefined;
  readonly canary: boolean;
  readonly canaryIntervalMinutes: number;
}

const S = SETTINGS;

/** Dashboard names already taken in an app (keyed by its root), to report duplicates. */
const DASHBOARD_NAMES_IN_APP = new WeakMap<IConstruct, Map<string, string>>();

export function resolveProps(scope: Construct, stack: Stack, props: AutoRedriveProps): ResolvedProps {
  const v = new PropValidator('AutoRedrive');
  const statuses = v.statuses(S.statuses, props.statuses);
  const stateMachineArns = props.stateMachineArns && stateMachineArnsInStack(v, stack, props.stateMachineArns);
  const reservedConcurrency = v.number(S.reservedConcurrency, props.reservedConcurrency);
  const redriveRatePerSecond = v.number(S.redriveRatePerSecond, props.redriveRatePerSecond);
  const describeRatePerSecond = v.number(S.describeRatePerSecond, props.describeRatePerSecond);
  const peakFailuresPerSecond = v.number(S.peakFailuresPerSecond, props.peakFailuresPerSecond);

  const policyCacheTtlSeconds = v.duration(S.policyCacheTtlSeconds, props.policyCacheTtl);
  const maxRateWaitMs = v.duration(S.maxRateWaitMs, props.maxRateWait);
  const auditRetentionDays = v.duration(S.auditRetentionDays, props.auditRetention);
  const drainIntervalMinutes = v.duration(S.drainIntervalMinutes, props.drainInterval);
  const reconcileLookbackHours = v.duration(S.reconcileLookbackHours, props.reconcileLookback);
  const reconcileEveryMinutes = v.duration(S.reconcileEveryMinutes, props.reconcileEvery);
  const reconcileMaxRunHours = v.duration(S.reconcileMaxRunHours, props.reconcileMaxRunTime);
  if (reconcileEveryMinutes < drainIntervalMinutes) {
    v.fail('reconcileEvery', `reconcileEvery (${reconcileEveryMinutes} min) must be at least drainInterval (${drainIntervalMinutes} min): the sweep runs inside a drain run`);
  }
  const claimTimeoutSeconds = v.duration(S.claimTimeoutSeconds, props.claimTimeout);
  if (claimTimeoutSeconds <= CONTROLLER_TIMEOUT_SECONDS) {
    v.fail('claimTimeout', `claimTimeout must be longer than the controller's ${CONTROLLER_TIMEOUT_SECONDS}-second timeout, got ${claimTimeoutSeconds} seconds`);
  }
  const staleEventAfterSeconds = v.duration(S.staleEventAfterSeconds, props.staleEventAfter);

  const canary = props.canary ?? S.canary.default;
  const canaryIntervalMinutes = v.duration(S.canaryIntervalMinutes, props.canaryInterval);
  checkCanarySettings(v, scope, { canary, canaryIntervalMinutes, statuses, drainIntervalMinutes });

  if (props.eventBus && props.publishEvents === false) {
    v.fail('eventBus', 'eventBus is set but publishEvents is false; remove one of them');
  }

  return {
    statuses,
    stateMachineArns,
    reservedConcurrency,
    policyCacheTtlSeconds,
    redriveRatePerSecond,
    describeRatePerSecond,
    peakFailuresPerSecond,
    maxRateWaitMs,
    auditRetentionDays,
    drainIntervalMinutes,
    reconcileLookbackHours,
    reconcileEveryMinutes,
    reconcileMaxRunHours,
    claimTimeoutSeconds,
    staleEventAfterSeconds,
    publishEvents: props.publishEvents ?? S.publishEvents.default,
    logRetention: props.logRetention ?? (S.logRetentionDays.default as logs.RetentionDays),
    removalPolicy: props.removalPolicy ?? REMOVAL_POLICIES[S.removalPolicy.default],
    ...observabilityProps(v, scope, stack, props, drainIntervalMinutes),
    organization: props.organization && resolveOrganization(v, stack, props.organization),
    canary,
    canaryIntervalMinutes,
  };
}

/**
 * Listed state machines: plain ARNs of the stack's account and Region, since EventBridge
 * delivers Step Functions events only to the default bus of the execution's account and Region.
 */
function stateMachineArnsInStack(v: PropValidator, stack: Stack, arns: readonly string[]): readonly string[] {
  const inStack = (arn: string): string | undefined => {
    if (Token.isUnresolved(arn)) return undefined;
    const [, , , region, account] = arn.split(':');
    if (!Token.isUnresolved(stack.region) && region !== stack.region) {
      return `'${arn}' is in Region ${region}, but the stack is in ${stack.region}; Step Functions events reach only the default bus of their own Region`;
    }
    if (!Token.isUnresolved(stack.account) && account !== stack.account) {
      return `'${arn}' is in account ${account}, but the stack is in ${stack.account}; Step Functions events reach only the default bus of their own account`;
    }
    return undefined;
  };
  return v.list(v.propOf(S.stateMachineArns), arns, {
    what: 'state machine ARN',
    empty: 'must not be empty; omit it to watch every state machine',
    element: (arn) => stateMachineArnProblem(arn) ?? inStack(arn),
  });
}

function observabilityProps(v: PropValidator, scope: Construct, stack: Stack, props: AutoRedriveProps, drainIntervalMinutes: number) {
  const dashboardName = props.dashboardName ?? S.dashboardName.default;
  v.check('dashboardName', dashboardNameProblem(dashboardName));
  if (!Token.isUnresolved(dashboardName)) {
    // Dashboard names are unique per account: catch a second instance in this app (same
    // account, or both environment-agnostic) at synth time rather than at deploy time.
    const names = DASHBOARD_NAMES_IN_APP.get(scope.node.root) ?? new Map<string, string>();
    DASHBOARD_NAMES_IN_APP.set(scope.node.root, names);
    const key = `${stack.account}/${dashboardName}`;
    const other = names.get(key);
    if (other !== undefined && other !== scope.node.path) {
      v.fail('dashboardName', `dashboardName '${dashboardName}' is already used by ${other}; dashboard names are unique per account, so give each AutoRedrive its own`);
    }
    names.set(key, scope.node.path);
  }
  const runbookUrl = props.runbookUrl ?? S.runbookUrl.default;
  v.check('runbookUrl', runbookUrlProblem(runbookUrl));
  if (props.alarmEmail !== undefined) v.check('alarmEmail', emailProblem(props.alarmEmail));

  // The default follows a long drain interval: two intervals, if that is longer.
  const backlogAgeAlarmThresholdSeconds = v.duration(
    S.backlogAgeAlarmThresholdSeconds,
    props.backlogAgeAlarmThreshold,
    Duration.seconds(Math.max(S.backlogAgeAlarmThresholdSeconds.default, 2 * drainIntervalMinutes * 60)),
  );
  if (backlogAgeAlarmThresholdSeconds <= drainIntervalMinutes * 60) {
    v.fail('backlogAgeAlarmThreshold', `backlogAgeAlarmThreshold must be longer than drainInterval (${drainIntervalMinutes} min): a pending redrive can wait one drain interval in normal operation`);
  }
  const breakerOpenAlarmThresholdSeconds = v.duration(S.breakerOpenAlarmThresholdSeconds, props.breakerOpenAlarmThreshold, Duration.seconds(S.breakerOpenAlarmThresholdSeconds.default));
  return { dashboardName, runbookUrl, alarmEmail: props.alarmEmail, backlogAgeAlarmThresholdSeconds, breakerOpenAlarmThresholdSeconds };
}

function resolveOrganization(v: PropValidator, stack: Stack, org: AutoRedriveOrganization): ResolvedOrganization {
  const prop = (s: Setting): string => v.propOf(s);
  const memberAccounts = v.list(prop(S.memberAccounts), org.memberAccounts ?? [], {
    what: 'account id',
    empty: `must list at least one account: the controller acts only on the listed accounts (${S.memberAccounts.env}) and skips events of any other`,
    element: accountIdProblem,
  });
  if (!Token.isUnresolved(stack.account) && memberAccounts.includes(stack.account)) {
    v.fail(prop(S.memberAccounts), `organization.memberAccounts must not include the stack's own account ${stack.account}: it is served with the Lambdas' own role`);
  }
  if (org.organizationId !== undefined) v.check(prop(S.organizationId), organizationIdProblem(org.organizationId));
  if (org.externalId === undefined) v.fail(prop(S.externalId), 'organization.externalId is required');
  v.check(prop(S.externalId), externalIdProblem(org.externalId));

  const servedRegions = v.list(prop(S.servedRegions), org.servedRegions ?? [stack.region], { what: 'Region', element: regionProblem });
  if (!Token.isUnresolved(stack.region) && !servedRegions.includes(stack.region)) {
    v.fail(prop(S.servedRegions), `organization.servedRegions must include the stack's Region ${stack.region}, got ${servedRegions.join(', ')}`);
  }

  const memberRoleName = org.memberRoleName ?? S.memberRoleName.default;
  v.check(prop(S.memberRoleName), roleNameProblem(memberRoleName));
  const eventBusName = org.eventBusName ?? S.centralEventBusName.default;
  v.check(prop(S.centralEventBusName), eventBusNameProblem(eventBusName));

  return { memberAccounts, organizationId: org.organizationId, externalId: org.externalId, servedRegions, memberRoleName, eventBusName };
}
