/**
 * One handler per API operation: validates the request the way the API model
 * constrains it, calls the engine, and shapes the response as AWS JSON 1.0
 * (timestamps as epoch seconds, absent fields omitted rather than null).
 */
import type { Engine, StateMachineRecord } from './engine';
import * as errors from './errors';
import type { ExecutionSnapshot, ExecutionStatus, SfnOperation, StateMachineType } from './types';

type Params = Record<string, unknown>;
export type Handler = (params: Params) => object;

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+(:[^:]+)?$/;
export const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(execution|express):[^:]+:[^:]+(:[^:]+)?$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;
const CLIENT_TOKEN = /^[!-~]{1,64}$/;
const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/** AWS JSON carries timestamps as epoch seconds (fractional). */
const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function notNull(field: string): errors.SfnError {
  return errors.validation(
    `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
  );
}

function optionalString(p: Params, field: string, maxLength = Infinity): string | undefined {
  const v = p[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw errors.serialization(`'${field}' must be a string`);
  if (v.length > maxLength) {
    throw errors.validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${maxLength}`,
    );
  }
  return v;
}

function requiredString(p: Params, field: string): string {
  const v = optionalString(p, field);
  if (v === undefined) throw notNull(field);
  return v;
}

function arn(p: Params, field: string, shape: RegExp): string {
  const v = requiredString(p, field);
  if (!shape.test(v)) throw errors.invalidArn(v);
  return v;
}

function oneOf<T extends string>(p: Params, field: string, allowed: readonly T[]): T | undefined {
  const v = optionalString(p, field);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw errors.validation(
      `1 validation error detected: Value '${v}' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return v as T;
}

/** maxResults: 0 or absent means the default page size, as in the API model. */
function pageSize(p: Params): number {
  const v = p.maxResults;
  if (v === undefined || v === null || v === 0) return DEFAULT_PAGE;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_PAGE) {
    throw errors.validation(
      `1 validation error detected: Value '${String(v)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${MAX_PAGE}`,
    );
  }
  return v;
}

/** StateMachineListItem: DescribeStateMachine without the definition, role and status. */
function stateMachineListItem(sm: StateMachineRecord): object {
  return { stateMachineArn: sm.arn, name: sm.name, type: sm.type, creationDate: seconds(sm.creationDate) };
}

function describeStateMachine(sm: StateMachineRecord): object {
  return { ...stateMachineListItem(sm), status: sm.status, definition: sm.definition, roleArn: sm.roleArn };
}

/** ExecutionListItem: no input, output, error or redriveStatus, unlike DescribeExecution. */
function executionListItem(e: ExecutionSnapshot): object {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: seconds(e.startDate),
    stopDate: seconds(e.stopDate),
    redriveCount: e.redriveCount,
    redriveDate: seconds(e.redriveDate),
  };
}

export function describeExecution(e: ExecutionSnapshot): object {
  return {
    ...executionListItem(e),
    input: e.input,
    inputDetails: { included: true },
    output: e.output,
    outputDetails: e.output !== undefined ? { included: true } : undefined,
    error: e.error,
    cause: e.cause,
    redriveStatus: e.redriveStatus,
    redriveStatusReason: e.redriveStatusReason,
  };
}

export function createHandlers(engine: Engine): Record<SfnOperation, Handler> {
  return {
    CreateStateMachine: (p) => {
      const name = requiredString(p, 'name');
      const definition = requiredString(p, 'definition');
      const roleArn = arn(p, 'roleArn', ROLE_ARN);
      const type = oneOf<StateMachineType>(p, 'type', ['STANDARD', 'EXPRESS']) ?? 'STANDARD';
      const sm = engine.createStateMachine({ name, definition, roleArn, type });
      return { stateMachineArn: sm.arn, creationDate: seconds(sm.creationDate) };
    },

    DeleteStateMachine: (p) => {
      engine.deleteStateMachine(arn(p, 'stateMachineArn', STATE_MACHINE_ARN));
      return {};
    },

    DescribeStateMachine: (p) => describeStateMachine(engine.describeStateMachine(arn(p, 'stateMachineArn', STATE_MACHINE_ARN))),

    ListStateMachines: (p) => {
      const page = engine.listStateMachines(pageSize(p), optionalString(p, 'nextToken'));
      return { stateMachines: page.items.map(stateMachineListItem), nextToken: page.nextToken };
    },

    StartExecution: (p) => {
      const started = engine.startExecution({
        stateMachineArn: arn(p, 'stateMachineArn', STATE_MACHINE_ARN),
        name: optionalString(p, 'name'),
        input: optionalString(p, 'input'),
      });
      return { executionArn: started.executionArn, startDate: seconds(started.startDate) };
    },

    DescribeExecution: (p) => describeExecution(engine.describeExecution(arn(p, 'executionArn', EXECUTION_ARN))),

    ListExecutions: (p) => {
      if (p.mapRunArn !== undefined) throw errors.validation('mapRunArn is not supported by the local stand-in');
      const stateMachineArn = arn(p, 'stateMachineArn', STATE_MACHINE_ARN);
      const statusFilter = oneOf(p, 'statusFilter', EXECUTION_STATUSES);
      if (statusFilter === 'PENDING_REDRIVE') {
        throw errors.validation('The PENDING_REDRIVE status filter can only be used with a mapRunArn');
      }
      const page = engine.listExecutions({
        stateMachineArn,
        statusFilter,
        redriveFilter: oneOf(p, 'redriveFilter', ['REDRIVEN', 'NOT_REDRIVEN'] as const),
        limit: pageSize(p),
        nextToken: optionalString(p, 'nextToken'),
      });
      return { executions: page.items.map(executionListItem), nextToken: page.nextToken };
    },

    RedriveExecution: (p) => {
      const executionArn = arn(p, 'executionArn', EXECUTION_ARN);
      const clientToken = optionalString(p, 'clientToken');
      if (clientToken !== undefined && !CLIENT_TOKEN.test(clientToken)) {
        throw errors.validation(
          `1 validation error detected: Value '${clientToken}' at 'clientToken' failed to satisfy constraint: Member must satisfy regular expression pattern: [!-~]+ and have length between 1 and 64`,
        );
      }
      return { redriveDate: seconds(engine.redriveExecution(executionArn, clientToken).redriveDate) };
    },

    GetExecutionHistory: (p) => {
      const executionArn = arn(p, 'executionArn', EXECUTION_ARN);
      if (engine.describeExecution(executionArn).type === 'EXPRESS') {
        throw errors.stateMachineTypeNotSupported('This operation is not supported by this type of state machine');
      }
      const flag = (field: string, dflt: boolean) => (typeof p[field] === 'boolean' ? (p[field] as boolean) : dflt);
      return engine.histories.page(executionArn, {
        reverseOrder: flag('reverseOrder', false),
        includeExecutionData: flag('includeExecutionData', true),
        limit: pageSize(p),
        nextToken: optionalString(p, 'nextToken'),
      });
    },

    StopExecution: (p) => {
      const executionArn = arn(p, 'executionArn', EXECUTION_ARN);
      const stopped = engine.stopExecution(executionArn, optionalString(p, 'error', 256), optionalString(p, 'cause', 32768));
      return { stopDate: seconds(stopped.stopDate) };
    },
  };
}
