/**
 * What every command needs from the global options: where the tables and the DLQ are,
 * and AWS SDK clients built the standard way (credential chain, Region, and the
 * AWS_ENDPOINT_URL_* variables, which is also how `--local` reaches the stand-ins).
 *
 * Resolution order for each table: the flag, then (with --local) the running local
 * stand-in, then AUTO_REDRIVE_POLICY_TABLE / AUTO_REDRIVE_LEDGER_TABLE, then (with
 * --stack or AUTO_REDRIVE_STACK) the deployed stack's outputs PolicyTableName /
 * LedgerTableName / DeadLetterQueueUrl. The stack generates its table names, so there is
 * no fixed default.
 */
import * as os from 'node:os';
import type { Command } from 'commander';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigError, type ControllerConfig, DEFAULTS, loadOrganization } from '../lambda/config';
import type { RateLimiter } from '../lambda/act/rate-limiter';
import { InMemoryMetrics, type Log, MemoryLog } from '../lambda/observability/telemetry';
import { AuditTrail } from '../lambda/record/audit-trail';
import { BreakerStore } from '../lambda/record/breaker-store';
import { FailureLedger } from '../lambda/record/failure-ledger';
import { KillSwitch } from '../lambda/record/kill-switch';
import { PolicySource } from '../lambda/policy/policy-source';
import { wire, type Wired } from '../lambda/wiring';
import { usage } from './errors';
import { type LocalState, readLocalState } from './local-state';
import { stackTargets } from './stack-outputs';
import { Output, type OutputFormat } from './output';

export const ENV_VARS = {
  stack: 'AUTO_REDRIVE_STACK',
  policyTable: 'AUTO_REDRIVE_POLICY_TABLE',
  ledgerTable: 'AUTO_REDRIVE_LEDGER_TABLE',
  dlqUrl: 'AUTO_REDRIVE_DLQ_URL',
} as const;

export interface GlobalOptions {
  readonly output: OutputFormat;
  readonly region?: string;
  readonly profile?: string;
  readonly local?: boolean;
  readonly stack?: string;
  readonly policyTable?: string;
  readonly ledgerTable?: string;
  readonly dlqUrl?: string;
  readonly verbose?: boolean;
}

/** redrivectl re-reads policies and the kill switch this often during long runs (backfill). */
const CLI_POLICY_CACHE_TTL_SECONDS = 5;

export class CliContext {
  readonly out: Output;
  readonly log: Log;
  readonly metrics = new InMemoryMetrics();
  private tables: { policy?: string; ledger?: string };
  private queueUrl: string | undefined;
  private readonly stackName: string | undefined;
  /** With --local: the running stand-ins' hand-over file (endpoints, tables, config). */
  readonly localState: LocalState | undefined;
  private clients: { dynamodb?: DynamoDBClient; doc?: DynamoDBDocumentClient; sqs?: SQSClient } = {};

  constructor(
    readonly options: GlobalOptions,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.out = new Output(options.output);
    // The controller's own log lines (warnings about invalid policies, deferrals) are
    // noise on a terminal; --verbose shows warnings and errors on stderr.
    this.log = new MemoryLog((line) => {
      if (options.verbose && (line.level === 'warn' || line.level === 'error')) {
        process.stderr.write(`redrivectl: ${line.level}: ${line.message} ${JSON.stringify(line.attributes)}\n`);
      }
    });
    // Standard AWS configuration: set before any client exists, as the AWS CLI does.
    if (options.profile) env.AWS_PROFILE = options.profile;
    if (options.region) env.AWS_REGION = options.region;
    let local: LocalState | undefined;
    if (options.local) {
      local = readLocalState(env);
      env.AWS_ENDPOINT_URL_SFN = local.endpoints.sfn;
      env.AWS_ENDPOINT_URL_DYNAMODB = local.endpoints.dynamodb;
      env.AWS_ENDPOINT_URL_SQS = local.endpoints.sqs;
      if (local.eventBridge) env.AWS_ENDPOINT_URL_EVENTBRIDGE = local.eventBridge.endpoint;
      env.AWS_REGION = local.region;
      env.AWS_ACCESS_KEY_ID = 'local';
      env.AWS_SECRET_ACCESS_KEY = 'local';
      delete env.AWS_SESSION_TOKEN;
      delete env.AWS_PROFILE;
    }
    this.tables = {
      policy: options.policyTable || local?.tables.policy || env[ENV_VARS.policyTable] || undefined,
      ledger: options.ledgerTable || local?.tables.ledger || env[ENV_VARS.ledgerTable] || undefined,
    };
    this.queueUrl = options.dlqUrl || local?.dlqUrl || env[ENV_VARS.dlqUrl] || undefined;
    this.stackName = local ? undefined : options.stack || env[ENV_VARS.stack] || undefined;
    this.localState = local;
  }

