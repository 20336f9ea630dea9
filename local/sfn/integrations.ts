/**
 * A Task state's run: its `Parameters` filled in, the work (a scripted `StepBehaviour` for
 * the resource, else one of the AWS SDK service integrations below, run against the
 * stand-in's own engine), then its `ResultSelector`. An AWS SDK integration's error is
 * `ServiceName.ErrorName` with the Exception suffix, e.g. `Sfn.InvalidArnException`
 * (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html);
 * its parameters and result fields are PascalCase, as on AWS.
 */
import { SfnError } from './errors';
import { describeExecution, EXECUTION_ARN } from './operations';
import { type ContextObject, evaluateTemplate, isObject, StatesRuntimeError } from './parameters';
import type { ExecutionSnapshot } from './types';
import { runBehaviour, type StepBehaviour, type StepResult } from './workflow';

const AWS_SDK = 'arn:aws:states:::aws-sdk:';

/** What an AWS SDK integration may call: the stand-in's engine. */
export interface IntegrationEngine {
  describeExecution(arn: string): ExecutionSnapshot;
}

type Integration = (parameters: unknown, engine: IntegrationEngine) => StepResult;

/** The integrations the stand-in runs, by Resource. */
const INTEGRATIONS: Record<string, Integration> = {
  [`${AWS_SDK}sfn:describeExecution`]: (parameters, engine) =>
    sdkCall('Sfn', () => {
      const arn = isObject(parameters) ? parameters.ExecutionArn : undefined;
      if (typeof arn !== 'string') throw new SfnError('ValidationException', "1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: Member must not be null");
      if (!EXECUTION_ARN.test(arn)) throw new SfnError('InvalidArn', `Invalid Arn: '${arn}'`);
      return pascalCase(describeExecution(engine.describeExecution(arn)));
    }),
};

/** Throws InvalidDefinition-worthy text for an AWS SDK Resource the stand-in cannot run. */
export function unsupportedIntegration(resource: string): string | undefined {
  if (!resource.startsWith(AWS_SDK) || resource in INTEGRATIONS) return undefined;
  return `UNSUPPORTED_INTEGRATION: the local stand-in runs only ${Object.keys(INTEGRATIONS).join(', ')}, not ${resource}`;
}

export interface TaskRun {
  readonly resource: string;
  readonly parameters?: unknown;
  readonly resultSelector?: unknown;
  /** The state's input. */
  readonly input: unknown;
  readonly executionArn: string;
  /** Built only when a template reads it (most Tasks have none). */
  readonly context: () => ContextObject;
  readonly attempt: number;
  readonly now: number;
  /** A scripted behaviour for the resource, when a test set one (it wins over an integration). */
  readonly behaviour?: StepBehaviour;
  readonly engine: IntegrationEngine;
}

/** Runs one Task: Parameters, the work, ResultSelector. A template's runtime error is States.Runtime. */
export async function runTask(task: TaskRun): Promise<StepResult> {
  try {
    const effective = task.parameters === undefined ? task.input : evaluateTemplate(task.parameters, task.input, task.context());
    const integration = INTEGRATIONS[task.resource];
    let result: StepResult;
    if (task.behaviour === undefined && integration) result = integration(effective, task.engine);
    else {
      const ctx = { executionArn: task.executionArn, input: effective, attempt: task.attempt, now: task.now };
      try {
        result = await runBehaviour(task.behaviour ?? { kind: 'succeed' }, ctx);
      } catch (err) {
        return { ok: false, error: 'States.TaskFailed', cause: `behaviour of ${task.resource} threw: ${String(err)}` };
      }
    }
    if (!result.ok || task.resultSelector === undefined) return result;
    return { ok: true, output: evaluateTemplate(task.resultSelector, result.output ?? null, task.context()) };
  } catch (err) {
    if (err instanceof StatesRuntimeError) return { ok: false, error: err.error, cause: err.message };
    throw err;
  }
}

/** An SDK call's error as the integration reports it: Service.ErrorNameException, with AWS's cause format. */
function sdkCall(service: string, call: () => unknown): StepResult {
  try {
    return { ok: true, output: call() };
  } catch (err) {
    if (!(err instanceof SfnError)) throw err;
    const name = err.code.endsWith('Exception') ? err.code : `${err.code}Exception`;
    return { ok: false, error: `${service}.${name}`, cause: `${err.message} (Service: ${service}, Status Code: ${err.httpStatus}, Error Code: ${err.code})` };
  }
}

/** The SDK response with PascalCase field names (nested objects too), as integrations return it. */
function pascalCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascalCase);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), pascalCase(v)]),
  );
}
