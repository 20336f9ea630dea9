/**
 * The EventBridge pattern that selects the Step Functions status-change events the
 * controller acts on. The CDK rule and the local in-process event bus both build their
 * pattern with this function, so the deployed rule and the local path cannot drift.
 *
 * Event reference: https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html
 */
import { CANARY_NAME_PREFIX } from './canary';

export const STATUS_CHANGE_SOURCE = 'aws.states';
export const STATUS_CHANGE_DETAIL_TYPE = 'Step Functions Execution Status Change';

/** Unsuccessful terminal statuses that RedriveExecution accepts. */
export const REDRIVABLE_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type RedrivableStatus = (typeof REDRIVABLE_STATUSES)[number];

/** ABORTED is opt-in: an abort is usually a person's deliberate decision. */
export const DEFAULT_WATCHED_STATUSES: readonly RedrivableStatus[] = ['FAILED', 'TIMED_OUT'];

export interface StatusChangePatternOptions {
  /** @default DEFAULT_WATCHED_STATUSES (FAILED, TIMED_OUT) */
  readonly statuses?: readonly RedrivableStatus[];
  /** Narrow the rule to these state machine ARNs. @default all state machines */
  readonly stateMachineArns?: readonly string[];
}

/** An EventBridge numeric matcher, e.g. `{ numeric: ['>', 0] }`. */
export interface NumericMatcher {
  readonly numeric: ReadonlyArray<'>' | '>=' | '<' | '<=' | '=' | number>;
}

/** An EventBridge wildcard matcher: `*` matches zero or more characters, `\\*` a literal `*`. */
export interface WildcardMatcher {
  readonly wildcard: string;
}

/** The pattern's condition on `detail` other than the state machine filter. */
export interface StatusCondition {
  status: string[];
  redriveCount?: NumericMatcher[];
  stateMachineArn?: WildcardMatcher[];
}

/** Plain JSON event pattern, in the form EventBridge and `events.EventPattern` accept. */
export interface StatusChangePattern {
  readonly source: string[];
  readonly 'detail-type': string[];
  readonly detail: { $or: StatusCondition[]; stateMachineArn?: string[] };
}

/**
 * SUCCEEDED events of executions redriven at least twice (redriveCount > 1) are forwarded
 * too: an execution whose redrive failed again and that then succeeded is the breaker's
 * evidence that the group's failed redrives are flaky, not an outage (docs/breaker.md,
 * "Successes are evidence too"). A first redrive's success (redriveCount 1), by far the most
 * common, is not: it says nothing about failed redrives, and forwarding it would cost a
 * Lambda invocation per redrive. EventBridge's `$or` and numeric matching:
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 */
export const REDRIVE_SUCCEEDED: StatusCondition = { status: ['SUCCEEDED'], redriveCount: [{ numeric: ['>', 1] }] };

/**
 * SUCCEEDED events of the canaries (contract/canary.ts), at any redriveCount: a canary's
 * success after its redrive is the controller's proof that the redrive path works in that
 * account and Region (it records the recovery). Matched by name with a wildcard filter,
 * which event bus rules support, inside `$or` (the operators table,
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html;
 * wildcard matching: `*` is zero or more characters,
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html),
 * so it costs one Lambda invocation per canary run and nothing for other state machines.
 * The pattern stays three `$or` branches of one value each. Derived from
 * CANARY_NAME_PREFIX, like the canary's policy key.
 */
export const CANARY_SUCCEEDED: StatusCondition = {
  status: ['SUCCEEDED'],
  stateMachineArn: [{ wildcard: `arn:*:states:*:*:stateMachine:${CANARY_NAME_PREFIX}*` }],
};

/** A fresh copy of a condition (callers may mutate the pattern they get). */
const copyOf = (c: StatusCondition): StatusCondition => JSON.parse(JSON.stringify(c)) as StatusCondition;

