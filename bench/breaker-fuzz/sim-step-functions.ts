/**
 * Step Functions for one fuzz world, on the simulated clock: each execution runs the
 * world's Task (its duration, and an end decided by the dependency's outages, poison, bad
 * input or flakiness); RedriveExecution resumes a FAILED or TIMED_OUT execution with the
 * stand-in's rules (local/sfn/redrive-rules.ts: not while RUNNING or SUCCEEDED, not after
 * 14 days) and clientToken idempotency (15 minutes, as on AWS). State is computed from
 * the clock, so a controller that sleeps (deps.sleep) sees runs end meanwhile.
 *
 * Status changes are reported to `onStatusChange` as EventBridge events of the real
 * shape (test/fixtures/status-change-events); the runner decides which are delivered.
 */
import type { DescribedExecution, ListedExecution, RedriveResult, StepFunctionsGateway } from '../../lambda/act/step-functions';
import type { ExecutionStatus } from '../../lambda/event/status-change';
import { CLIENT_TOKEN_TTL_MS } from '../../local/sfn/engine';
import { REASONS, redriveVerdict } from '../../local/sfn/redrive-rules';
import { ACCOUNT, type Execution, type Machine, REGION, type World } from './world';

export type EndStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';

export interface Run {
  readonly startedAt: number;
  readonly endsAt: number;
  readonly status: EndStatus;
  readonly error: string | null;
}

/** One RedriveExecution that went through. */
export interface RedriveRecord {
  readonly executionIndex: number;
  readonly at: number;
  /** The failure redriven: redriveCount before the redrive. */
  readonly fromCount: number;
  readonly clientToken: string;
  /** Who asked: the controller (events, drain, probes, releases of breakers) or a person. */
  readonly actor: 'controller' | 'person';
}

interface SimExecution {
  readonly spec: Execution;
  readonly machine: Machine;
  readonly runs: Run[];
  tokens: Array<{ token: string; firstUsedAt: number; redriveDate: number }>;
}

export interface StatusChangeEvent {
  readonly id: string;
  readonly at: number;
  readonly event: Record<string, unknown>;
}

const inWindow = (at: number, m: Machine) => m.outages.some((o) => o.from <= at && at < o.to);

/** How run number `n` (its redriveCount) started at `startedAt` ends. */
export function taskRun(e: Execution, m: Machine, n: number, startedAt: number): Run {
  const endsAt = startedAt + e.runMs;
  const failed = (error: string): Run => (m.timesOut && error === m.errorName ? { startedAt, endsAt, status: 'TIMED_OUT', error: 'States.Timeout' } : { startedAt, endsAt, status: 'FAILED', error });
  switch (e.kind) {
    case 'bad-input':
      return { startedAt, endsAt, status: 'FAILED', error: 'States.Runtime' };
    case 'poison':
      return failed(m.errorName);
    case 'flaky':
      return n < e.flakyFailures ? failed(e.flakyError) : { startedAt, endsAt, status: 'SUCCEEDED', error: null };
    default:
      return inWindow(endsAt, m) ? failed(m.errorName) : { startedAt, endsAt, status: 'SUCCEEDED', error: null };
  }
}

export class SimStepFunctions implements StepFunctionsGateway {
  private readonly executions: SimExecution[];
  private readonly byArn = new Map<string, SimExecution>();
  readonly redrives: RedriveRecord[] = [];
  /** Set by the runner around a person's action. */
  actor: 'controller' | 'person' = 'controller';
  calls = { redrive: 0, describe: 0, list: 0 };

  constructor(
    private readonly world: World,
    private readonly clock: () => number,
    private readonly onStatusChange: (change: StatusChangeEvent) => void,
  ) {
    this.executions = world.executions.map((spec) => ({ spec, machine: world.machines[spec.machine], runs: [], tokens: [] }));
    for (const e of this.executions) this.byArn.set(e.spec.arn, e);
  }

  /** StartExecution (the world's own clients). */
  start(index: number): void {
    const e = this.executions[index];
    this.launch(e, e.spec.startAt, null);
  }

  private launch(e: SimExecution, at: number, redriveDate: number | null): void {
    const run = taskRun(e.spec, e.machine, e.runs.length, at);
    e.runs.push(run);
    this.onStatusChange(this.event(e, at, { status: 'RUNNING', stopDate: null, redriveDate, error: null }));
    this.onStatusChange(this.event(e, run.endsAt, { status: run.status, stopDate: run.endsAt, redriveDate, error: run.error }));
  }

