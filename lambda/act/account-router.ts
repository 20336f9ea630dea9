/**
 * Step Functions in many accounts and Regions, behind one StepFunctionsGateway. Each call
 * is routed by the account and Region in the ARN it acts on, never by an event's
 * `account` field, so a forged event cannot point the controller's credentials at another
 * account's execution. The controller's own account uses its own role; member accounts are
 * reached by assuming their AutoRedriveMember role (with an external id), with credentials
 * and clients cached per account and Region.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { REQUEST_TIMEOUTS } from './request-timeouts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { ExecutionStatus } from '../event/status-change';
import { parseExecutionArn, parseStateMachineArn } from '../../contract/arn';
import type { HistoryEventView } from '../facts/failed-state';
import { type DescribedExecution, type ListedExecution, type RedriveResult, SdkStepFunctions, type StepFunctionsGateway } from './step-functions';

export interface AccountScope {
  /** The controller's own account. Undefined: single-account mode, any account in ARNs is its own. */
  readonly homeAccount: string | undefined;
  /** Regions the reconciliation sweep covers. */
  readonly regions: readonly string[];
  /** Member accounts reached through `roleName`. */
  readonly memberAccounts: readonly string[];
  readonly roleName: string;
  readonly externalId: string | undefined;
  readonly partition: string;
}

/** A client for one account and Region; `roleArn` unset means the controller's own credentials. */
export type SfnClientFactory = (target: { account: string; region: string; roleArn?: string; externalId?: string }) => SFNClient;

export class UnknownAccountError extends Error {
  constructor(readonly account: string, readonly arn: string) {
    super(`account ${account} (from ${arn}) is not one this controller serves`);
    this.name = 'UnknownAccountError';
  }
}

export const defaultSfnClientFactory: SfnClientFactory = ({ region, roleArn, externalId }) =>
  new SFNClient({
    region,
    requestHandler: REQUEST_TIMEOUTS,
    credentials: roleArn
      ? fromTemporaryCredentials({
          params: { RoleArn: roleArn, ExternalId: externalId, RoleSessionName: 'auto-redrive', DurationSeconds: 3600 },
          clientConfig: { region },
        })
      : undefined,
  });

export class AccountRouter implements StepFunctionsGateway {
  private readonly gateways = new Map<string, SdkStepFunctions>();

  constructor(
    private readonly scope: AccountScope,
    private readonly factory: SfnClientFactory = defaultSfnClientFactory,
  ) {}

  /** Whether events from `account` may be acted on. */
  allows(account: string): boolean {
    return this.scope.homeAccount === undefined || account === this.scope.homeAccount || this.scope.memberAccounts.includes(account);
  }

  /**
   * Whether the controller still serves an execution in `account` and `region`: its account
   * is served and, in organization mode, its Region is one of the served Regions (the
   * controller's own role may act only there; a member's events from elsewhere are no
   * longer forwarded). A failure recorded before the account or Region was removed is not.
   */
  serves(account: string, region: string): boolean {
    return this.allows(account) && (this.scope.homeAccount === undefined || this.scope.regions.includes(region));
  }

  redrive(executionArn: string, clientToken: string): Promise<RedriveResult> {
    const p = parseExecutionArn(executionArn);
    return this.gateway(p.account, p.region, executionArn).redrive(executionArn, clientToken);
  }

  describe(executionArn: string): Promise<DescribedExecution | undefined> {
    const p = parseExecutionArn(executionArn);
    return this.gateway(p.account, p.region, executionArn).describe(executionArn);
  }

  listStopped(stateMachineArn: string, status: ExecutionStatus, since: number, startedAfter?: number): AsyncIterable<ListedExecution> {
    const p = parseStateMachineArn(stateMachineArn);
    return this.gateway(p.account, p.region, stateMachineArn).listStopped(stateMachineArn, status, since, startedAfter);
  }

  newestStartIn(stateMachineArn: string, status: ExecutionStatus): Promise<number | undefined> {
    const p = parseStateMachineArn(stateMachineArn);
    return this.gateway(p.account, p.region, stateMachineArn).newestStartIn(stateMachineArn, status);
  }

  historyPages(executionArn: string): AsyncIterable<readonly HistoryEventView[]> {
    const p = parseExecutionArn(executionArn);
    return this.gateway(p.account, p.region, executionArn).historyPages(executionArn);
  }

  /** Every state machine in every served account and Region. */
  async *listStateMachines(): AsyncIterable<string> {
    const accounts = this.scope.homeAccount === undefined ? [undefined] : [this.scope.homeAccount, ...this.scope.memberAccounts];
    for (const account of accounts) {
      for (const region of this.scope.regions) {
        yield* this.gateway(account ?? '', region, `${account ?? 'home'}/${region}`).listStateMachines();
      }
    }
  }

  private gateway(account: string, region: string, arn: string): SdkStepFunctions {
    if (account !== '' && !this.allows(account)) throw new UnknownAccountError(account, arn);
    const key = `${account}/${region}`;
    let gateway = this.gateways.get(key);
    if (!gateway) {
      const member = this.scope.homeAccount !== undefined && account !== this.scope.homeAccount;
      const roleArn = member ? `arn:${this.scope.partition}:iam::${account}:role/${this.scope.roleName}` : undefined;
      gateway = new SdkStepFunctions(this.factory({ account, region, roleArn, externalId: member ? this.scope.externalId : undefined }));
      this.gateways.set(key, gateway);
    }
    return gateway;
  }
}
