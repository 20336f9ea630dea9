/**
 * The props of {@link AutoRedrive}, hand-written for their documentation. Each prop is a
 * row of the settings table (contract/settings.ts): its unit, range and default come from
 * there, and test/lib/settings.test.ts checks that these keys are exactly the table's.
 */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { RedrivableStatus } from '../contract/event-pattern';

/**
 * Organization mode of {@link AutoRedrive}: one controller for many accounts. Each member
 * account deploys `AutoRedriveMember` (lib/auto-redrive-member.ts), which forwards its
 * status-change events to the central bus created here and provides the role the
 * controller assumes. See docs/organizations.md.
 */
export interface AutoRedriveOrganization {
  /**
   * The member accounts served (12-digit ids, not this stack's own account). Required: the
   * controller acts only on events and executions of the accounts listed here
   * (MEMBER_ACCOUNTS); an event from any other account is skipped as `unknown-account`.
   * Only these accounts may put events on the central bus.
   */
  readonly memberAccounts: readonly string[];

  /**
   * AWS Organizations id (`o-...`). When set, the central bus also requires the sender to
   * belong to the organization (`aws:PrincipalOrgID`), so an account that left the
   * organization is refused even while it is still listed.
   *
   * @default - the account list alone admits senders
   */
  readonly organizationId?: string;

  /**
   * External id passed to sts:AssumeRole for the member roles (their trust policy requires
   * it). 2 to 1224 characters of letters, digits and `_+=,.@:/-`. It is a confused-deputy
   * guard, not a secret: it is visible in the Lambda configuration and the template.
   */
  readonly externalId: string;

  /**
   * Regions the reconciliation sweep lists state machines in (every served account). The
   * controller's own account is served in these Regions with its own role, so its
   * Step Functions permissions cover them. Must include the stack's Region.
   *
   * @default - the stack's Region
   */
  readonly servedRegions?: readonly string[];

  /**
   * Name of the role in every member account (AutoRedriveMember's `roleName`).
   *
   * @default 'AutoRedriveMember' (DEFAULT_MEMBER_ROLE_NAME in contract/environment.ts)
   */
  readonly memberRoleName?: string;

  /**
   * Name of the central custom event bus the member accounts forward to. Event bus names
   * are unique per account and Region.
   *
   * @default 'AutoRedriveCentral'
   */
  readonly eventBusName?: string;
}

/** Properties of {@link AutoRedrive}. */
export interface AutoRedriveProps {
  /**
   * Execution statuses that trigger a redrive decision. ABORTED is opt-in because an abort
   * is usually a person's deliberate decision.
   *
   * @default ['FAILED', 'TIMED_OUT']
   */
  readonly statuses?: readonly RedrivableStatus[];

  /**
   * Standard state machines to watch. Narrows the EventBridge rule and the Step Functions
   * IAM permissions to these machines. Each ARN must be a plain (unqualified) state
   * machine ARN in the stack's account and Region: EventBridge delivers Step Functions
   * events only to the default bus of the account and Region the execution runs in.
   *
   * @default - every state machine in the stack's account and Region
   */
  readonly stateMachineArns?: readonly string[];

  /**
   * Reserved concurrency of the controller Lambda: caps how many status-change events are
   * processed at once. Opt-in, because Lambda refuses a reservation that leaves fewer than
   * 100 unreserved executions in the account: reserving N needs an account concurrency
   * quota of at least N + 100 (new accounts often start at 10 or 50). The controller-wide
   * redrive and describe rates are enforced in DynamoDB whatever the concurrency.
   *
   * @default - no reservation (the account's unreserved pool)
   */
  readonly reservedConcurrency?: number;

  /**
   * How long a Lambda instance caches the loaded policies and the kill switch. Whole
   * seconds, between 1 second and 1 hour.
   *
   * @default Duration.seconds(60)
   */
  readonly policyCacheTtl?: Duration;

  /**
   * Global RedriveExecution rate of the whole controller (all instances, event path and
   * drain), per second. Between 1 and 1000.
   *
   * @default 50 (SETTINGS.redriveRatePerSecond in contract/settings.ts)
   */
  readonly redriveRatePerSecond?: number;

  /**
   * Global DescribeExecution rate (stale-event checks, drain re-checks, reconciliation),
   * per second. Between 1 and 100; DescribeExecution refills at only 15/s (10/s in
   * smaller Regions).
   *
   * @default 5 (SETTINGS.describeRatePerSecond in contract/settings.ts)
   */
  readonly describeRatePerSecond?: number;

  /**
   * Highest rate of failed executions per second the controller must take without a hot
   * DynamoDB partition (a failure storm across the account). Sets how many partition
   * values the ledger's `byDue` index spreads its writes over: ceil(peak × 8 / 500), at
   * most 128 (contract/due-shards.ts). Between 1 and 8000. Lowering it later strands
   * nothing: readers read every shard ever written.
   *
   * @default 1000 (SETTINGS.peakFailuresPerSecond in contract/settings.ts)
   */
  readonly peakFailuresPerSecond?: number;

  /**
   * Longest a redrive waits in-process for a rate slot before it is deferred to the drain
   * instead. Between 1 millisecond and less than the controller's 60-second timeout.
   *
   * @default Duration.millis(5000) (SETTINGS.maxRateWaitMs in contract/settings.ts)
   */
  readonly maxRateWait?: Duration;

