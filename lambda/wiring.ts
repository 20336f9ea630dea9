/**
 * Builds the controller's dependencies from configuration: the real AWS SDK clients
 * (which honour AWS_ENDPOINT_URL_SFN / AWS_ENDPOINT_URL_DYNAMODB, so the same wiring runs
 * against the local stand-in) and the DynamoDB-backed ledger, audit trail and limiters.
 * Lambda handlers, the local loop and redrivectl all build their controller here.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { indexShardsFor } from '../contract/due-shards';
import { type ControllerConfig, SINGLE_ACCOUNT } from './config';
import type { ControllerDeps } from './event-path';
import { DynamoRateLimiter, type RateLimiter } from './act/rate-limiter';
import type { StepFunctionsGateway } from './act/step-functions';
import { AccountRouter, type SfnClientFactory } from './act/account-router';
import { REQUEST_TIMEOUTS } from './act/request-timeouts';
import type { Log, MetricsRecorder } from './observability/telemetry';
import { HISTORY_LEASE_TIMING, HISTORY_RATE_PER_SECOND } from './facts/failed-state-source';
import { PolicySource } from './policy/policy-source';
import { AuditTrail } from './record/audit-trail';
import { DrainLease } from './record/drain-lease';
import { BreakerStore } from './record/breaker-store';
import { CanaryStatusStore } from './record/canary-status';
import { DynamoBudgetStore } from './record/budget-store';
import { RedriveBudget } from './act/redrive-budget';
import { FailureLedger } from './record/failure-ledger';
import { ApprovalRecords } from './record/approval-records';
import { KillSwitch } from './record/kill-switch';
import { EventBridgeNotifier, type OwnerNotifier } from './record/owner-notifier';
import { SweepSchedule } from './record/sweep-schedule';

export interface WiringOptions {
  readonly log: Log;
  readonly metrics: MetricsRecorder;
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly dynamodb?: DynamoDBClient;
  readonly stepFunctions?: StepFunctionsGateway;
  readonly notifier?: OwnerNotifier;
  /** Replace the controller-wide redrive limiter (benchmarks of the naive redriver). */
  readonly redriveRate?: RateLimiter;
  /** How clients for each account and Region are made (tests: local endpoints, fake role credentials). */
  readonly sfnClientFactory?: SfnClientFactory;
  /** How often the decision counters are written at most (audit-trail.ts). @default COUNTER_FLUSH_MS */
  readonly counterFlushMs?: number;
}

export interface Wired extends ControllerDeps {
  readonly breakers: BreakerStore;
  readonly killSwitch: KillSwitch;
  readonly sweepSchedule: SweepSchedule;
  readonly drainLease: DrainLease;
  readonly doc: DynamoDBDocumentClient;
  readonly approvals: ApprovalRecords;
}

export const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function wire(config: ControllerConfig, options: WiringOptions): Wired {
  const dynamodb = options.dynamodb ?? new DynamoDBClient({ requestHandler: REQUEST_TIMEOUTS });
  const doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const killSwitch = new KillSwitch(doc, config.ledgerTableName);
  const notifier =
    options.notifier ?? (config.eventBusName ? new EventBridgeNotifier(new EventBridgeClient({ requestHandler: REQUEST_TIMEOUTS }), config.eventBusName) : undefined);
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const org = config.organization ?? SINGLE_ACCOUNT;
  const router = new AccountRouter(
    {
      homeAccount: org.homeAccount,
      memberAccounts: org.memberAccounts,
      regions: org.servedRegions,
      roleName: org.memberRoleName,
      externalId: org.memberExternalId,
      partition: 'aws',
    },
    options.sfnClientFactory,
  );
  return {
    config,
    doc,
    killSwitch,
    sweepSchedule: new SweepSchedule(doc, config.ledgerTableName),
    drainLease: new DrainLease(doc, config.ledgerTableName),
    policies: new PolicySource(dynamodb, config.policyTableName, killSwitch, config.policyCacheTtlSeconds * 1000, options.log, options.metrics),
    ledger: new FailureLedger(doc, config.ledgerTableName, config.auditRetentionDays, indexShardsFor(config.peakFailuresPerSecond), clock),
    audit: new AuditTrail(doc, config.ledgerTableName, config.auditRetentionDays, options.counterFlushMs),
    breakers: new BreakerStore(doc, config.ledgerTableName, clock),
    canaryStatus: new CanaryStatusStore(doc, config.ledgerTableName),
    budget: new RedriveBudget(new DynamoBudgetStore(doc, config.ledgerTableName), clock),
    stepFunctions: options.stepFunctions ?? router,
    accounts: router,
    redriveRate: options.redriveRate ?? new DynamoRateLimiter(doc, config.ledgerTableName, 'RedriveExecution', config.redriveRatePerSecond, clock, { sleep }),
    describeRate: new DynamoRateLimiter(doc, config.ledgerTableName, 'DescribeExecution', config.describeRatePerSecond, clock, { sleep }),
    historyRate: new DynamoRateLimiter(doc, config.ledgerTableName, 'GetExecutionHistory', HISTORY_RATE_PER_SECOND, clock, { sleep, timing: HISTORY_LEASE_TIMING }),
    clock,
    sleep,
    log: options.log,
    metrics: options.metrics,
    maxRateWaitMs: config.maxRateWaitMs,
    claimTimeoutMs: config.claimTimeoutSeconds * 1000,
    notifier,
    approvals: new ApprovalRecords(doc, config.ledgerTableName, config.auditRetentionDays),
  };
}
