/**
 * The linear subset of Amazon States Language the stand-in runs (a Task's Parameters and
 * ResultSelector are parameters.ts), and the scripted
 * behaviours that decide whether a Task succeeds. Anything outside the subset is
 * rejected at CreateStateMachine, so a test never silently runs a different workflow
 * than the one it describes.
 */
import { invalidDefinition } from './errors';
import { checkTemplate, isObject } from './parameters';

export type StepResult = { ok: true; output?: unknown } | { ok: false; error: string; cause?: string };

export interface StepContext {
  executionArn: string;
  /** The state's input (the execution input, unless a Pass state replaced it). */
  input: unknown;
  /** 1 on the first run of this state in this execution, +1 on every re-run (redrive). */
  attempt: number;
  now: number;
}

export type StepBehaviour =
  | { kind: 'succeed' }
  | { kind: 'fail'; error: string; cause?: string }
  | { kind: 'fail-until'; untilMs: number; error: string; cause?: string }
  | { kind: 'fail-times'; times: number; error: string; cause?: string }
  | { kind: 'fail-if-input'; field: string; error: string; cause?: string }
  /** May return a promise: keeps the execution RUNNING until it settles (e.g. to test StopExecution). */
  | ((ctx: StepContext) => StepResult | Promise<StepResult>);

export type StateDefinition =
  | { type: 'Task'; resource: string; next?: string; parameters?: unknown; resultSelector?: unknown }
  | { type: 'Pass'; result?: unknown; hasResult: boolean; next?: string }
  | { type: 'Succeed' }
  | { type: 'Fail'; error?: string; cause?: string };

export interface Workflow {
  startAt: string;
  states: ReadonlyMap<string, StateDefinition>;
}

/** Fields the stand-in can honour; anything else (Retry, Catch, ResultPath, …) is rejected. */
const ALLOWED_FIELDS: Record<string, readonly string[]> = {
  Task: ['Type', 'Resource', 'Next', 'End', 'Comment', 'Parameters', 'ResultSelector'],
  Pass: ['Type', 'Result', 'Next', 'End', 'Comment'],
  Succeed: ['Type', 'Comment'],
  Fail: ['Type', 'Error', 'Cause', 'Comment'],
};

export function parseDefinition(definition: string): Workflow {
  let doc: unknown;
  try {
    doc = JSON.parse(definition);
  } catch {
    throw invalidDefinition('INVALID_JSON_DESCRIPTION: definition is not valid JSON');
  }
  if (!isObject(doc)) throw invalidDefinition('SCHEMA_VALIDATION_FAILED: definition must be a JSON object');
  if (typeof doc.StartAt !== 'string') throw invalidDefinition('SCHEMA_VALIDATION_FAILED: StartAt is required');
  if (!isObject(doc.States) || Object.keys(doc.States).length === 0) {
    throw invalidDefinition('SCHEMA_VALIDATION_FAILED: States must be a non-empty object');
  }

  const states = new Map<string, StateDefinition>();
  for (const [name, raw] of Object.entries(doc.States)) {
    states.set(name, parseState(name, raw));
  }
  if (!states.has(doc.StartAt)) {
    throw invalidDefinition(`MISSING_TRANSITION_TARGET: StartAt '${doc.StartAt}' is not a state`);
  }
  for (const [name, state] of states) {
    if ('next' in state && state.next !== undefined && !states.has(state.next)) {
      throw invalidDefinition(`MISSING_TRANSITION_TARGET: Missing 'Next' target: ${state.next} at /States/${name}/Next`);
    }
  }
  assertTerminates(doc.StartAt, states);
  return { startAt: doc.StartAt, states };
}

function parseState(name: string, raw: unknown): StateDefinition {
  const at = `/States/${name}`;
  if (!isObject(raw)) throw invalidDefinition(`SCHEMA_VALIDATION_FAILED: state must be an object at ${at}`);
  const type = raw.Type;
  if (typeof type !== 'string' || !(type in ALLOWED_FIELDS)) {
    throw invalidDefinition(`UNSUPPORTED_STATE_TYPE: the local stand-in does not support Type ${String(type)} at ${at}`);
  }
  for (const field of Object.keys(raw)) {
    if (!ALLOWED_FIELDS[type].includes(field)) {
      throw invalidDefinition(`UNSUPPORTED_FIELD: the local stand-in does not support field ${field} at ${at}`);
    }
  }
  if (type === 'Succeed') return { type };
  if (type === 'Fail') {
    return { type, error: optionalString(raw.Error, `${at}/Error`), cause: optionalString(raw.Cause, `${at}/Cause`) };
  }
  const next = transition(raw, at);
  if (type === 'Pass') return { type, result: raw.Result, hasResult: 'Result' in raw, next };
  if (typeof raw.Resource !== 'string' || raw.Resource === '') {
    throw invalidDefinition(`SCHEMA_VALIDATION_FAILED: Resource is required at ${at}`);
  }
  checkTemplate(raw.Parameters, `${at}/Parameters`);
  checkTemplate(raw.ResultSelector, `${at}/ResultSelector`);
  return { type: 'Task', resource: raw.Resource, next, parameters: raw.Parameters, resultSelector: raw.ResultSelector };
}

/** Exactly one of Next / End:true, as ASL requires of Task and Pass. */
function transition(raw: Record<string, unknown>, at: string): string | undefined {
  const hasNext = typeof raw.Next === 'string';
  const ends = raw.End === true;
  if (hasNext === ends) {
    throw invalidDefinition(`SCHEMA_VALIDATION_FAILED: exactly one of Next or End:true is required at ${at}`);
  }
  return hasNext ? (raw.Next as string) : undefined;
}

function optionalString(v: unknown, at: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidDefinition(`SCHEMA_VALIDATION_FAILED: expected a string at ${at}`);
  return v;
}

/** Without Choice states a loop would run forever; reject it up front. */
function assertTerminates(startAt: string, states: ReadonlyMap<string, StateDefinition>): void {
  const seen = new Set<string>();
  let cursor: string | undefined = startAt;
  while (cursor !== undefined) {
    if (seen.has(cursor)) throw invalidDefinition(`CYCLE: the path from StartAt loops back to /States/${cursor}`);
    seen.add(cursor);
    const state = states.get(cursor) as StateDefinition;
    cursor = 'next' in state ? state.next : undefined;
  }
}

/** Decides one Task run. Behaviours are pure functions of the context, so re-runs are predictable. */
export async function runBehaviour(behaviour: StepBehaviour, ctx: StepContext): Promise<StepResult> {
  if (typeof behaviour === 'function') return behaviour(ctx);
  switch (behaviour.kind) {
    case 'succeed':
      return { ok: true };
    case 'fail':
      return failure(behaviour);
    case 'fail-until':
      return ctx.now < behaviour.untilMs ? failure(behaviour) : { ok: true };
    case 'fail-times':
      return ctx.attempt <= behaviour.times ? failure(behaviour) : { ok: true };
    case 'fail-if-input':
      return isObject(ctx.input) && ctx.input[behaviour.field] ? failure(behaviour) : { ok: true };
  }
}

function failure(b: { error: string; cause?: string }): StepResult {
  return { ok: false, error: b.error, cause: b.cause };
}