  /**
   * How long audit records stay in the ledger before DynamoDB TTL removes them. Whole
   * days, at least 1.
   *
   * @default Duration.days(30)
   */
  readonly auditRetention?: Duration;

  /**
   * How often the drain Lambda runs (deferred redrives, abandoned claims, metrics and the
   * reconciliation sweep). Whole minutes, at least 1.
   *
   * @default Duration.minutes(1)
   */
  readonly drainInterval?: Duration;

  /**
   * How far back the reconciliation sweep looks for failed executions that no event
   * reported. Whole hours, between 1 hour and 14 days (RedriveExecution's limit).
   *
   * @default Duration.hours(24)
   */
  readonly reconcileLookback?: Duration;

  /**
   * How often the drain runs the reconciliation sweep. Whole minutes, at least
   * `drainInterval` (the sweep runs inside a drain run).
   *
   * @default Duration.minutes(15)
   */
  readonly reconcileEvery?: Duration;

  /**
   * Longest an execution may run and still be found by the reconciliation sweep (listing
   * is newest start first and stops at executions that started this long before the
   * look-back window). Events still cover longer runs. Whole hours, at least 1.
   *
   * @default Duration.hours(24)
   */
  readonly reconcileMaxRunTime?: Duration;

  /**
   * A claim older than this is treated as abandoned (a crashed Lambda) and retried. Whole
   * seconds, longer than the controller's 60-second timeout so a live claim is never
   * taken over.
   *
   * @default Duration.seconds(180) (SETTINGS.claimTimeoutSeconds in contract/settings.ts)
   */
  readonly claimTimeout?: Duration;

  /**
   * An event older than this (event time vs. now) may be stale and is checked with
   * DescribeExecution before acting on it. Whole seconds, from 1 to 600: redrives of
   * fresher events rely on the ledger plus the clientToken, which Step Functions honours
   * for 15 minutes, so the check must start well inside that window.
   *
   * @default Duration.seconds(300) (SETTINGS.staleEventAfterSeconds in contract/settings.ts)
   */
  readonly staleEventAfter?: Duration;

  /**
   * Whether the Lambdas publish `Auto Redrive Exhausted` / `Skipped` events to `eventBus`.
   *
   * @default true
   */
  readonly publishEvents?: boolean;

  /**
   * Bus the Lambdas publish their own events to, when `publishEvents` is true.
   *
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * Retention of the Lambdas' log groups.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Removal policy of the policy and ledger tables. The policy table holds hand-written
   * policies and the ledger the audit trail, so they are kept by default.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Name of the CloudWatch dashboard. Dashboard names are unique per account (across
   * Regions), so set it when more than one AutoRedrive is deployed in an account. Letters,
   * digits, '-' and '_', at most 255 characters.
   *
   * @default 'AutoRedrive'
   */
  readonly dashboardName?: string;

  /**
   * Where the runbook is: the dashboard and every alarm description link to its
   * `#runbook-...` sections (RUNBOOK in lib/observability.ts). Set it to the URL of
   * docs/runbook.md in your repository (for example
   * `https://github.com/<owner>/<repo>/blob/main/docs/runbook.md`) so the links open from
   * the console.
   *
   * @default 'docs/runbook.md'
   */
  readonly runbookUrl?: string;

  /**
   * E-mail address subscribed to the alarm topic. SNS mails a confirmation link first;
   * nothing is delivered until it is confirmed.
   *
   * @default - no subscription; subscribe to `alarmTopic` yourself
   */
  readonly alarmEmail?: string;

  /**
   * Alarm when the oldest pending redrive has been overdue for longer than this (the
   * drain's OldestPendingAgeSeconds). Whole seconds, at least 1 minute and longer than
   * `drainInterval` (an item can wait up to one interval in normal operation).
   *
   * @default - Duration.minutes(15), or two drain intervals if that is longer
   */
  readonly backlogAgeAlarmThreshold?: Duration;

  /**
   * Alarm when an outage breaker (one state machine and error) has been open longer than
   * this (the drain's BreakerOpenSeconds): an outage held that long needs a person. Whole
   * seconds, from 5 minutes to 14 days.
   *
   * @default Duration.hours(2)
   */
  readonly breakerOpenAlarmThreshold?: Duration;

  /**
   * Serve the Step Functions executions of other accounts (an AWS Organization) as well:
   * a central event bus receives their forwarded events, and the Lambdas assume a role in
   * each member account. The default-bus rule keeps serving this account.
   *
   * @default - single account: this account and Region only
   */
  readonly organization?: AutoRedriveOrganization;

  /**
   * Deploy the canary (docs/deploying.md "After deploying: prove it"): a tiny Standard
   * state machine (`AutoRedriveCanary-<stack name>`) that a schedule starts every
   * `canaryInterval`. Its first run fails; auto-redrive redrives it through the normal path
   * under its own managed policy (one redrive, no breaker); the redrive succeeds. An alarm
   * fires when no canary has recovered for two intervals plus a margin: "auto-redrive is
   * not redriving in this account". `statuses` must include FAILED. false removes the state
   * machine, its schedule, its policy item, the alarm and the dashboard widget.
   *
   * @default true
   */
  readonly canary?: boolean;

  /**
   * How often the schedule starts the canary. Whole minutes, from 5 minutes to 1 day. The
   * canary alarm's period is two intervals plus 15 minutes plus `drainInterval`.
   *
   * @default Duration.minutes(60) (CANARY_DEFAULT_INTERVAL_MINUTES in contract/canary.ts)
   */
  readonly canaryInterval?: Duration;
}
