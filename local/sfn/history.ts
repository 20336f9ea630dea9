/**
 * Execution histories of the stand-in's linear workflows, shaped as GetExecutionHistory
 * returns them (API_HistoryEvent: id, previousEventId, timestamp, type and the type's
 * details), so the controller's history reader (lambda/facts/failed-state.ts) runs against
 * the same shapes as on AWS. One run of a state appends its events; a redrive appends
 * ExecutionRedriven and the failed state's events again. Events of one linear run form one
 * chain: each event's previousEventId is the event before it.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
 */
import { paginate } from './paging';
import type { StateDefinition } from './workflow';

/** One history event; timestamps epoch ms (AWS JSON sends epoch seconds). */
export interface HistoryEventRecord {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: number;
  readonly type: string;
  readonly details?: { readonly key: string; readonly value: Record<string, unknown> };
}

type StateOutcome = { ok: true; data?: unknown } | { ok: false; error?: string; cause?: string };

/** `<Type>StateEntered` / `<Type>StateExited` names, as the API spells them. */
const STATE_EVENT_PREFIX: Record<StateDefinition['type'], string> = { Task: 'Task', Pass: 'Pass', Succeed: 'Succeed', Fail: 'Fail' };

/** Fields that carry execution data, left out when includeExecutionData is false. */
const DATA_FIELDS = new Set(['input', 'output', 'inputDetails', 'outputDetails', 'parameters']);

export class ExecutionHistories {
  private readonly byExecution = new Map<string, HistoryEventRecord[]>();

  started(executionArn: string, at: number, input: string, roleArn: string): void {
    this.byExecution.set(executionArn, []);
    this.append(executionArn, at, 'ExecutionStarted', 'executionStartedEventDetails', { input, inputDetails: { truncated: false }, roleArn });
  }

  /** One run of one state: entered, its work, and exited unless it failed. */
  stateRan(executionArn: string, at: number, name: string, state: StateDefinition, input: unknown, outcome: StateOutcome): void {
    const prefix = STATE_EVENT_PREFIX[state.type];
    const json = (v: unknown) => JSON.stringify(v ?? null);
    this.append(executionArn, at, `${prefix}StateEntered`, 'stateEnteredEventDetails', { name, input: json(input), inputDetails: { truncated: false } });
    if (state.type === 'Task') {
      const task = { resourceType: 'lambda', resource: 'invoke' };
      this.append(executionArn, at, 'TaskScheduled', 'taskScheduledEventDetails', { ...task, region: 'us-east-1', parameters: JSON.stringify({ FunctionName: state.resource }) });
      this.append(executionArn, at, 'TaskStarted', 'taskStartedEventDetails', task);
      if (!outcome.ok) return void this.append(executionArn, at, 'TaskFailed', 'taskFailedEventDetails', { ...task, error: outcome.error, cause: outcome.cause });
      this.append(executionArn, at, 'TaskSucceeded', 'taskSucceededEventDetails', { ...task, output: json(outcome.data), outputDetails: { truncated: false } });
    }
    if (state.type === 'Fail' || !outcome.ok) return;
    this.append(executionArn, at, `${prefix}StateExited`, 'stateExitedEventDetails', { name, output: json(outcome.ok ? outcome.data : null), outputDetails: { truncated: false } });
  }

  ended(executionArn: string, at: number, end: { status: string; output?: string; error?: string; cause?: string }): void {
    if (end.status === 'SUCCEEDED') this.append(executionArn, at, 'ExecutionSucceeded', 'executionSucceededEventDetails', { output: end.output, outputDetails: { truncated: false } });
    else if (end.status === 'FAILED') this.append(executionArn, at, 'ExecutionFailed', 'executionFailedEventDetails', { error: end.error, cause: end.cause });
    else if (end.status === 'ABORTED') this.append(executionArn, at, 'ExecutionAborted', 'executionAbortedEventDetails', { error: end.error, cause: end.cause });
    else if (end.status === 'TIMED_OUT') this.append(executionArn, at, 'ExecutionTimedOut', 'executionTimedOutEventDetails', { error: end.error, cause: end.cause });
  }

  redriven(executionArn: string, at: number, redriveCount: number): void {
    this.append(executionArn, at, 'ExecutionRedriven', 'executionRedrivenEventDetails', { redriveCount });
  }

  events(executionArn: string): readonly HistoryEventRecord[] {
    return this.byExecution.get(executionArn) ?? [];
  }

  /** One GetExecutionHistory page, in the API's JSON shape. */
  page(executionArn: string, p: { reverseOrder: boolean; includeExecutionData: boolean; limit: number; nextToken?: string }): { events: object[]; nextToken?: string } {
    const scope = JSON.stringify([executionArn, p.reverseOrder]);
    const page = paginate(this.events(executionArn), (e) => [p.reverseOrder ? -e.id : e.id], scope, p.limit, p.nextToken);
    return { events: page.items.map((e) => toJson(e, p.includeExecutionData)), nextToken: page.nextToken };
  }

  private append(executionArn: string, at: number, type: string, key: string, value: Record<string, unknown>): void {
    const events = this.byExecution.get(executionArn);
    if (!events) return;
    const id = events.length + 1;
    events.push({ id, previousEventId: id - 1, timestamp: at, type, details: { key, value } });
  }
}

function toJson(e: HistoryEventRecord, includeExecutionData: boolean): object {
  const out: Record<string, unknown> = { id: e.id, previousEventId: e.previousEventId, timestamp: e.timestamp / 1000, type: e.type };
  if (e.details) {
    const fields = Object.entries(e.details.value).filter(([k, v]) => v !== undefined && (includeExecutionData || !DATA_FIELDS.has(k)));
    out[e.details.key] = Object.fromEntries(fields);
  }
  return out;
}