  private event(e: SimExecution, at: number, d: { status: ExecutionStatus; stopDate: number | null; redriveDate: number | null; error: string | null }): StatusChangeEvent {
    const redriveCount = e.runs.length - 1;
    const verdict = this.verdict(e, at, d.status, d.stopDate);
    const id = `${e.spec.arn}#${redriveCount}#${d.status}`;
    return {
      id,
      at,
      event: {
        version: '0',
        id,
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        account: ACCOUNT,
        time: new Date(Math.floor(at / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
        region: REGION,
        resources: [e.spec.arn],
        detail: {
          executionArn: e.spec.arn,
          stateMachineArn: e.machine.arn,
          name: e.spec.name,
          status: d.status,
          startDate: e.spec.startAt,
          stopDate: d.stopDate,
          input: '{}',
          output: d.status === 'SUCCEEDED' ? '{}' : null,
          stateMachineVersionArn: null,
          stateMachineAliasArn: null,
          redriveCount,
          redriveDate: d.redriveDate,
          redriveStatus: verdict.redriveStatus,
          redriveStatusReason: verdict.redriveStatusReason ?? null,
          inputDetails: { included: true },
          outputDetails: d.status === 'SUCCEEDED' ? { included: true } : null,
          error: d.error,
          cause: d.error ? `${d.error}: simulated` : null,
        },
      },
    };
  }

  private verdict(e: SimExecution, now: number, status: ExecutionStatus, stopDate: number | null) {
    return redriveVerdict(
      { status, startDate: e.spec.startAt, stopDate: stopDate ?? undefined, historyEventCount: e.runs.length * 6, stateMachineType: 'STANDARD', stateMachineStatus: 'ACTIVE' },
      now,
    );
  }

  /** The execution as it is now; undefined before it started. */
  private current(e: SimExecution, now: number): { status: ExecutionStatus; run: Run } | undefined {
    const run = e.runs[e.runs.length - 1];
    if (!run) return undefined;
    return { status: now < run.endsAt ? 'RUNNING' : run.status, run };
  }

  /** Status and redriveCount now (verdicts, the runner's idle check). */
  statusOf(index: number, now = this.clock()): { status: ExecutionStatus | 'NOT_STARTED'; redriveCount: number; stopDate: number | null } {
    const e = this.executions[index];
    const c = this.current(e, now);
    if (!c) return { status: 'NOT_STARTED', redriveCount: 0, stopDate: null };
    return { status: c.status, redriveCount: e.runs.length - 1, stopDate: c.status === 'RUNNING' ? null : c.run.endsAt };
  }

  runsOf(index: number): readonly Run[] {
    return this.executions[index].runs;
  }

  async redrive(executionArn: string, clientToken: string): Promise<RedriveResult> {
    this.calls.redrive++;
    const e = this.byArn.get(executionArn);
    const now = this.clock();
    const c = e && this.current(e, now);
    if (!e || !c) return { kind: 'rejected', errorName: 'ExecutionDoesNotExist', message: `Execution does not exist: '${executionArn}'` };
    const replay = e.tokens.find((t) => t.token === clientToken && now < t.firstUsedAt + CLIENT_TOKEN_TTL_MS);
    if (replay) return { kind: 'redriven', redriveDate: replay.redriveDate };
    const verdict = this.verdict(e, now, c.status, c.status === 'RUNNING' ? null : c.run.endsAt);
    if (verdict.redriveStatus !== 'REDRIVABLE') return { kind: 'rejected', errorName: 'ExecutionNotRedrivable', message: verdict.redriveStatusReason ?? REASONS.running };
    this.redrives.push({ executionIndex: e.spec.index, at: now, fromCount: e.runs.length - 1, clientToken, actor: this.actor });
    e.tokens = [...e.tokens.filter((t) => t.token !== clientToken), { token: clientToken, firstUsedAt: now, redriveDate: now }].slice(-10);
    this.launch(e, now, now);
    return { kind: 'redriven', redriveDate: now };
  }

  async describe(executionArn: string): Promise<DescribedExecution | undefined> {
    this.calls.describe++;
    const e = this.byArn.get(executionArn);
    const now = this.clock();
    const c = e && this.current(e, now);
    if (!e || !c) return undefined;
    const stopDate = c.status === 'RUNNING' ? null : c.run.endsAt;
    const verdict = this.verdict(e, now, c.status, stopDate);
    const failed = c.status === 'FAILED' || c.status === 'TIMED_OUT';
    return {
      executionArn,
      stateMachineArn: e.machine.arn,
      name: e.spec.name,
      startDate: e.spec.startAt,
      status: c.status,
      stopDate,
      redriveCount: e.runs.length - 1,
      redriveDate: e.runs.length > 1 ? c.run.startedAt : null,
      redriveStatus: verdict.redriveStatus,
      redriveStatusReason: verdict.redriveStatusReason ?? null,
      error: failed ? c.run.error : null,
      cause: failed && c.run.error ? `${c.run.error}: simulated` : null,
    };
  }

  async *listStopped(stateMachineArn: string, status: ExecutionStatus, since: number, startedAfter = 0): AsyncIterable<ListedExecution> {
    this.calls.list++;
    const now = this.clock();
    // Newest start first, as ListExecutions pages.
    const mine = this.executions.filter((e) => e.machine.arn === stateMachineArn && e.runs.length > 0).sort((a, b) => b.spec.startAt - a.spec.startAt || b.spec.index - a.spec.index);
    for (const e of mine) {
      if (e.spec.startAt < startedAfter) return;
      const c = this.current(e, now)!;
      if (c.status !== status || c.run.endsAt < since) continue;
      yield { executionArn: e.spec.arn, stateMachineArn, status: c.status, startDate: e.spec.startAt, stopDate: c.run.endsAt, redriveCount: e.runs.length - 1 };
    }
  }

  async newestStartIn(stateMachineArn: string, status: ExecutionStatus): Promise<number | undefined> {
    this.calls.list++;
    const now = this.clock();
    let newest: number | undefined;
    for (const e of this.executions) {
      if (e.machine.arn !== stateMachineArn || e.runs.length === 0 || this.current(e, now)?.status !== status) continue;
      newest = Math.max(newest ?? e.spec.startAt, e.spec.startAt);
    }
    return newest;
  }

  async *listStateMachines(): AsyncIterable<string> {
    for (const m of this.world.machines) yield m.arn;
  }
}
