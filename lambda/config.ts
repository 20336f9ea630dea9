/**
 * The controller's configuration, read from environment variables. The CDK construct
 * imports `ENV` so the names it sets and the names the Lambda reads are the same symbols.
 */

export const ENV = {
  policyTableName: 'POLICY_TABLE_NAME',
  ledgerTableName: 'LEDGER_TABLE_NAME',
  policyCacheTtlSeconds: 'POLICY_CACHE_TTL_SECONDS',
  redriveRatePerSecond: 'REDRIVE_RATE_PER_SECOND',
  describeRatePerSecond: 'DESCRIBE_RATE_PER_SECOND',
  maxRateWaitMs: 'MAX_RATE_WAIT_MS',
  auditRetentionDays: 'AUDIT_RETENTION_DAYS',
  staleEventAfterSeconds: 'STALE_EVENT_AFTER_SECONDS',
  claimTimeoutSeconds: 'CLAIM_TIMEOUT_SECONDS',
  reconcileLookbackHours: 'RECONCILE_LOOKBACK_HOURS',
  reconcileEveryMinutes: 'RECONCILE_EVERY_MINUTES',
  eventBusName: 'EVENT_BUS_NAME',
} as const;

export interface ControllerConfig {
  readonly policyTableName: string;
  readonly ledgerTableName: string;
  /** How long loaded policies and the kill switch are cached in a Lambda instance. */
  readonly policyCacheTtlSeconds: number;
  /** Global RedriveExecution rate of the whole controller (all instances, both paths). */
  readonly redriveRatePerSecond: number;
  /** Global DescribeExecution rate (stale checks, drain re-checks, reconciliation). */
  readonly describeRatePerSecond: number;
  /** Longest a redrive waits in-process for its rate slot before it is deferred instead. */
  readonly maxRateWaitMs: number;
  readonly auditRetentionDays: number;
  /** An event older than this (event time vs now) may be stale and is checked first. */
  readonly staleEventAfterSeconds: number;
  /** A claim older than this is treated as abandoned (crashed Lambda) and retried. */
  readonly claimTimeoutSeconds: number;
  readonly reconcileLookbackHours: number;
  readonly reconcileEveryMinutes: number;
  /** Bus for `Auto Redrive Exhausted` / `Skipped` events; empty = do not emit. */
  readonly eventBusName: string | undefined;
}

export const DEFAULTS = {
  policyCacheTtlSeconds: 60,
  // Well below RedriveExecution's refill of 300/s (us-east-1, us-west-2, eu-west-1) and
  // 150/s elsewhere, leaving room for people and other tools in the same account.
  // https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
  redriveRatePerSecond: 50,
  // DescribeExecution refills at only 15/s (10/s in smaller Regions).
  describeRatePerSecond: 5,
  maxRateWaitMs: 5_000,
  auditRetentionDays: 30,
  staleEventAfterSeconds: 300,
  claimTimeoutSeconds: 180,
  reconcileLookbackHours: 24,
  reconcileEveryMinutes: 15,
} as const;

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(name, 'is required but not set');
  return v;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(name, `must be a positive number, got '${raw}'`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  return {
    policyTableName: required(env, ENV.policyTableName),
    ledgerTableName: required(env, ENV.ledgerTableName),
    policyCacheTtlSeconds: positiveNumber(env, ENV.policyCacheTtlSeconds, DEFAULTS.policyCacheTtlSeconds),
    redriveRatePerSecond: positiveNumber(env, ENV.redriveRatePerSecond, DEFAULTS.redriveRatePerSecond),
    describeRatePerSecond: positiveNumber(env, ENV.describeRatePerSecond, DEFAULTS.describeRatePerSecond),
    maxRateWaitMs: positiveNumber(env, ENV.maxRateWaitMs, DEFAULTS.maxRateWaitMs),
    auditRetentionDays: positiveNumber(env, ENV.auditRetentionDays, DEFAULTS.auditRetentionDays),
    staleEventAfterSeconds: positiveNumber(env, ENV.staleEventAfterSeconds, DEFAULTS.staleEventAfterSeconds),
    claimTimeoutSeconds: positiveNumber(env, ENV.claimTimeoutSeconds, DEFAULTS.claimTimeoutSeconds),
    reconcileLookbackHours: positiveNumber(env, ENV.reconcileLookbackHours, DEFAULTS.reconcileLookbackHours),
    reconcileEveryMinutes: positiveNumber(env, ENV.reconcileEveryMinutes, DEFAULTS.reconcileEveryMinutes),
    eventBusName: env[ENV.eventBusName] || undefined,
  };
}
