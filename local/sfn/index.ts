/** Local Step Functions stand-in: an AWS JSON 1.0 server the real @aws-sdk/client-sfn can talk to. */
export { StepFunctionsStandIn, type StandInOptions } from './server';
export type { StepBehaviour, StepContext, StepResult } from './workflow';
export type {
  CallRecord,
  Clock,
  ExecutionSnapshot,
  ExecutionStatus,
  FaultKind,
  RedriveRecord,
  RedriveStatus,
  SfnOperation,
  StateMachineType,
  StatusChangeDetail,
  StatusChangeEvent,
  ThrottleConfig,
} from './types';
export { SFN_OPERATIONS } from './types';
export { AWS_DEFAULT_THROTTLES } from './token-bucket';
export { eventTime } from './events';
export {
  CLIENT_TOKEN_TTL_MS,
  CLIENT_TOKENS_KEPT,
} from './engine';
export {
  HISTORY_EVENT_LIMIT,
  MAX_EXECUTION_TIME_MS,
  REASONS as REDRIVE_STATUS_REASONS,
  REDRIVABLE_PERIOD_MS,
  REDRIVE_LAUNCH_MS,
} from './redrive-rules';
