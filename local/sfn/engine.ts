/**
 * State machines, executions and the redrive rules, independent of HTTP. Executions
 * run asynchronously (one event-loop turn per state), like AWS where StartExecution
 * returns before the first state runs.
 */
import { randomUUID } from 'node:crypto';
import * as errors from './errors';
import { buildStatusChangeEvent } from './events';
import { ExecutionHistories } from './history';
import { paginate, type Page } from './paging';
import { redriveVerdict } from './redrive-rules';
import type {
  Clock,
  ExecutionSnapshot,
  ExecutionStatus,
  RedriveRecord,
  StateMachineStatus,
  StateMachineType,
  StatusChangeEvent,
} from './types';
import { runTask, unsupportedIntegration } from './integrations';
import type { ContextObject } from './parameters';
import { parseDefinition, type StateDefinition, type StepBehaviour, type Workflow } from './workflow';

/** clientToken idempotency window, per the RedriveExecution API reference. */
export const CLIENT_TOKEN_TTL_MS = 15 * 60 * 1000;
export const CLIENT_TOKENS_KEPT = 10;

/** Rough history-event cost of each state, so the 24,999-event rule can trigger realistically. */
const HISTORY_EVENTS = { taskOk: 5, taskFailed: 4, pass: 2, succeed: 2, fail: 1, executionStarted: 1, executionEnded: 1, redriven: 1 };

export interface StateMachineRecord {
  arn: string;
  name: string;
  definition: string;
  workflow: Workflow;
  roleArn: string;
  type: StateMachineType;
  status: StateMachineStatus;
  creationDate: number;
  seq: number;
}

interface ExecutionRecord {
  seq: number;
  arn: string;
  sm: StateMachineRecord;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  redriveCount: number;
  redriveDate?: number;
  historyEventCount: number;
  /** Where the execution is, failed or was stopped: a redrive resumes here with this data. */
  position: { state: string; data: unknown };
  attempts: Map<string, number>;
  /** Bumped on every (re)start so steps of a stopped run cannot touch a later run. */
  runId: number;
  /** Successful redrives' client tokens, oldest first, at most CLIENT_TOKENS_KEPT. */
  tokens: Array<{ token: string; firstUsedAt: number; redriveDate: number }>;
}

type StateOutcome = { ok: true; data: unknown; next?: string } | { ok: false; error?: string; cause?: string };

export interface EngineOptions {
  clock: Clock;
  accountId: string;
  region: string;
  emit: (event: StatusChangeEvent) => void;
}

const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

