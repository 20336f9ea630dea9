/** Helpers for integration tests on the local stand-in (dynalite + Step Functions over HTTP). */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateStateMachineCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type LocalEnvironment, type LocalOptions, startLocal } from '../../local/environment';
import { SimClock } from '../../local/sim-clock';
import type { StepBehaviour } from '../../local/sfn';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'status-change-events');

/** The five real events, by file-name prefix ('01' .. '05'). */
export function fixture(prefix: string): Record<string, any> {
  const file = readdirSync(FIXTURE_DIR).find((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (!file) throw new Error(`no fixture ${prefix}`);
  return JSON.parse(readFileSync(join(FIXTURE_DIR, file), 'utf8'));
}

export const FIXTURE_START = 1700116674994; // startDate of the real execution
export const FIXTURE_MACHINE = 'MyStateMachine-gddoyum7f';
export const FIXTURE_EXECUTION = '0e3a7824-7ec2-4ced-9aef-61f71fbef1b5';
export const FIXTURE_EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:${FIXTURE_MACHINE}:${FIXTURE_EXECUTION}`;
export const FIXTURE_MACHINE_ARN = `arn:aws:states:us-east-1:123456789012:stateMachine:${FIXTURE_MACHINE}`;
export const LAMBDA_TEST = 'arn:aws:lambda:us-east-1:123456789012:function:test';

export interface SimEnv extends LocalEnvironment {
  readonly clock: SimClock;
}

/** A local environment whose controller and stand-in share a simulated clock. */
export async function simEnv(startAt: number, options: Omit<LocalOptions, 'clock' | 'sleep'> = {}): Promise<SimEnv> {
  const clock = new SimClock(startAt);
  const env = await startLocal({ ...options, clock: clock.now, sleep: clock.sleep, standIn: { ...options.standIn, clock: clock.now } });
  return Object.assign(env, { clock });
}

export const oneStep = (resource: string) => JSON.stringify({ StartAt: 'Call', States: { Call: { Type: 'Task', Resource: resource, End: true } } });

export async function createMachine(env: LocalEnvironment, name: string, resource: string, behaviour: StepBehaviour): Promise<string> {
  env.standIn.setBehaviour(resource, behaviour);
  const out = await env.sfn.send(new CreateStateMachineCommand({ name, definition: oneStep(resource), roleArn: 'arn:aws:iam::123456789012:role/sfn' }));
  return out.stateMachineArn!;
}

export async function startExecution(env: LocalEnvironment, stateMachineArn: string, name?: string): Promise<string> {
  const out = await env.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"password":"hunter2"}' }));
  return out.executionArn!;
}

/** Replays the fixture execution's first failure on the stand-in (its own events not delivered). */
export async function fixtureExecution(env: SimEnv, behaviour: StepBehaviour): Promise<string> {
  const sm = await createMachine(env, FIXTURE_MACHINE, LAMBDA_TEST, behaviour);
  const arn = await startExecution(env, sm, FIXTURE_EXECUTION);
  await env.standIn.idle();
  return arn;
}

export const lambdaDeny = { kind: 'fail', error: 'Lambda.AWSLambdaException', cause: 'explicit deny' } as const;

/** Redrives the stand-in performed for one execution. */
export const redrivesOf = (env: LocalEnvironment, arn: string) => env.standIn.redrives.filter((r) => r.executionArn === arn).length;
