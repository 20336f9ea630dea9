/**
 * The canary (docs/deploying.md "After deploying: prove it"): a tiny Standard state machine
 * that a schedule starts every interval. Its first run fails at a Task state; auto-redrive
 * redrives it through the normal path (rule, controller, policy, ledger,
 * RedriveExecution); the redriven run succeeds. Shared by the construct (lib/), the
 * controller (lambda/), the stand-in's story (local/) and redrivectl (cli/).
 *
 * How the failing state tells the first run from the redrive, with no Lambda of its own:
 * a redrive resumes at the failed state and runs it again with the same input
 * (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html), and the
 * Context object carries `$$.Execution.RedriveCount`, 0 until the execution is redriven
 * (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
 * The Task asks Step Functions to describe "its own execution": on the first run the ARN it
 * passes is not an ARN, so the call fails with `Sfn.InvalidArnException` (an AWS SDK
 * integration's error is ServiceName.ErrorName:
 * https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html);
 * on the redrive it passes `$$.Execution.Id` and the call succeeds. The canary's role
 * needs only `states:DescribeExecution` on its own executions.
 */

/** Every canary's state machine name starts with this (the managed policy and the rule match it). */
export const CANARY_NAME_PREFIX = 'AutoRedriveCanary';

/** A canary's state machine name: the prefix and the stack's name, at most 80 characters. */
export function canaryStateMachineName(stackName: string): string {
  return `${CANARY_NAME_PREFIX}-${stackName}`.slice(0, 80);
}

/** Whether a state machine (or execution) ARN is a canary's. */
export function isCanaryArn(arn: string): boolean {
  const parts = arn.split(':');
  // arn:partition:states:region:account:stateMachine|execution:name[:id]
  return parts.length >= 7 && (parts[5] === 'stateMachine' || parts[5] === 'execution') && parts[6].startsWith(CANARY_NAME_PREFIX);
}

/** The managed policy's key: every canary in every account and Region the controller serves. */
export const CANARY_POLICY_KEY = `arn:*:states:*:*:stateMachine:${CANARY_NAME_PREFIX}*`;

/** The error the canary's first run fails with. */
export const CANARY_ERROR = 'Sfn.InvalidArnException';

/** The failing Task's name (the state a redrive resumes at). */
export const CANARY_STATE = 'FailOnFirstRun';

/** What the first run passes as an execution ARN: not an ARN, so DescribeExecution fails. */
const NOT_AN_ARN = 'first-run-of-the-auto-redrive-canary';

/**
 * The canary's definition (Amazon States Language, JSONPath). RedriveCount picks the
 * argument: index 0 is not an ARN, index 1 is the execution's own ARN. The managed policy
 * has `maxRedrives: 1`, so a count of 2 never happens (it would be `States.Runtime`).
 */
export function canaryDefinition(): Record<string, unknown> {
  return {
    Comment: 'auto-redrive canary: fails on its first run, succeeds when auto-redrive redrives it',
    StartAt: CANARY_STATE,
    States: {
      [CANARY_STATE]: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:sfn:describeExecution',
        Parameters: {
          'ExecutionArn.$': `States.ArrayGetItem(States.Array('${NOT_AN_ARN}', $$.Execution.Id), $$.Execution.RedriveCount)`,
        },
        ResultSelector: { 'status.$': '$.Status' },
        End: true,
      },
    },
  };
}

/** The canary's managed policy (policies as code): one redrive, a few seconds, no breaker. */
export const CANARY_POLICY = {
  stateMachine: CANARY_POLICY_KEY,
  description: 'auto-redrive canary (managed by the construct): proves the redrive path every interval',
  maxRedrives: 1,
  intervalSeconds: 5,
  backoffRate: 1,
  maxDelaySeconds: 5,
  jitter: 'NONE',
  errorEquals: [CANARY_ERROR],
  breaker: { enabled: false },
} as const;

/**
 * The ledger item where the controller records each canary's last recovery (one item per
 * account and Region served, one write per interval), read by `redrivectl status` and
 * `doctor`. Attributes: stateMachineArn, executionArn, failedAt and recoveredAt (ISO 8601),
 * recoverySeconds (number), recoveries (number, incremented).
 */
export const CANARY_STATUS_PK = 'CONTROL';
export const canaryStatusSk = (account: string, region: string): string => `CANARY#${account}#${region}`;

/** Default interval between canary runs, in minutes. */
export const CANARY_DEFAULT_INTERVAL_MINUTES = 60;
