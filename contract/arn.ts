/**
 * Step Functions ARN shapes, from the Service Authorization Reference:
 *   execution     arn:${Partition}:states:${Region}:${Account}:execution:${StateMachineName}:${ExecutionId}
 *   map-run child arn:${Partition}:states:${Region}:${Account}:execution:${StateMachineName}/${MapRunLabel}:${ExecutionId}
 *   state machine arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}
 */

const PARTITION = 'aws(?:-[a-z]+)*';
const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d+';
const ACCOUNT = '\\d{12}';
const NAME = '[^:\\s]{1,80}';

export const ARN_PATTERNS = {
  execution: new RegExp(`^arn:${PARTITION}:states:${REGION}:${ACCOUNT}:execution:${NAME}(?:/[^:\\s]+)?:[^:\\s]{1,80}$`),
  stateMachine: new RegExp(`^arn:${PARTITION}:states:${REGION}:${ACCOUNT}:stateMachine:${NAME}$`),
} as const;

export interface ExecutionArnParts {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly stateMachineName: string;
  /** Set for Distributed Map child executions. */
  readonly mapRunLabel: string | undefined;
  readonly executionId: string;
}

export class InvalidArnError extends Error {
  constructor(readonly arn: string, readonly expected: string) {
    super(`'${arn.slice(0, 300)}' is not a Step Functions ${expected} ARN`);
    this.name = 'InvalidArnError';
  }
}

export function isExecutionArn(arn: string): boolean {
  return ARN_PATTERNS.execution.test(arn);
}

export function isStateMachineArn(arn: string): boolean {
  return ARN_PATTERNS.stateMachine.test(arn);
}

export function parseExecutionArn(arn: string): ExecutionArnParts {
  if (!isExecutionArn(arn)) throw new InvalidArnError(arn, 'execution');
  const [, partition, , region, account, , resource, executionId] = arn.split(':');
  const [stateMachineName, mapRunLabel] = resource.split('/');
  return { partition, region, account, stateMachineName, mapRunLabel, executionId };
}

/** The state machine an execution belongs to (for a map-run child: the parent's machine). */
export function stateMachineArnOf(executionArn: string): string {
  const p = parseExecutionArn(executionArn);
  return `arn:${p.partition}:states:${p.region}:${p.account}:stateMachine:${p.stateMachineName}`;
}

export interface StateMachineArnParts {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
}

export function parseStateMachineArn(arn: string): StateMachineArnParts {
  if (!isStateMachineArn(arn)) throw new InvalidArnError(arn, 'state machine');
  const [, partition, , region, account, , name] = arn.split(':');
  return { partition, region, account, name };
}