  /** Fills what the flags and variables left open from the stack's outputs (--stack). */
  async resolve(): Promise<void> {
    if (!this.stackName || (this.tables.policy && this.tables.ledger && this.queueUrl)) return;
    const targets = await stackTargets(this.stackName);
    this.tables = { policy: this.tables.policy ?? targets.policyTable, ledger: this.tables.ledger ?? targets.ledgerTable };
    this.queueUrl ??= targets.dlqUrl;
  }

  get policyTable(): string {
    if (!this.tables.policy) {
      throw usage(`policy table: not set: pass --stack <name> (the deployed AutoRedriveStack), --policy-table or ${ENV_VARS.policyTable}, or use --local`);
    }
    return this.tables.policy;
  }

  get ledgerTable(): string {
    if (!this.tables.ledger) {
      throw usage(`ledger table: not set: pass --stack <name> (the deployed AutoRedriveStack), --ledger-table or ${ENV_VARS.ledgerTable}, or use --local`);
    }
    return this.tables.ledger;
  }

  /** The stack named by --stack / AUTO_REDRIVE_STACK (never with --local). */
  get stack(): string | undefined {
    return this.stackName;
  }

  get dlqUrl(): string | undefined {
    return this.queueUrl;
  }

  dynamodb(): DynamoDBClient {
    return (this.clients.dynamodb ??= new DynamoDBClient({}));
  }

  doc(): DynamoDBDocumentClient {
    return (this.clients.doc ??= DynamoDBDocumentClient.from(this.dynamodb(), { marshallOptions: { removeUndefinedValues: true } }));
  }

  sqs(): SQSClient {
    return (this.clients.sqs ??= new SQSClient({}));
  }

  config(): ControllerConfig {
    let organization: ControllerConfig['organization'];
    try {
      // Single account unless HOME_ACCOUNT / MEMBER_ACCOUNTS / ... are set, as for the Lambdas.
      organization = loadOrganization(this.env);
    } catch (e) {
      if (e instanceof ConfigError) throw usage(`environment: ${e.message}`);
      throw e;
    }
    return {
      ...DEFAULTS,
      organization,
      policyCacheTtlSeconds: CLI_POLICY_CACHE_TTL_SECONDS,
      policyTableName: this.policyTable,
      ledgerTableName: this.ledgerTable,
      // Owner notifications (Exhausted/Skipped events) are the Lambdas' job.
      eventBusName: undefined,
    };
  }

  /**
   * The controller's dependencies, exactly as the Lambdas build them (Step Functions
   * calls routed by the account and Region in each ARN). Built once per command.
   */
  wire(options: { redriveRate?: RateLimiter } = {}): Wired {
    return wire(this.config(), {
      log: this.log,
      metrics: this.metrics,
      dynamodb: this.dynamodb(),
      redriveRate: options.redriveRate,
    });
  }

  killSwitch(): KillSwitch {
    return new KillSwitch(this.doc(), this.ledgerTable);
  }

  /** For reading: it reads every byDue shard the deployment recorded (its own writes use shard 0, always read). */
  ledger(): FailureLedger {
    return new FailureLedger(this.doc(), this.ledgerTable, DEFAULTS.auditRetentionDays);
  }

  breakers(): BreakerStore {
    return new BreakerStore(this.doc(), this.ledgerTable);
  }

  audit(): AuditTrail {
    return new AuditTrail(this.doc(), this.ledgerTable, DEFAULTS.auditRetentionDays);
  }

  policySource(): PolicySource {
    return new PolicySource(this.dynamodb(), this.policyTable, this.killSwitch(), 0, this.log, this.metrics);
  }

  /** Who is acting, for updatedBy / pause `by`: AUTO_REDRIVE_ACTOR, else user@host. */
  actor(): string {
    if (this.env.AUTO_REDRIVE_ACTOR) return this.env.AUTO_REDRIVE_ACTOR;
    let user = this.env.USER || this.env.USERNAME || 'unknown';
    try {
      user = os.userInfo().username || user;
    } catch {
      // No passwd entry (containers): keep the environment's answer.
    }
    return `${user}@${os.hostname()} (redrivectl)`;
  }

  close(): void {
    this.clients.dynamodb?.destroy();
    this.clients.sqs?.destroy();
    this.clients = {};
  }
}

/**
 * A commander action with a context built from the global options; clients are closed
 * afterwards. Commander passes (positionals..., options, command).
 */
export function withContext<A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const ctx = new CliContext(command.optsWithGlobals() as GlobalOptions);
    try {
      await ctx.resolve();
      await fn(ctx, ...(args.slice(0, -1) as A));
    } finally {
      ctx.close();
    }
  };
}
