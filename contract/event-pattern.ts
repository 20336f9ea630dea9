/**
 * The EventBridge pattern that selects the Step Functions status-change events the
 * controller acts on. The CDK rule and the local in-process event bus both build their
 * pattern with this function, so the deployed rule and the local path cannot drift.
 *
 * Event reference: https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html
 */

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

/** Plain JSON event pattern, in the form EventBridge and `events.EventPattern` accept. */
export interface StatusChangePattern {
  readonly source: string[];
  readonly 'detail-type': string[];
  readonly detail: { status: string[]; stateMachineArn?: string[] };
}

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
  const detail: StatusChangePattern['detail'] = { status: [...statuses] };
  if (options.stateMachineArns && options.stateMachineArns.length > 0) {
    detail.stateMachineArn = [...options.stateMachineArns];
  }
  return { source: [STATUS_CHANGE_SOURCE], 'detail-type': [STATUS_CHANGE_DETAIL_TYPE], detail };
}

/**
 * Matches an event against a pattern of the shape above (exact-value lists only, which
 * is all `statusChangePattern` produces). Used by the local bus.
 */
export function matchesPattern(pattern: StatusChangePattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  if (!pattern.source.includes(e.source as string)) return false;
  if (!pattern['detail-type'].includes(e['detail-type'] as string)) return false;
  const detail = e.detail as Record<string, unknown> | undefined;
  if (typeof detail !== 'object' || detail === null) return false;
  if (!pattern.detail.status.includes(detail.status as string)) return false;
  if (pattern.detail.stateMachineArn && !pattern.detail.stateMachineArn.includes(detail.stateMachineArn as string)) {
    return false;
  }
  return true;
}
