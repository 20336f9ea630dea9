/**
 * The controller's configuration, read from environment variables. The variable names
 * live in contract/environment.ts, which the CDK construct sets from the same symbols;
 * the tunables, their variables and defaults come from the settings table
 * (contract/settings.ts).
 */
import { DEFAULT_MEMBER_ROLE_NAME, ENV, ORG_ENV } from '../contract/environment';
import { RUNTIME_NUMBER_IDS, type RuntimeNumberId, SETTINGS } from '../contract/settings';

export interface OrganizationConfig {
  /** The controller's own account; undefined = accept the account the ARNs name (single account). */
  readonly homeAccount: string | undefined;
  readonly memberAccounts: readonly string[];
  readonly memberRoleName: string;
  readonly memberExternalId: string | undefined;
  /** Regions the reconciliation sweep lists. */
  readonly servedRegions: readonly string[];
}

export interface ControllerConfig {
  readonly policyTableName: string;
  readonly ledgerTableName: string;
  /** How long loaded policies and the kill switch are cached in a Lambda instance. */
  readonly policyCacheTtlSeconds: number;
  /** Global RedriveExecution rate of the whole controller (all instances, both paths). */
  readonly redriveRatePerSecond: number;
  /** Global DescribeExecution rate (stale checks, drain re-checks, reconciliation). */
  readonly describeRatePerSecond: number;
  /** Failures per second the ledger's index must take without a hot partition: sets its shard count (contract/due-shards.ts). */
  readonly peakFailuresPerSecond: number;
  /** Longest a redrive waits in-process for its rate slot before it is deferred instead. */
  readonly maxRateWaitMs: number;
  readonly auditRetentionDays: number;
  /** An event older than this (event time vs now) may be stale and is checked first. */
  readonly staleEventAfterSeconds: number;
  /** A claim older than this is treated as abandoned (crashed Lambda) and retried. */
  readonly claimTimeoutSeconds: number;
  readonly reconcileLookbackHours: number;
  readonly reconcileEveryMinutes: number;
  /**
   * Longest an execution may have run and still be found by the sweep: listing (newest
   * start first) stops at executions that started this long before the window.
   */
  readonly reconcileMaxRunHours: number;
  /** Bus for `Auto Redrive Exhausted` / `Skipped` events; empty = do not emit. */
  readonly eventBusName: string | undefined;
  /** @default SINGLE_ACCOUNT */
  readonly organization?: OrganizationConfig;
}

/** The numeric tunables' defaults, from the settings table (contract/settings.ts). */
export const DEFAULTS = Object.fromEntries(
  RUNTIME_NUMBER_IDS.map((id) => [id, SETTINGS[id].default]),
) as { readonly [K in RuntimeNumberId]: (typeof SETTINGS)[K]['default'] };

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

function accountList(env: NodeJS.ProcessEnv, name: string): string[] {
  const raw = (env[name] ?? '').trim();
  if (raw === '') return [];
  const accounts = raw.split(',').map((a) => a.trim());
  const bad = accounts.find((a) => !/^\d{12}$/.test(a));
  if (bad !== undefined) throw new ConfigError(name, `'${bad}' is not a 12-digit account id`);
  return accounts;
}

export function loadOrganization(env: NodeJS.ProcessEnv = process.env): OrganizationConfig {
  const home = env[ORG_ENV.homeAccount] || undefined;
  if (home !== undefined && !/^\d{12}$/.test(home)) throw new ConfigError(ORG_ENV.homeAccount, `'${home}' is not a 12-digit account id`);
  const regions = (env[ORG_ENV.servedRegions] || env.AWS_REGION || 'us-east-1').split(',').map((r) => r.trim()).filter(Boolean);
  return {
    homeAccount: home,
    memberAccounts: accountList(env, ORG_ENV.memberAccounts),
    memberRoleName: env[ORG_ENV.memberRoleName] || DEFAULT_MEMBER_ROLE_NAME,
    memberExternalId: env[ORG_ENV.memberExternalId] || undefined,
    servedRegions: regions,
  };
}

/** Single account, one Region: the local stand-in and most tests. */
export const SINGLE_ACCOUNT: OrganizationConfig = {
  homeAccount: undefined,
  memberAccounts: [],
  memberRoleName: DEFAULT_MEMBER_ROLE_NAME,
  memberExternalId: undefined,
  servedRegions: ['us-east-1'],
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const tunables = Object.fromEntries(
    RUNTIME_NUMBER_IDS.map((id) => [id, positiveNumber(env, SETTINGS[id].env, DEFAULTS[id])]),
  ) as Record<RuntimeNumberId, number>;
  return {
    organization: loadOrganization(env),
    policyTableName: required(env, ENV.policyTableName),
    ledgerTableName: required(env, ENV.ledgerTableName),
    ...tunables,
    eventBusName: env[ENV.eventBusName] || undefined,
  };
}
