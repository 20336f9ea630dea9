/**
 * A seeded failure history on the Step Functions stand-in, for `redrivectl --local
 * what-if` (`npm run local -- --seed-history`), its tests and the bench's whatIf section:
 * by default 1,000 failures that stopped within the last 14 days over 20 Standard state
 * machines, plus some older than 14 days, with a mix the controller decides differently:
 * - retryable Task errors (Lambda.ServiceException, Lambda.TooManyRequestsException,
 *   States.TaskFailed, Payments.Unavailable): most of them;
 * - States.Runtime (non-retryable by default);
 * - TIMED_OUT (States.Timeout) and ABORTED (StopExecution) executions;
 * - executions already redriven once or twice that failed again (redriveCount 1 or 2);
 * - executions that started before the window (up to 12 hours) and stopped inside it;
 * - failures that stopped 15 to 16 days ago (outside a 14-day window, no longer redrivable).
 *
 * Dates come from the stand-in's clock, which the seeder moves back in time and returns
 * to the present: the stand-in must be created with `ShiftableClock.now` as its clock.
 * Everything else (StartExecution, RedriveExecution, StopExecution) goes through the real
 * SDK, so the stand-in records the history exactly as it would any other.
 */
import { randomUUID } from 'node:crypto';
import { CreateStateMachineCommand, RedriveExecutionCommand, type SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { StepFunctionsStandIn, StepResult } from './sfn';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A clock that can be set to any time and then follows the real one from there. */
export class ShiftableClock {
  private offsetMs = 0;
  constructor(private readonly base: () => number = Date.now) {}
  readonly now = (): number => this.base() + this.offsetMs;
  set(at: number): void {
    this.offsetMs = at - this.base();
  }
  reset(): void {
    this.offsetMs = 0;
  }
}

export type SeedKind = 'retryable' | 'runtime' | 'timed-out' | 'aborted' | 'redriven' | 'long-run' | 'old';

export interface SeededExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly kind: SeedKind;
  readonly error: string;
  /** When it (last) stopped, epoch ms. */
  readonly stopDate: number;
  readonly redriveCount: number;
}

export interface SeededHistory {
  readonly stateMachineArns: readonly string[];
  readonly executions: readonly SeededExecution[];
  /** Failures that stopped within the last 14 days (the default what-if window). */
  readonly inWindow: number;
}

export interface SeedOptions {
  readonly sfn: SFNClient;
  readonly standIn: StepFunctionsStandIn;
  readonly clock: ShiftableClock;
  /** @default 20 */
  readonly stateMachines?: number;
  /** Failures within the last 14 days. @default 1000 */
  readonly failures?: number;
  /** Name prefix of the state machines. @default 'history' */
  readonly prefix?: string;
  readonly account?: string;
  readonly region?: string;
}

const RETRYABLE = ['Lambda.ServiceException', 'Lambda.TooManyRequestsException', 'States.TaskFailed', 'Payments.Unavailable'];

/**
 * The kind of the i-th failure: a fixed, repeatable mix (about these percentages of the
 * total), scattered by a multiplicative hash so every state machine gets a different one.
 */
export function kindOf(i: number): SeedKind {
  const slot = (Math.imul(i + 1, 2654435761) >>> 0) % 100;
  if (slot < 60) return 'retryable';
  if (slot < 72) return 'runtime';
  if (slot < 75) return 'timed-out';
  if (slot < 78) return 'aborted';
  if (slot < 92) return 'redriven';
  if (slot < 95) return 'long-run';
  return 'retryable';
}

interface SeedInput {
  readonly error: string;
  /** Stay RUNNING until the seeder ends it (aborted, timed out, long-running). */
  readonly hang?: boolean;
}

type Step = { readonly at: number; run(): Promise<void> };

