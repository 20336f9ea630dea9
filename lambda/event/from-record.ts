/**
 * The status-change event a ledger record stands for, as of `now`: how the drain (due
 * redrives), the breaker's release and `redrivectl release` feed a recorded failure back
 * through the event path.
 */
import type { FailureRecord } from '../record/failure-ledger';
import type { StatusChange } from './status-change';

export function eventFromRecord(record: FailureRecord, now: number, source = 'drain'): StatusChange {
  return {
    eventId: `${source}:${record.redriveCount}`,
    eventTime: now,
    account: record.account,
    region: record.region,
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status as StatusChange['status'],
    startDate: record.startDate,
    stopDate: record.stopDate,
    redriveCount: record.redriveCount,
    redriveDate: null,
    // decide() reads redrivability from `current` when there is one, which is fresher than
    // any event; without it RedriveExecution's ExecutionNotRedrivable answers the rest.
    redriveStatus: 'REDRIVABLE',
    redriveStatusReason: null,
    error: record.errorName,
    cause: record.cause,
  };
}
