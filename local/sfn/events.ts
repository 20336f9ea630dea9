/**
 * Builds "Step Functions Execution Status Change" events exactly like the real ones
 * in test/fixtures/status-change-events: same keys, same order, nulls rather than
 * missing fields, epoch-ms dates in `detail` and a to-the-second ISO `time`.
 */
import { randomUUID } from 'node:crypto';
import type { ExecutionSnapshot, StatusChangeEvent } from './types';

export interface EventContext {
  account: string;
  region: string;
  now: number;
}

/** "2023-11-16T06:38:03Z": AWS event times carry no milliseconds. */
export function eventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildStatusChangeEvent(e: ExecutionSnapshot, ctx: EventContext): StatusChangeEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ctx.account,
    time: eventTime(ctx.now),
    region: ctx.region,
    resources: [e.executionArn],
    detail: {
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      stopDate: e.stopDate ?? null,
      input: e.input,
      output: e.output ?? null,
      // The stand-in has no versions or aliases; real events carry null then too.
      stateMachineVersionArn: null,
      stateMachineAliasArn: null,
      redriveCount: e.redriveCount,
      redriveDate: e.redriveDate ?? null,
      redriveStatus: e.redriveStatus,
      redriveStatusReason: e.redriveStatusReason ?? null,
      inputDetails: { included: true },
      outputDetails: e.output !== undefined ? { included: true } : null,
      error: e.error ?? null,
      cause: e.cause ?? null,
    },
  };
}
