/** Helpers for integration tests on the local stand-in (dynalite + Step Functions over HTTP). */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateStateMachineCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type LocalEnvironment, type LocalOptions, startLocal } from '../../local/environment';
import { SimClock } from '../../local/sim-clock';
import type { StatusChangeEvent, StepBehaviour } from '../../local/sfn';
import type { ControllerDeps } from '../../lambda/event-path';
import { drain } from '../../lambda/scheduled-drain';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';


/**
 * Breaker settings for tests about what an open breaker does (holds, probes, releases,
 * announcements, faults), not about when it opens: it opens at the second execution's failed
 * redrive, without the default wait (decide/breaker.ts confirmationMs), as a policy with
 * `openAfterSeconds: 0` does. test/integration/breaker-signals.test.ts covers the wait.
 */
export const OPENS_AT_ONCE = { openAfterSeconds: 0 } as const;

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

/** Starts an execution that fails; returns its ARN and a copy of its (latest) FAILED event, whether the bus delivered it or not. */
export async function failedExecution(env: LocalEnvironment, stateMachineArn: string, name: string): Promise<{ arn: string; event: StatusChangeEvent }> {
  const arn = await startExecution(env, stateMachineArn, name);
  await env.standIn.idle();
  const event = [...env.standIn.events].reverse().find((e) => e.detail.executionArn === arn && e.detail.status === 'FAILED');
  if (!event) throw new Error(`no FAILED event for ${name}`);
  return { arn, event: structuredClone(event) };
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

/** A simulated-clock environment from FIXTURE_START for the length of `body`, stopped whatever happens. */
export async function withSimEnv<T>(options: Omit<LocalOptions, 'clock' | 'sleep'>, body: (env: SimEnv) => Promise<T>): Promise<T> {
  const env = await simEnv(FIXTURE_START, options);
  try {
    return await body(env);
  } finally {
    await env.stop();
  }
}

/** Runs the drain (with `deps`, by default the environment's own) at each due time until nothing is pending. */
export async function drainUntilEmpty(env: SimEnv, deps: ControllerDeps = env.deps, maxTicks = 200): Promise<void> {
  for (let i = 0; i < maxTicks; i++) {
    await env.settle();
    const { oldestDueAt } = await deps.ledger.backlog();
    if (oldestDueAt === null) return;
    env.clock.advanceTo(oldestDueAt);
    await drain(deps);
  }
  throw new Error('backlog did not drain');
}

/** Starts one execution per name, a simulated second apart, each settled: its failure arrives in order. */
export async function startEachSecond(env: SimEnv, stateMachineArn: string, names: readonly string[]): Promise<string[]> {
  const arns: string[] = [];
  for (const name of names) {
    arns.push(await startExecution(env, stateMachineArn, name));
    await env.settle();
    env.clock.advanceTo(env.clock.now() + 1000);
  }
  return arns;
}

/** `n` names `<prefix>-0` .. `<prefix>-(n-1)`. */
export const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** One scheduled drain run at simulated time `t`, and everything it set off settled. */
export async function drainAt(env: SimEnv, t: number) {
  env.clock.advanceTo(t);
  const report = await drain(env.deps);
  await env.settle();
  return report;
}

export const FLAKY_LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:flaky';

/**
 * The usual stage of a resilience test: a simulated-clock environment whose bus is detached
 * (the test delivers events by hand), a catch-all policy with `policy` in it, and one state
 * machine, 'flaky', whose task (FLAKY_LAMBDA) behaves as `behaviour`.
 */
export async function withFlakyMachine(behaviour: StepBehaviour, policy: Record<string, unknown>, body: (env: SimEnv, machine: string) => Promise<void>): Promise<void> {
  await withSimEnv({ detachBus: true }, async (env) => {
    await env.putPolicy({ stateMachine: '*', ...policy });
    await body(env, await createMachine(env, 'flaky', FLAKY_LAMBDA, behaviour));
  });
}
