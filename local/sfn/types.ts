/**
 * Shared types of the local Step Functions stand-in. Names and shapes follow the
 * Step Functions API model so code written against the stand-in reads like code
 * written against AWS.
 */

/** Epoch milliseconds. Injectable so tests can simulate days passing in a microsecond. */
export type Clock = () => number;

export const SFN_OPERATIONS = [
  'CreateStateMachine',
  'DeleteStateMachine',
  'DescribeStateMachine',
  'ListStateMachines',
  'StartExecution',
  'DescribeExecution',
  'ListExecutions',
  'RedriveExecution',
  'StopExecution',
  'GetExecutionHistory',
] as const;
export type SfnOperation = (typeof SFN_OPERATIONS)[number];

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
export type RedriveStatus = 'REDRIVABLE' | 'NOT_REDRIVABLE' | 'REDRIVABLE_BY_MAP_RUN';
export type StateMachineType = 'STANDARD' | 'EXPRESS';
export type StateMachineStatus = 'ACTIVE' | 'DELETING';

/** Token bucket per API operation, as AWS documents its API quotas. */
export interface ThrottleConfig {
  bucketSize: number;
  refillPerSecond: number;
}

export type FaultKind = 'throttle' | 'server-error' | 'timeout';

/**
 * "Step Functions Execution Status Change" event. Field order matches the real
 * events in test/fixtures/status-change-events (consumers may serialise and diff them).
 */
export interface StatusChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'Step Functions Execution Status Change';
  source: 'aws.states';
  account: string;
  /** ISO 8601 to the second, e.g. 2023-11-16T06:38:03Z */
  time: string;
  region: string;
  resources: string[];
  detail: StatusChangeDetail;
}

export interface StatusChangeDetail {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  /** epoch ms */
  startDate: number;
  stopDate: number | null;
  input: string;
  output: string | null;
  stateMachineVersionArn: string | null;
  stateMachineAliasArn: string | null;
  redriveCount: number;
  redriveDate: number | null;
  redriveStatus: RedriveStatus;
  redriveStatusReason: string | null;
  inputDetails: { included: boolean };
  outputDetails: { included: boolean } | null;
  error: string | null;
  cause: string | null;
}

/** What `getExecution` returns: the DescribeExecution view with ms dates, plus stand-in internals. */
export interface ExecutionSnapshot {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  type: StateMachineType;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  redriveCount: number;
  redriveDate?: number;
  redriveStatus: RedriveStatus;
  redriveStatusReason?: string;
  /** Approximate history length; redrive is refused at 24,999. */
  historyEventCount: number;
  /** State the execution is in, failed at, or was stopped at (where a redrive resumes). */
  currentState?: string;
  /** How many times each state has been run in this execution (across redrives). */
  stateAttempts: Record<string, number>;
}

// The recorded params are whatever JSON the client sent; `any` keeps test assertions terse.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CallParams = any;

export interface CallRecord {
  op: SfnOperation;
  /** clock() when the request arrived */
  at: number;
  params: CallParams;
  /** 'ok' or the AWS error code returned ('timeout' when the request was left unanswered) */
  outcome: 'ok' | string;
  /** Access key id from the SigV4 Authorization header. */
  accessKeyId?: string;
}

export interface RedriveRecord {
  executionArn: string;
  at: number;
  redriveCount: number;
  clientToken?: string;
}
