/**
 * Environment variables of the two Lambdas: the construct sets them (lib/) and the
 * config loader reads them (lambda/config.ts), both from these symbols.
 */

export const ENV = {
  policyTableName: 'POLICY_TABLE_NAME',
  ledgerTableName: 'LEDGER_TABLE_NAME',
  policyCacheTtlSeconds: 'POLICY_CACHE_TTL_SECONDS',
  redriveRatePerSecond: 'REDRIVE_RATE_PER_SECOND',
  describeRatePerSecond: 'DESCRIBE_RATE_PER_SECOND',
  peakFailuresPerSecond: 'PEAK_FAILURES_PER_SECOND',
  maxRateWaitMs: 'MAX_RATE_WAIT_MS',
  auditRetentionDays: 'AUDIT_RETENTION_DAYS',
  staleEventAfterSeconds: 'STALE_EVENT_AFTER_SECONDS',
  claimTimeoutSeconds: 'CLAIM_TIMEOUT_SECONDS',
  reconcileLookbackHours: 'RECONCILE_LOOKBACK_HOURS',
  reconcileEveryMinutes: 'RECONCILE_EVERY_MINUTES',
  reconcileMaxRunHours: 'RECONCILE_MAX_RUN_HOURS',
  eventBusName: 'EVENT_BUS_NAME',
} as const;

/**
 * Organization mode (set only by a central deployment): events from member accounts are
 * acted on through a role in each member account. Unset: single-account mode.
 */
export const ORG_ENV = {
  homeAccount: 'HOME_ACCOUNT',
  memberAccounts: 'MEMBER_ACCOUNTS',
  memberRoleName: 'MEMBER_ROLE_NAME',
  memberExternalId: 'MEMBER_EXTERNAL_ID',
  servedRegions: 'SERVED_REGIONS',
} as const;

export const DEFAULT_MEMBER_ROLE_NAME = 'AutoRedriveMember';
