/**
 * "Kill the Lambda at step k": every DynamoDB and Step Functions call of one invocation
 * goes through a CrashPlan, which throws SimulatedCrash before (or right after) call k and
 * refuses every later call, like a process that is gone. The controller's own error
 * handling never sees a SimulatedCrash it could mistake for a service error: the
 * DynamoDB hook sits outside the SDK's retries, and the Step Functions hook outside
 * SdkStepFunctions' error mapping.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { ControllerConfig } from '../../../lambda/config';
import { SdkStepFunctions, type StepFunctionsGateway } from '../../../lambda/act/step-functions';
import type { ExecutionStatus } from '../../../lambda/event/status-change';
import { InMemoryMetrics, MemoryLog } from '../../../lambda/observability/telemetry';
import { MemoryNotifier, type OwnerNotifier } from '../../../lambda/record/owner-notifier';
import { wire, type Wired } from '../../../lambda/wiring';

export class SimulatedCrash extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatedCrash';
  }
}

export type CrashMoment = 'before' | 'after';

export class CrashPlan {
  /** Calls attempted, labelled (e.g. `UpdateItem(claim)`), in order. */
  readonly calls: string[] = [];
  crashed = false;

  /** `at` = undefined: never crash (records the calls of a clean run). */
  constructor(
    readonly at: number | undefined,
    readonly when: CrashMoment = 'before',
  ) {}

  async around<T>(label: string, call: () => Promise<T>): Promise<T> {
    if (this.crashed) throw new SimulatedCrash(`process is gone; ${label} never sent`);
    const k = this.calls.push(label) - 1;
    if (k === this.at && this.when === 'before') {
      this.crashed = true;
      throw new SimulatedCrash(`killed before call ${k} (${label})`);
    }
    if (k !== this.at) return call();
    // Killed once the call has had its effect, whatever its answer (a refused conditional
    // write is an answer too).
    await call().catch(() => undefined);
    this.crashed = true;
    throw new SimulatedCrash(`killed after call ${k} (${label})`);
  }

  /** True when the run got as far as the crash point. */
  get reached(): boolean {
    return this.at !== undefined && this.calls.length > this.at;
  }
}

/** A short name for a DynamoDB call, from its (document-client) input. */
export function labelDynamoCall(command: string, input: Record<string, any> | undefined): string {
  const op = command.replace(/Command$/, '');
  const key = input?.Key ?? input?.Item ?? {};
  const pk = typeof key.pk === 'string' ? key.pk : (key.pk?.S as string | undefined);
  const sk = typeof key.sk === 'string' ? key.sk : (key.sk?.S as string | undefined);
  const update = String(input?.UpdateExpression ?? '');
  const values = input?.ExpressionAttributeValues ?? {};
  let what = '';
  if (op === 'Scan') what = 'policies';
  else if (pk === 'CONTROL' && sk === 'PAUSE') what = 'kill switch';
  else if (pk === 'RATE') what = `rate ${sk}`;
  else if (pk?.startsWith('BREAKER#')) what = update.startsWith('ADD') ? 'breaker count' : 'breaker';
  else if (values[':heldState'] === 'held') what = 'hold';
  else if (pk?.startsWith('STATS#')) what = 'audit counter';
  else if (sk?.startsWith('AUDIT#')) what = 'audit';
  else if (op === 'Query' && input?.IndexName) what = input?.KeyConditionExpression?.includes('<=') ? 'due' : 'backlog';
  else if (op === 'Query') what = 'failures';
  else if (update.includes('claimToken = :token')) what = 'claim';
  else if (op === 'PutItem' && input?.Item?.state === 'claimed') what = 'claim new';
  else if (op === 'PutItem' && input?.Item?.supersededBy !== undefined) what = 'supersede';
  else if (values[':s'] === 'redriven') what = values[':decision'] ? 'mark redriven + audit' : 'mark redriven';
  else if (values[':s'] === 'pending') what = values[':decision'] ? 'defer + audit' : 'defer';
  else if (values[':s'] === 'skipped') what = values[':decision'] ? 'mark rejected + audit' : 'mark rejected';
  else if (values[':skipped'] !== undefined && update.includes('#state = :skipped')) what = 'skip';
  else if (op === 'PutItem' && input?.Item?.state === 'pending') what = 'schedule';
  return what ? `${op}(${what})` : op;
}

/** Step Functions through the plan. */
export class CrashingStepFunctions implements StepFunctionsGateway {
  constructor(
    private readonly inner: StepFunctionsGateway,
    private readonly plan: CrashPlan,
  ) {}
  redrive(executionArn: string, clientToken: string) {
    return this.plan.around('RedriveExecution', () => this.inner.redrive(executionArn, clientToken));
  }
  describe(executionArn: string) {
    return this.plan.around('DescribeExecution', () => this.inner.describe(executionArn));
  }
  listStopped(stateMachineArn: string, status: ExecutionStatus, since: number) {
    return this.inner.listStopped(stateMachineArn, status, since);
  }
  listStateMachines() {
    return this.inner.listStateMachines();
  }
}

/** Controller dependencies whose every AWS call goes through `plan` (endpoints from the environment). */
export function crashingDeps(
  config: ControllerConfig,
  plan: CrashPlan,
  clock: () => number,
  sleep: (ms: number) => Promise<void>,
  /** Owner events (default: kept in a notifier of its own). */
  notifier: OwnerNotifier = new MemoryNotifier(),
): { deps: Wired; dispose: () => void } {
  const dynamodb = new DynamoDBClient({});
  dynamodb.middlewareStack.add(
    (next, context) => (args) => plan.around(labelDynamoCall(String(context.commandName ?? ''), (args as { input?: Record<string, any> }).input), () => next(args)),
    { step: 'initialize', name: 'crashInjector', priority: 'high' },
  );
  const sfn = new SFNClient({});
  const stepFunctions = new CrashingStepFunctions(new SdkStepFunctions(sfn), plan);
  const deps = wire(config, { log: new MemoryLog(), metrics: new InMemoryMetrics(), clock, sleep, dynamodb, stepFunctions, notifier });
  return {
    deps,
    dispose: () => {
      dynamodb.destroy();
      sfn.destroy();
    },
  };
}