/**
 * The one check of a statuses list (the construct props, the member props, the pattern):
 * at least one, each a status RedriveExecution accepts, no duplicates. Returns the
 * problem, starting with `name`, or undefined.
 */
export function statusesProblem(name: string, statuses: readonly string[]): string | undefined {
  if (statuses.length === 0) return `${name} must contain at least one status`;
  const unknown = statuses.find((s) => !(REDRIVABLE_STATUSES as readonly string[]).includes(s));
  if (unknown !== undefined) return `${name}: '${unknown}' is not one of ${REDRIVABLE_STATUSES.join(', ')}`;
  if (new Set(statuses).size !== statuses.length) return `${name} contains duplicates: ${statuses.join(', ')}`;
  return undefined;
}

export function statusChangePattern(options: StatusChangePatternOptions = {}): StatusChangePattern {
  const statuses = options.statuses ?? DEFAULT_WATCHED_STATUSES;
  const problem = statusesProblem('statuses', statuses);
  if (problem) throw new Error(problem);
  const detail: StatusChangePattern['detail'] = { $or: [{ status: [...statuses] }, { status: [...REDRIVE_SUCCEEDED.status], redriveCount: [...REDRIVE_SUCCEEDED.redriveCount!] }, copyOf(CANARY_SUCCEEDED)] };
  if (options.stateMachineArns && options.stateMachineArns.length > 0) {
    detail.stateMachineArn = [...options.stateMachineArns];
  }
  return { source: [STATUS_CHANGE_SOURCE], 'detail-type': [STATUS_CHANGE_DETAIL_TYPE], detail };
}

/** The statuses a pattern forwards as failures (the first `$or` branch). */
export const watchedStatusesOf = (pattern: StatusChangePattern): string[] => pattern.detail.$or[0].status;

function numericMatches(matcher: NumericMatcher, value: unknown): boolean {
  if (typeof value !== 'number') return false;
  const ops = matcher.numeric;
  for (let i = 0; i + 1 < ops.length; i += 2) {
    const [op, bound] = [ops[i], ops[i + 1] as number];
    const ok = op === '>' ? value > bound : op === '>=' ? value >= bound : op === '<' ? value < bound : op === '<=' ? value <= bound : value === bound;
    if (!ok) return false;
  }
  return true;
}

/** EventBridge wildcard: `*` is any run of characters; `\\*` and `\\\\` are a literal `*` and `\\`. */
export function wildcardMatches(matcher: WildcardMatcher, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let regex = '';
  for (let i = 0; i < matcher.wildcard.length; i += 1) {
    const c = matcher.wildcard[i];
    if (c === '\\' && i + 1 < matcher.wildcard.length) regex += escapeRegExp(matcher.wildcard[++i]);
    else regex += c === '*' ? '.*' : escapeRegExp(c);
  }
  return new RegExp(`^${regex}$`, 's').test(value);
}

const escapeRegExp = (c: string) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const conditionMatches = (c: StatusCondition, detail: Record<string, unknown>) =>
  c.status.includes(detail.status as string) &&
  (c.redriveCount ?? []).every((m) => numericMatches(m, detail.redriveCount)) &&
  (c.stateMachineArn === undefined || c.stateMachineArn.some((m) => wildcardMatches(m, detail.stateMachineArn)));

/**
 * Matches an event against a pattern of the shape above (exact-value lists, `$or`, numeric
 * ranges, wildcards: all that `statusChangePattern` produces). Used by the local bus.
 */
export function matchesPattern(pattern: StatusChangePattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  if (!pattern.source.includes(e.source as string)) return false;
  if (!pattern['detail-type'].includes(e['detail-type'] as string)) return false;
  const detail = e.detail as Record<string, unknown> | undefined;
  if (typeof detail !== 'object' || detail === null) return false;
  if (!pattern.detail.$or.some((c) => conditionMatches(c, detail))) return false;
  if (pattern.detail.stateMachineArn && !pattern.detail.stateMachineArn.includes(detail.stateMachineArn as string)) {
    return false;
  }
  return true;
}