export class Engine {
  private readonly machines = new Map<string, StateMachineRecord>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly behaviours = new Map<string, StepBehaviour>();
  readonly redrives: RedriveRecord[] = [];
  /** GetExecutionHistory's events (history.ts). */
  readonly histories = new ExecutionHistories();
  private seq = 0;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: EngineOptions) {}

  private now(): number {
    return this.options.clock();
  }

  setBehaviour(resource: string, behaviour: StepBehaviour): void {
    this.behaviours.set(resource, behaviour);
  }

  // ---- state machines -------------------------------------------------------

  createStateMachine(p: { name: string; definition: string; roleArn: string; type: StateMachineType }): StateMachineRecord {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(p.name)) throw errors.invalidName(p.name);
    const arn = `arn:aws:states:${this.options.region}:${this.options.accountId}:stateMachine:${p.name}`;
    const existing = this.machines.get(arn);
    if (existing) {
      if (existing.status === 'DELETING') throw errors.stateMachineDeleting(arn);
      // AWS treats an identical create as idempotent and returns the existing machine.
      if (existing.definition === p.definition && existing.roleArn === p.roleArn && existing.type === p.type) {
        return existing;
      }
      throw errors.stateMachineAlreadyExists(arn);
    }
    const workflow = parseDefinition(p.definition);
    for (const [name, state] of workflow.states) {
      const unsupported = state.type === 'Task' ? unsupportedIntegration(state.resource) : undefined;
      if (unsupported) throw errors.invalidDefinition(`${unsupported} at /States/${name}/Resource`);
    }
    const record: StateMachineRecord = {
      ...p,
      arn,
      workflow,
      status: 'ACTIVE',
      creationDate: this.now(),
      seq: ++this.seq,
    };
    this.machines.set(arn, record);
    return record;
  }

  /** Stays DELETING for good, so "State machine is in DELETING status" can be observed. */
  deleteStateMachine(arn: string): void {
    const sm = this.machines.get(arn);
    if (sm) sm.status = 'DELETING';
  }

  describeStateMachine(arn: string): StateMachineRecord {
    const sm = this.machines.get(arn);
    if (!sm) throw errors.stateMachineDoesNotExist(arn);
    return sm;
  }

  listStateMachines(limit: number, nextToken?: string): Page<StateMachineRecord> {
    return paginate([...this.machines.values()], (m) => [m.seq], 'ListStateMachines', limit, nextToken);
  }

  // ---- executions -----------------------------------------------------------

  startExecution(p: { stateMachineArn: string; name?: string; input?: string }): { executionArn: string; startDate: number } {
    const sm = this.describeStateMachine(p.stateMachineArn);
    if (sm.status === 'DELETING') throw errors.stateMachineDeleting(sm.arn);
    const name = p.name ?? randomUUID();
    if (!EXECUTION_NAME.test(name)) throw errors.invalidName(name);
    const input = p.input ?? '{}';
    let data: unknown;
    try {
      data = JSON.parse(input);
    } catch {
      throw errors.invalidExecutionInput(input);
    }

    const prefix = `arn:aws:states:${this.options.region}:${this.options.accountId}`;
    const arn =
      sm.type === 'EXPRESS' ? `${prefix}:express:${sm.name}:${name}:${randomUUID()}` : `${prefix}:execution:${sm.name}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      // AWS: same name + same input while still RUNNING is an idempotent retry; anything else is a clash.
      if (existing.input === input && existing.status === 'RUNNING') {
        return { executionArn: existing.arn, startDate: existing.startDate };
      }
      throw errors.executionAlreadyExists(arn);
    }

    const exec: ExecutionRecord = {
      seq: ++this.seq,
      arn,
      sm,
      name,
      input,
      status: 'RUNNING',
      startDate: this.now(),
      redriveCount: 0,
      historyEventCount: HISTORY_EVENTS.executionStarted,
      position: { state: sm.workflow.startAt, data },
      attempts: new Map(),
      runId: 0,
      tokens: [],
    };
    this.executions.set(arn, exec);
    this.histories.started(arn, exec.startDate, input, sm.roleArn);
    this.emit(exec);
    this.launch(exec);
    return { executionArn: arn, startDate: exec.startDate };
  }

  describeExecution(arn: string): ExecutionSnapshot {
    return this.snapshot(this.requireExecution(arn));
  }

  /** Direct read for tests: undefined rather than an error. */
  getExecution(arn: string): ExecutionSnapshot | undefined {
    const exec = this.executions.get(arn);
    return exec && this.snapshot(exec);
  }

  listExecutions(p: {
    stateMachineArn: string;
    statusFilter?: ExecutionStatus;
    redriveFilter?: 'REDRIVEN' | 'NOT_REDRIVEN';
    limit: number;
    nextToken?: string;
  }): Page<ExecutionSnapshot> {
    const sm = this.describeStateMachine(p.stateMachineArn);
    if (sm.type === 'EXPRESS') {
      throw errors.stateMachineTypeNotSupported('This operation is not supported by this type of state machine');
    }
    const matching = [...this.executions.values()].filter(
      (e) =>
        e.sm === sm &&
        (p.statusFilter === undefined || e.status === p.statusFilter) &&
        (p.redriveFilter === undefined || (e.redriveCount > 0) === (p.redriveFilter === 'REDRIVEN')),
    );
    const scope = JSON.stringify([sm.arn, p.statusFilter ?? null, p.redriveFilter ?? null]);
    // Newest first; seq breaks ties when a simulated clock gives equal start dates.
    const page = paginate(matching, (e) => [-e.startDate, -e.seq], scope, p.limit, p.nextToken);
    return { items: page.items.map((e) => this.snapshot(e)), nextToken: page.nextToken };
  }

  redriveExecution(arn: string, clientToken?: string): { redriveDate: number } {
    const exec = this.requireExecution(arn);
    const now = this.now();
    if (clientToken !== undefined) {
      const replay = exec.tokens.find((t) => t.token === clientToken && now < t.firstUsedAt + CLIENT_TOKEN_TTL_MS);
      // Idempotent replay: same answer, no second redrive, whatever the execution is doing now.
      if (replay) return { redriveDate: replay.redriveDate };
    }
    const verdict = redriveVerdict(this.facts(exec), now);
    if (verdict.redriveStatus !== 'REDRIVABLE') throw errors.executionNotRedrivable(verdict.redriveStatusReason ?? '');

    exec.redriveCount += 1;
    exec.redriveDate = now;
    exec.status = 'RUNNING';
    exec.stopDate = exec.output = exec.error = exec.cause = undefined;
    exec.historyEventCount += HISTORY_EVENTS.redriven;
    if (clientToken !== undefined) {
      // A token past its 15 minutes is being used afresh: its new first use replaces the old entry.
      const others = exec.tokens.filter((t) => t.token !== clientToken);
      exec.tokens = [...others, { token: clientToken, firstUsedAt: now, redriveDate: now }].slice(-CLIENT_TOKENS_KEPT);
    }
    this.redrives.push({ executionArn: arn, at: now, redriveCount: exec.redriveCount, clientToken });
    this.histories.redriven(arn, now, exec.redriveCount);
    this.emit(exec);
    this.launch(exec);
    return { redriveDate: now };
  }

  stopExecution(arn: string, error?: string, cause?: string): { stopDate: number } {
    const exec = this.requireExecution(arn);
    // Stopping a finished execution changes nothing; answer with the date it stopped.
    if (exec.status !== 'RUNNING') return { stopDate: exec.stopDate ?? this.now() };
    this.finish(exec, { status: 'ABORTED', error, cause });
    return { stopDate: exec.stopDate as number };
  }

  /**
   * Test hook: the state machine's TimeoutSeconds ran out (the stand-in has no timers of
   * its own): a RUNNING execution ends TIMED_OUT with States.Timeout, as on AWS.
   */
  timeOutExecution(arn: string): void {
    const exec = this.requireExecution(arn);
    if (exec.status === 'RUNNING') this.finish(exec, { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution timed out (TimeoutSeconds)' });
  }

  /** Test hook: lets a test reach the 24,999-event limit without running thousands of states. */
  setHistoryEventCount(arn: string, count: number): void {
    this.requireExecution(arn).historyEventCount = count;
  }

  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // ---- running ----------------------------------------------------------------

  private launch(exec: ExecutionRecord): void {
    const runId = ++exec.runId;
    this.inFlight += 1;
    this.drive(exec, runId)
      .catch((err: unknown) => {
        // A bug in the stand-in must not leave the execution RUNNING forever.
        if (this.isCurrent(exec, runId)) {
          this.finish(exec, { status: 'FAILED', error: 'States.Runtime', cause: `local stand-in error: ${String(err)}` });
        }
      })
      .finally(() => {
        this.inFlight -= 1;
        if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
      });
  }

  private isCurrent(exec: ExecutionRecord, runId: number): boolean {
    return exec.runId === runId && exec.status === 'RUNNING';
  }

  private async drive(exec: ExecutionRecord, runId: number): Promise<void> {
    for (;;) {
      // Yield first so the API response that started this run goes out before any state runs.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!this.isCurrent(exec, runId)) return;
      const name = exec.position.state;
      const attempt = (exec.attempts.get(name) ?? 0) + 1;
      exec.attempts.set(name, attempt);
      const outcome = await this.runState(exec, name, exec.sm.workflow.states.get(name) as StateDefinition, attempt);
      if (!this.isCurrent(exec, runId)) return; // stopped while the state ran
      this.histories.stateRan(exec.arn, this.now(), name, exec.sm.workflow.states.get(name) as StateDefinition, exec.position.data, outcome);
      if (!outcome.ok) return this.finish(exec, { status: 'FAILED', error: outcome.error, cause: outcome.cause });
      if (outcome.next === undefined) {
        return this.finish(exec, { status: 'SUCCEEDED', output: JSON.stringify(outcome.data ?? null) });
      }
      exec.position = { state: outcome.next, data: outcome.data };
    }
  }

  private async runState(exec: ExecutionRecord, name: string, state: StateDefinition, attempt: number): Promise<StateOutcome> {
    const data = exec.position.data;
    switch (state.type) {
      case 'Pass':
        exec.historyEventCount += HISTORY_EVENTS.pass;
        return { ok: true, data: state.hasResult ? state.result : data, next: state.next };
      case 'Succeed':
        exec.historyEventCount += HISTORY_EVENTS.succeed;
        return { ok: true, data };
      case 'Fail':
        exec.historyEventCount += HISTORY_EVENTS.fail;
        return { ok: false, error: state.error, cause: state.cause };
      case 'Task': {
        const enteredAt = this.now();
        const result = await runTask({
          ...state,
          input: data,
          executionArn: exec.arn,
          context: () => this.contextObject(exec, name, enteredAt),
          attempt,
          now: this.now(),
          behaviour: this.behaviours.get(state.resource),
          engine: this,
        });
        exec.historyEventCount += result.ok ? HISTORY_EVENTS.taskOk : HISTORY_EVENTS.taskFailed;
        if (!result.ok) return result;
        // A Task's result replaces its input (ASL default ResultPath "$"); no result keeps the input.
        return { ok: true, data: result.output !== undefined ? result.output : data, next: state.next };
      }
    }
  }

  private finish(
    exec: ExecutionRecord,
    end: { status: ExecutionStatus; output?: string; error?: string; cause?: string },
  ): void {
    exec.status = end.status;
    exec.stopDate = this.now();
    exec.output = end.output;
    exec.error = end.error;
    exec.cause = end.cause;
    exec.historyEventCount += HISTORY_EVENTS.executionEnded;
    this.histories.ended(exec.arn, exec.stopDate, end);
    this.emit(exec);
  }

  // ---- views ------------------------------------------------------------------

  /** The Context object ($$) of the state being entered now (input-output-contextobject.html). */
  private contextObject(exec: ExecutionRecord, state: string, enteredAt: number): ContextObject {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      Execution: {
        Id: exec.arn,
        Input: JSON.parse(exec.input),
        Name: exec.name,
        RoleArn: exec.sm.roleArn,
        StartTime: iso(exec.startDate),
        RedriveCount: exec.redriveCount,
        ...(exec.redriveDate !== undefined ? { RedriveTime: iso(exec.redriveDate) } : {}),
      },
      State: { EnteredTime: iso(enteredAt), Name: state, RetryCount: 0 },
      StateMachine: { Id: exec.sm.arn, Name: exec.sm.name },
    };
  }

  private requireExecution(arn: string): ExecutionRecord {
    const exec = this.executions.get(arn);
    if (!exec) throw errors.executionDoesNotExist(arn);
    return exec;
  }

  private facts(exec: ExecutionRecord) {
    return { ...exec, stateMachineType: exec.sm.type, stateMachineStatus: exec.sm.status };
  }

  private snapshot(exec: ExecutionRecord): ExecutionSnapshot {
    const verdict = redriveVerdict(this.facts(exec), this.now());
    return {
      executionArn: exec.arn,
      stateMachineArn: exec.sm.arn,
      name: exec.name,
      type: exec.sm.type,
      status: exec.status,
      startDate: exec.startDate,
      stopDate: exec.stopDate,
      input: exec.input,
      output: exec.output,
      error: exec.error,
      cause: exec.cause,
      redriveCount: exec.redriveCount,
      redriveDate: exec.redriveDate,
      redriveStatus: verdict.redriveStatus,
      redriveStatusReason: verdict.redriveStatusReason,
      historyEventCount: exec.historyEventCount,
      currentState: exec.position.state,
      stateAttempts: Object.fromEntries(exec.attempts),
    };
  }

  /** Express workflows send no status-change events, as on AWS. */
  private emit(exec: ExecutionRecord): void {
    if (exec.sm.type !== 'STANDARD') return;
    const { accountId: account, region } = this.options;
    this.options.emit(buildStatusChangeEvent(this.snapshot(exec), { account, region, now: this.now() }));
  }
}
