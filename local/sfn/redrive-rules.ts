/**
 * When an execution can be redriven, per the Step Functions developer guide and
 * the API model (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html and the DescribeExecution reference). The reason
 * strings are the ones the real API returns: no trailing period.
 */
import type { ExecutionStatus, RedriveStatus, StateMachineStatus, StateMachineType } from './types';

const DAY_MS = 24 * 60 * 60 * 1000;

/** RedriveExecution launched 2023-11-15; older executions never become redrivable. */
export const REDRIVE_LAUNCH_MS = Date.UTC(2023, 10, 15);
/** Hard quota, counted from the stop date. */
export const REDRIVABLE_PERIOD_MS = 14 * DAY_MS;
/** Max open time of a Standard execution; redrives do not reset it. */
export const MAX_EXECUTION_TIME_MS = 365 * DAY_MS;
/** History holds 25,000 events; a redrive needs room for ExecutionRedriven plus one more. */
export const HISTORY_EVENT_LIMIT = 24_999;

export const REASONS = {
  deleting: 'State machine is in DELETING status',
  running: 'Execution is RUNNING and cannot be redriven',
  succeeded: 'Execution is SUCCEEDED and cannot be redriven',
  beforeLaunch: 'Execution was started before the launch of RedriveExecution',
  historyLimit: 'Execution history event limit exceeded',
  maxExecutionTime: 'Execution has exceeded the max execution time',
  periodExceeded: 'Execution redrivable period exceeded',
  /** Not an AWS string: AWS does not describe Express executions at all. */
  express: 'Redrive is not supported for EXPRESS state machines',
} as const;

export interface RedriveFacts {
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  historyEventCount: number;
  stateMachineType: StateMachineType;
  stateMachineStatus: StateMachineStatus;
}

export interface RedriveVerdict {
  redriveStatus: RedriveStatus;
  /** Present only when NOT_REDRIVABLE, as in the real API. */
  redriveStatusReason?: string;
}

/**
 * The checks run in a fixed order so one execution always reports one reason; AWS
 * does not document the precedence, status checks first is the natural reading.
 */
export function redriveVerdict(e: RedriveFacts, now: number): RedriveVerdict {
  const no = (reason: string): RedriveVerdict => ({ redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: reason });
  if (e.stateMachineType === 'EXPRESS') return no(REASONS.express);
  if (e.status === 'RUNNING' || e.status === 'PENDING_REDRIVE') return no(REASONS.running);
  if (e.status === 'SUCCEEDED') return no(REASONS.succeeded);
  if (e.stateMachineStatus === 'DELETING') return no(REASONS.deleting);
  if (e.startDate < REDRIVE_LAUNCH_MS) return no(REASONS.beforeLaunch);
  if (e.historyEventCount >= HISTORY_EVENT_LIMIT) return no(REASONS.historyLimit);
  if (now - e.startDate >= MAX_EXECUTION_TIME_MS) return no(REASONS.maxExecutionTime);
  if (e.stopDate !== undefined && now - e.stopDate >= REDRIVABLE_PERIOD_MS) return no(REASONS.periodExceeded);
  return { redriveStatus: 'REDRIVABLE' };
}
