/**
 * Thin adapter over the Step Functions API: turns SDK answers and errors into typed
 * outcomes the controller can record. The SDK's standard retry mode already retries
 * throttling and 5xx; what reaches this layer has exhausted those retries.
 * Errors: https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  type ExecutionStatus as SdkExecutionStatus,
} from '@aws-sdk/client-sfn';
import type { ExecutionStatus, RedriveStatus } from '../event/status-change';
import type { CurrentExecution } from '../decide/decision';
import type { HistoryEventView } from '../facts/failed-state';

export type RedriveResult =
  | { readonly kind: 'redriven'; readonly redriveDate: number }
  /** ExecutionNotRedrivable, ExecutionDoesNotExist, InvalidArn, ValidationException: final. */
  | { readonly kind: 'rejected'; readonly errorName: string; readonly message: string }
  /** Throttled or unavailable after the SDK's retries: try again later. */
  | { readonly kind: 'transient'; readonly errorName: string; readonly message: string };

const FINAL_REDRIVE_ERRORS = new Set(['ExecutionNotRedrivable', 'ExecutionDoesNotExist', 'InvalidArn', 'ValidationException']);

export interface DescribedExecution extends CurrentExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly startDate: number;
  readonly redriveDate: number | null;
  readonly cause: string | null;
}

export interface ListedExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly status: ExecutionStatus;
  readonly startDate: number;
  readonly stopDate: number | null;
  readonly redriveCount: number;
}

/** Step Functions operations the controller uses (also the IAM actions it needs). */
export interface StepFunctionsGateway {
  redrive(executionArn: string, clientToken: string): Promise<RedriveResult>;
  /** undefined when the execution does not exist. Other errors throw. */
  describe(executionArn: string): Promise<DescribedExecution | undefined>;
  /**
   * Executions of one state machine in one status that stopped at or after `since` (epoch
   * ms). Listing is newest start first; it stops at the first execution that started
   * before `startedAfter`, so a sweep does not page through 90 days of history.
   */
  listStopped(stateMachineArn: string, status: ExecutionStatus, since: number, startedAfter?: number): AsyncIterable<ListedExecution>;
  listStateMachines(): AsyncIterable<string>;
  /**
   * The execution's history, newest first, without inputs and outputs: a small first page,
   * larger ones after it, each fetched only when the reader asks for it (state-scoped
   * policies, lambda/facts/failed-state.ts). Throws ExecutionDoesNotExist as the API does.
   * Optional: gateways that predate state-scoped policies lack it (no failed state known).
   */
  historyPages?(executionArn: string): AsyncIterable<readonly HistoryEventView[]>;
  /**
   * When the most recently started execution of the state machine that is now in `status`
   * started (epoch ms), or undefined when there is none: one ListExecutions call of one
   * item (the breaker's evidence that the state machine succeeds again, lambda/breaker/probe.ts).
   * Optional: gateways without it give no evidence.
   */
  newestStartIn?(stateMachineArn: string, status: ExecutionStatus): Promise<number | undefined>;
}

/** GetExecutionHistory page sizes: most failures are named by the first few events. */
export const HISTORY_FIRST_PAGE = 20;
export const HISTORY_NEXT_PAGES = 500;

function errorName(e: unknown): string {
  return (e as { name?: string })?.name ?? 'Error';
}
function errorMessage(e: unknown): string {
  return String((e as { message?: string })?.message ?? e).slice(0, 500);
}

const ms = (d: Date | undefined): number | null => (d ? d.getTime() : null);

export class SdkStepFunctions implements StepFunctionsGateway {
  constructor(private readonly client: SFNClient = new SFNClient({})) {}

  async redrive(executionArn: string, clientToken: string): Promise<RedriveResult> {
    try {
      const out = await this.client.send(new RedriveExecutionCommand({ executionArn, clientToken }));
      return { kind: 'redriven', redriveDate: out.redriveDate?.getTime() ?? Date.now() };
    } catch (e) {
      const name = errorName(e);
      if (FINAL_REDRIVE_ERRORS.has(name)) return { kind: 'rejected', errorName: name, message: errorMessage(e) };
      return { kind: 'transient', errorName: name, message: errorMessage(e) };
    }
  }

  async describe(executionArn: string): Promise<DescribedExecution | undefined> {
    try {
      const d = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return {
        executionArn: d.executionArn ?? executionArn,
        stateMachineArn: d.stateMachineArn ?? '',
        name: d.name ?? '',
        status: (d.status ?? 'FAILED') as ExecutionStatus,
        startDate: d.startDate?.getTime() ?? 0,
        stopDate: ms(d.stopDate),
        redriveCount: d.redriveCount ?? 0,
        redriveDate: ms(d.redriveDate),
        redriveStatus: (d.redriveStatus ?? null) as RedriveStatus | null,
        redriveStatusReason: d.redriveStatusReason ?? null,
        error: d.error ?? null,
        cause: d.cause ?? null,
      };
    } catch (e) {
      if (errorName(e) === 'ExecutionDoesNotExist') return undefined;
      throw e;
    }
  }

  async *listStopped(stateMachineArn: string, status: ExecutionStatus, since: number, startedAfter = 0): AsyncIterable<ListedExecution> {
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListExecutionsCommand({ stateMachineArn, statusFilter: status as SdkExecutionStatus, maxResults: 1000, nextToken }),
      );
      for (const e of page.executions ?? []) {
        if ((e.startDate?.getTime() ?? 0) < startedAfter) return;
        const stopDate = ms(e.stopDate);
        // Sorted by start, not stop: a long-running execution can stop inside the window
        // after newer ones, so filter by stop date until the start-date bound above.
        if (stopDate !== null && stopDate < since) continue;
        yield {
          executionArn: e.executionArn!,
          stateMachineArn: e.stateMachineArn ?? stateMachineArn,
          status: (e.status ?? status) as ExecutionStatus,
          startDate: e.startDate?.getTime() ?? 0,
          stopDate,
          redriveCount: e.redriveCount ?? 0,
        };
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }

  async newestStartIn(stateMachineArn: string, status: ExecutionStatus): Promise<number | undefined> {
    // "Results are sorted by time, with the most recent execution first", and eventually
    // consistent: a very recent execution may be missing (API_ListExecutions.html).
    const page = await this.client.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: status as SdkExecutionStatus, maxResults: 1 }));
    return page.executions?.[0]?.startDate?.getTime();
  }

  async *historyPages(executionArn: string): AsyncIterable<readonly HistoryEventView[]> {
    let nextToken: string | undefined;
    let maxResults = HISTORY_FIRST_PAGE;
    do {
      const page = await this.client.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, includeExecutionData: false, maxResults, nextToken }));
      yield page.events ?? [];
      nextToken = page.nextToken;
      maxResults = HISTORY_NEXT_PAGES;
    } while (nextToken);
  }

  async *listStateMachines(): AsyncIterable<string> {
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(new ListStateMachinesCommand({ maxResults: 1000, nextToken }));
      for (const sm of page.stateMachines ?? []) if (sm.stateMachineArn && sm.type !== 'EXPRESS') yield sm.stateMachineArn; // EXPRESS: no ListExecutions, no redrive
      nextToken = page.nextToken;
    } while (nextToken);
  }
}
