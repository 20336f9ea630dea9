/**
 * Tells the owning team when the controller gives up on an execution: an event on the
 * default bus they can route with ordinary EventBridge rules (chat, pager, ticket).
 *   source: auto-redrive
 *   detail-type: "Auto Redrive Exhausted" (limit-reached) | "Auto Redrive Skipped"
 *                (error-not-retryable, policy-invalid, state-excluded, ...: NOTEWORTHY_SKIPS)
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Decision } from '../decide/decision';
import type { FailureFacts } from './failure-ledger';
import {
  type ApprovalRequestedDetail,
  type BreakerEventDetail,
  type BudgetEventDetail,
  CAUSE_LIMIT,
  DETAIL_TYPE_APPROVAL_REQUESTED,
  DETAIL_TYPE_EXHAUSTED,
  DETAIL_TYPE_SKIPPED,
  OWNER_EVENT_SOURCE,
} from '../../contract/owner-events';
import type { FailedState } from '../facts/failed-state';


export interface OwnerEventDetail {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly reason: string;
  readonly detail: string;
  readonly error: string | null;
  readonly cause: string | null;
  readonly redriveCount: number;
  readonly policyKey: string | null;
  readonly consoleUrl: string;
  /** The state the failure happened at, when a state-scoped policy read it (lambda/facts/failed-state.ts). */
  readonly failedState?: FailedState;
}

export interface OwnerNotifier {
  notify(decision: Decision, facts: FailureFacts, cause: string | null): Promise<void>;
  /** `Auto Redrive Breaker Opened` / `Closed` (optional: notifiers that predate the breaker). */
  notifyBreaker?(detailType: string, detail: BreakerEventDetail): Promise<void>;
  /** `Auto Redrive Approval Requested` (optional: notifiers that predate approval). */
  notifyApprovalRequested?(detail: ApprovalRequestedDetail): Promise<void>;
  /** `Auto Redrive Budget Reached` (optional: notifiers that predate the budget). */
  notifyBudget?(detailType: string, detail: BudgetEventDetail): Promise<void>;
}

export function consoleUrl(executionArn: string, region: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}

export function ownerEvent(decision: Decision, facts: FailureFacts, cause: string | null): { detailType: string; detail: OwnerEventDetail } {
  return {
    detailType: decision.reason === 'limit-reached' ? DETAIL_TYPE_EXHAUSTED : DETAIL_TYPE_SKIPPED,
    detail: {
      executionArn: facts.executionArn,
      stateMachineArn: facts.stateMachineArn,
      reason: decision.reason,
      detail: decision.detail,
      error: facts.errorName,
      cause: cause === null ? null : cause.slice(0, CAUSE_LIMIT),
      redriveCount: facts.redriveCount,
      policyKey: facts.policyKey,
      consoleUrl: consoleUrl(facts.executionArn, facts.region),
      ...(facts.failedState ? { failedState: facts.failedState } : {}),
    },
  };
}

export class EventBridgeNotifier implements OwnerNotifier {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async notify(decision: Decision, facts: FailureFacts, cause: string | null): Promise<void> {
    const { detailType, detail } = ownerEvent(decision, facts, cause);
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: this.eventBusName, Source: OWNER_EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail), Resources: [facts.executionArn] },
        ],
      }),
    );
    if (out.FailedEntryCount) throw new Error(`PutEvents failed for ${facts.executionArn}: ${out.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
  }

  async notifyBreaker(detailType: string, detail: BreakerEventDetail): Promise<void> {
    await this.putStateMachineEvent(detailType, detail);
  }

  async notifyBudget(detailType: string, detail: BudgetEventDetail): Promise<void> {
    await this.putStateMachineEvent(detailType, detail);
  }

  /** One owner event about a state machine (its ARN the event's resource). */
  private async putStateMachineEvent(detailType: string, detail: { readonly stateMachineArn: string }): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: this.eventBusName, Source: OWNER_EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail), Resources: [detail.stateMachineArn] },
        ],
      }),
    );
    if (out.FailedEntryCount) throw new Error(`PutEvents failed for ${detail.stateMachineArn}: ${out.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
  }

  async notifyApprovalRequested(detail: ApprovalRequestedDetail): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: this.eventBusName, Source: OWNER_EVENT_SOURCE, DetailType: DETAIL_TYPE_APPROVAL_REQUESTED, Detail: JSON.stringify(detail), Resources: [detail.executionArn] },
        ],
      }),
    );
    if (out.FailedEntryCount) throw new Error(`PutEvents failed for ${detail.executionArn}: ${out.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
  }
}

/** Local and tests: keeps the events. */
export class MemoryNotifier implements OwnerNotifier {
  readonly events: Array<{ detailType: string; detail: OwnerEventDetail }> = [];
  readonly breakerEvents: Array<{ detailType: string; detail: BreakerEventDetail }> = [];
  async notify(decision: Decision, facts: FailureFacts, cause: string | null): Promise<void> {
    this.events.push(ownerEvent(decision, facts, cause));
  }
  async notifyBreaker(detailType: string, detail: BreakerEventDetail): Promise<void> {
    this.breakerEvents.push({ detailType, detail });
  }
  readonly approvalRequests: ApprovalRequestedDetail[] = [];
  async notifyApprovalRequested(detail: ApprovalRequestedDetail): Promise<void> {
    this.approvalRequests.push(detail);
  }
  readonly budgetEvents: Array<{ detailType: string; detail: BudgetEventDetail }> = [];
  async notifyBudget(detailType: string, detail: BudgetEventDetail): Promise<void> {
    this.budgetEvents.push({ detailType, detail });
  }
}