export async function seedHistory(options: SeedOptions): Promise<SeededHistory> {
  const { sfn, standIn, clock } = options;
  const machines = options.stateMachines ?? 20;
  const total = options.failures ?? 1000;
  const prefix = options.prefix ?? 'history';
  const account = options.account ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const now = clock.now();
  const resource = `arn:aws:lambda:${region}:${account}:function:${prefix}-step`;

  const hanging = new Map<string, (r: StepResult) => void>();
  standIn.setBehaviour(resource, (ctx) => {
    const input = ctx.input as SeedInput;
    // Only the first run hangs: a redrive (by the seeder or a controller) fails at once.
    if (input.hang && ctx.attempt === 1) return new Promise<StepResult>((resolve) => hanging.set(ctx.executionArn, resolve));
    return { ok: false, error: input.error, cause: `seeded failure (${input.error})` };
  });

  const arns: string[] = [];
  for (let m = 0; m < machines; m++) {
    // 1 to 4 Pass states before the Task: the transitions estimate differs per machine.
    const passes = 1 + (m % 4);
    const states: Record<string, unknown> = {};
    for (let p = 1; p <= passes; p++) states[`Prepare${p}`] = { Type: 'Pass', Next: p < passes ? `Prepare${p + 1}` : 'Work' };
    states.Work = { Type: 'Task', Resource: resource, Next: 'Done' };
    states.Done = { Type: 'Succeed' };
    const out = await sfn.send(
      new CreateStateMachineCommand({
        name: `${prefix}-${String(m + 1).padStart(2, '0')}`,
        roleArn: `arn:aws:iam::${account}:role/${prefix}`,
        definition: JSON.stringify({ StartAt: 'Prepare1', States: states }),
      }),
    );
    arns.push(out.stateMachineArn!);
  }

  const steps: Step[] = [];
  const seeded: SeededExecution[] = [];
  const old = Math.ceil(total / 20);
  for (let i = 0; i < total + old; i++) {
    const isOld = i >= total;
    const kind: SeedKind = isOld ? 'old' : kindOf(i);
    const stateMachineArn = arns[i % machines];
    const name = `${kind}-${String(i).padStart(5, '0')}`;
    const executionArn = stateMachineArn.replace(':stateMachine:', ':execution:') + `:${name}`;
    // In the window: spread over 13.8 days, ending an hour ago (so the oldest long runs
    // started before a 14-day window). Old: 15 to 16 days ago.
    const stopAt = isOld ? now - 15 * DAY - ((i - total) / old) * DAY : now - HOUR - ((i + 0.5) / total) * 13.8 * DAY;
    const error =
      kind === 'runtime' ? 'States.Runtime' : kind === 'timed-out' ? 'States.Timeout' : kind === 'aborted' ? '' : RETRYABLE[i % RETRYABLE.length];
    const redrives = kind === 'redriven' ? 1 + (i % 2) : 0;
    const hang = kind === 'timed-out' || kind === 'aborted' || kind === 'long-run';
    // A hanging one starts earlier: long runs 12 hours before the stop, the others 10 minutes.
    const startAt = kind === 'long-run' ? stopAt - 12 * HOUR : hang ? stopAt - 10 * 60_000 : stopAt - redrives * HOUR;
    // An aborted one has no error; if it is redriven, its Task fails with a retryable one.
    const input: SeedInput = hang ? { error: error || RETRYABLE[0], hang: true } : { error };
    steps.push({ at: startAt, run: () => start(stateMachineArn, name, input) });
    for (let r = 1; r <= redrives; r++) steps.push({ at: startAt + r * HOUR, run: () => redrive(executionArn) });
    if (kind === 'aborted') steps.push({ at: stopAt, run: () => stop(executionArn) });
    if (kind === 'timed-out') steps.push({ at: stopAt, run: () => timeOut(executionArn) });
    if (kind === 'long-run') steps.push({ at: stopAt, run: () => release(executionArn, error) });
    seeded.push({ executionArn, stateMachineArn, kind, error: kind === 'aborted' ? '' : error, stopDate: stopAt, redriveCount: redrives });
  }

  async function until(done: () => boolean, what: string): Promise<void> {
    for (let turns = 0; !done(); turns++) {
      if (turns > 10_000) throw new Error(`seed-history: ${what}`);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  const settle = (executionArn: string) => until(() => standIn.getExecution(executionArn)?.status !== 'RUNNING', `${executionArn} did not settle`);
  async function start(stateMachineArn: string, name: string, input: SeedInput): Promise<void> {
    const arn = (await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }))).executionArn!;
    // A hanging one is ended by a later step: it must have reached its Task by then.
    if (input.hang) await until(() => hanging.has(arn), `${arn} did not reach its Task`);
    else await settle(arn);
  }
  async function redrive(executionArn: string): Promise<void> {
    await sfn.send(new RedriveExecutionCommand({ executionArn, clientToken: randomUUID() }));
    await settle(executionArn);
  }
  /** Ends the hanging Task's promise too, so the stand-in goes idle. */
  function unhang(executionArn: string, result: StepResult): void {
    hanging.get(executionArn)?.(result);
    hanging.delete(executionArn);
  }
  async function stop(executionArn: string): Promise<void> {
    await sfn.send(new StopExecutionCommand({ executionArn }));
    unhang(executionArn, { ok: true });
  }
  async function timeOut(executionArn: string): Promise<void> {
    standIn.timeOutExecution(executionArn);
    unhang(executionArn, { ok: true });
  }
  async function release(executionArn: string, error: string): Promise<void> {
    unhang(executionArn, { ok: false, error, cause: `seeded failure (${error})` });
    await settle(executionArn);
  }

  try {
    // In time order, on the stand-in's clock (steps at one instant keep their order).
    steps.sort((a, b) => a.at - b.at);
    for (const step of steps) {
      clock.set(step.at);
      await step.run();
    }
  } finally {
    clock.reset();
  }
  await standIn.idle();
  return { stateMachineArns: arns, executions: seeded, inWindow: seeded.filter((e) => e.kind !== 'old').length };
}
