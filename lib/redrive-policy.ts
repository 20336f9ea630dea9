/**
 * A redrive policy as code: one policy item, declared next to the state machine it
 * governs and deployed with it by a custom resource (lib/policy-writer.ts). The props are
 * the item's fields with CDK types; they are validated at synth by the policy schema the
 * controller and redrivectl use (contract/policy-schema.ts).
 */
import { CustomResource, Duration, Names, Stack, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, IConstruct } from 'constructs';
import type { RedrivableStatus } from '../contract/event-pattern';
import { type OnExhausted, parsePolicyItem } from '../contract/policy-schema';
import { POLICY_RESOURCE_TYPE, managedByValue, type PolicyResourceProperties } from '../contract/policy-resource';
import { PolicyWriter } from './policy-writer';

/** Where a policy item lives: an AutoRedrive construct (or anything with its policy table). */
export interface PolicyTableOwner {
  readonly policyTable: dynamodb.ITable;
}

/**
 * The outage breaker of a policy (docs/breaker.md): which correlated failures open it and
 * how it probes. Every setting is optional; the defaults are the policy schema's
 * (BREAKER_DEFAULTS in contract/policy-schema.ts).
 */
export interface RedrivePolicyBreaker {
  /**
   * false: every failure is decided alone, as without a breaker.
   *
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * No longer used: first failures do not open a breaker (docs/breaker.md, "When it
   * opens"). Accepted so existing code and items stay valid. A whole number from 2 to 100,000.
   *
   * @default 20
   * @deprecated first failures no longer open the breaker; use `redriveFailureThreshold`
   */
  readonly threshold?: number;
  /**
   * Distinct executions whose redrives failed again with the same error within `window`
   * that open the breaker (while few redrives of the group succeed). A whole number from 2
   * to 100,000.
   *
   * @default 2
   */
  readonly redriveFailureThreshold?: number;
  /**
   * The counting window. Whole seconds, from 10 seconds to 1 day.
   *
   * @default Duration.seconds(300)
   */
  readonly window?: Duration;
  /**
   * First interval between probes while the breaker is open. Whole seconds, 1 second to 1 day.
   *
   * @default Duration.seconds(30)
   */
  readonly probeInterval?: Duration;
  /**
   * Longest interval between probes (the interval doubles up to it). Whole seconds.
   *
   * @default Duration.seconds(240)
   */
  readonly maxProbeInterval?: Duration;
  /**
   * A probe still running after this long is checked less often (an eighth of its age, at
   * most every 15 minutes) until it ends. Whole seconds, 10 seconds to 1 day.
   *
   * @default Duration.seconds(900)
   */
  readonly probeTimeout?: Duration;
}

/** The policy itself: every field of a policy item but its key. */
export interface RedrivePolicyOptions {
  /**
   * Redrives of one execution, at most. 0 records failures without redriving them. A whole
   * number from 0 to 1000.
   *
   * @default 3
   */
  readonly maxRedrives?: number;

  /**
   * Delay before the first redrive. Whole seconds, from 0 to 14 days (the redrive window).
   *
   * @default Duration.seconds(60)
   */
  readonly interval?: Duration;

  /**
   * Multiplier of the delay for each further redrive, from 1 to 100.
   *
   * @default 2
   */
  readonly backoffRate?: number;

  /**
   * Longest delay between two redrives. Whole seconds, from 1 second to 14 days.
   *
   * @default Duration.hours(1)
   */
  readonly maxDelay?: Duration;

  /**
   * Jitter of the delay, as in a States Language Retry.
   *
   * @default sfn.JitterType.FULL
   */
  readonly jitter?: sfn.JitterType;

  /**
   * Errors to redrive: error names, `Prefix.*` patterns, or `States.ALL` alone (for
   * example `sfn.Errors.TIMEOUT` or `'Lambda.*'`).
   *
   * @default ['States.ALL']
   */
  readonly errorEquals?: readonly string[];

  /**
   * Errors never redriven, even when `errorEquals` matches: a redrive reruns the same
   * input and definition, so these would only fail again. An empty list redrives them too.
   *
   * @default - States.Runtime, States.DataLimitExceeded, States.IntrinsicFailure, States.QueryEvaluationError, States.ResultPathMatchFailure, States.ParameterPathFailure, States.NoChoiceMatched
   */
  readonly nonRetryableErrors?: readonly string[];

  /**
   * Execution statuses the policy redrives. The AutoRedrive construct must watch them too
   * (its `statuses`): ABORTED is opt-in there as well.
   *
   * @default ['FAILED', 'TIMED_OUT']
   */
  readonly statuses?: readonly RedrivableStatus[];

  /**
   * false turns the policy off: failures of its state machines are recorded and skipped.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * Decide and record, but never redrive: to try a policy out.
   *
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * Free text, shown by `redrivectl policy get`. At most 1024 characters.
   *
   * @default - none
   */
  readonly description?: string;

  /**
   * What happens when `maxRedrives` is reached: 'skip' gives up (an `Auto Redrive
   * Exhausted` owner event), 'hold' keeps the failure held until a person releases it
   * (`redrivectl release`) or its redrive window is about to end.
   *
   * @default 'skip'
   */
  readonly onExhausted?: OnExhausted;

  /**
   * A held failure is given up this long before Step Functions' 14-day redrive window
   * ends. Whole hours, from 1 to 72.
   *
   * @default Duration.hours(24)
   */
  readonly holdMargin?: Duration;

  /**
   * The outage breaker: settings, or false to turn it off for this policy.
   *
   * @default - on, with the defaults of {@link RedrivePolicyBreaker}
   */
  readonly breaker?: RedrivePolicyBreaker | false;

  /**
   * Approval before redrive: every failure the policy would redrive is held for a person
   * instead (an `Auto Redrive Approval Requested` owner event; `redrivectl approve` redrives
   * it, `redrivectl reject` skips it), and given up `holdMargin` before its 14-day redrive
   * window ends if no one answers.
   *
   * @default false
   */
  readonly approval?: boolean;
  /**
   * The redrive budget: at most this many redrives of one state machine in any rolling
   * hour, from every path (events, the drain, releases, backfill, probes). Failures over it
   * are held (`over-budget`) and released oldest first when the budget allows; an `Auto
   * Redrive Budget Reached` owner event says when a state machine reaches it. A positive
   * whole number (docs/policies.md#redrive-budget).
   *
   * @default - no budget
   */
  readonly maxRedrivesPerHour?: number;
  /**
   * States whose failures are never redriven: state names, or patterns with `*`, matched
   * against the innermost state the execution failed at and the Parallel and Map states
   * around it (for example a Task that charges a card without an idempotency key). An
   * execution that timed out as a whole has no failed state and is not excluded. The
   * controller reads the failed state from the execution's history (docs/policies.md).
   *
   * @default - no state is excluded
   */
  readonly neverAtStates?: readonly string[];

  /**
   * Only failures at these states are redriven (names or `*` patterns, matched as
   * `neverAtStates`). A failure with no failed state (the whole execution timed out or
   * was aborted) is included only when its status (`TIMED_OUT`, `ABORTED`) is listed.
   * At least one entry.
   *
   * @default - failures at every state are redriven
   */
  readonly onlyAtStates?: readonly string[];
}

/** Properties of {@link RedrivePolicy}. */
export interface RedrivePolicyProps extends RedrivePolicyOptions {
  /**
   * The state machine the policy governs: a state machine (`new sfn.StateMachine(...)`,
   * `sfn.StateMachine.fromStateMachineArn(...)`), a state machine ARN, or a pattern of
   * ARNs with `*` (`arn:aws:states:us-east-1:123456789012:stateMachine:orders-*`), or `*`
   * for every state machine. The most specific key matching an execution applies.
   */
  readonly stateMachine: sfn.IStateMachine | string;

  /**
   * The AutoRedrive whose policy table holds the item. Exactly one of `autoRedrive` and
   * `policyTable`.
   *
   * @default - `policyTable`
   */
  readonly autoRedrive?: PolicyTableOwner;

  /**
   * The policy table of an AutoRedrive deployed elsewhere, for example
   * `dynamodb.Table.fromTableName(this, 'Policies', '<PolicyTableName output>')`. Exactly
   * one of `autoRedrive` and `policyTable`.
   *
   * @default - the policy table of `autoRedrive`
   */
  readonly policyTable?: dynamodb.ITable;
}

/** Options of `AutoRedrive.addPolicy()`. */
export interface AddRedrivePolicyOptions extends RedrivePolicyOptions {
  /**
   * Construct id of the RedrivePolicy (under the AutoRedrive construct). Required when the
   * state machine is given as an ARN token (for example `stateMachine.stateMachineArn`).
   *
   * @default - derived from the state machine construct, or from the ARN or pattern
   */
  readonly id?: string;
}

/** The construct id `addPolicy()` gives a policy: stable as long as the state machine is the same. */
export function defaultPolicyId(stateMachine: sfn.IStateMachine | string): string {
  if (typeof stateMachine !== 'string') return `Policy${Names.nodeUniqueId(stateMachine.node)}`;
  if (Token.isUnresolved(stateMachine)) {
    throw new Error('AutoRedrive.addPolicy: options.id is required when stateMachine is an ARN token; pass the state machine itself, or an id');
  }
  return `Policy ${stateMachine.replace(/\//g, '|')}`;
}

/** Props that fail validation, named: thrown while the app is synthesized. */
export class RedrivePolicyPropsError extends Error {
  constructor(
    /** Path of the RedrivePolicy construct. */
    readonly constructPath: string,
    /** The prop at fault, e.g. `interval`. */
    readonly prop: string,
    readonly detail: string,
  ) {
    super(`RedrivePolicy ${constructPath}: ${prop} ${detail}`);
    this.name = 'RedrivePolicyPropsError';
  }
}

/** The policy item field each prop becomes, for naming the prop in a schema message. */
const PROP_OF_FIELD: Readonly<Record<string, string>> = {
  stateMachine: 'stateMachine',
  enabled: 'enabled',
  maxRedrives: 'maxRedrives',
  intervalSeconds: 'interval',
  backoffRate: 'backoffRate',
  maxDelaySeconds: 'maxDelay',
  jitter: 'jitter',
  errorEquals: 'errorEquals',
  nonRetryableErrors: 'nonRetryableErrors',
  statuses: 'statuses',
  dryRun: 'dryRun',
  description: 'description',
  onExhausted: 'onExhausted',
  holdMarginHours: 'holdMargin',
  breaker: 'breaker',
  approval: 'approval',
  maxRedrivesPerHour: 'maxRedrivesPerHour',
  neverAtStates: 'neverAtStates',
  onlyAtStates: 'onlyAtStates',
};

/** The `breaker` map's field each breaker prop becomes. */
const BREAKER_PROP_OF_FIELD: Readonly<Record<string, string>> = {
  windowSeconds: 'window',
  probeIntervalSeconds: 'probeInterval',
  maxProbeIntervalSeconds: 'maxProbeInterval',
  probeTimeoutSeconds: 'probeTimeout',
};

/** Keys declared per policy table in this app: one construct per key and table. */
const KEYS_OF_TABLE = new WeakMap<dynamodb.ITable, Map<string, string>>();

/**
 * One redrive policy, deployed with the stack: creating the construct writes the item to
 * the policy table, changing it rewrites it, removing it deletes the item, and a changed
 * state machine replaces it (the new item is written before the old one is deleted).
 *
 * The item carries `managedBy` (`<stack>/<construct path>`): `redrivectl policy put` and
 * `delete` refuse it without `--force`, and a deploy that updates it overwrites, and
 * reports, what was changed by hand.
 */
export class RedrivePolicy extends Construct {
  /** The policy item written to the table (values may be tokens). */
  public readonly item: Readonly<Record<string, unknown>>;
  /** The policy table. */
  public readonly policyTable: dynamodb.ITable;
  /** The custom resource that writes the item. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: RedrivePolicyProps) {
    super(scope, id);
    const fail = (prop: string, detail: string): never => {
      throw new RedrivePolicyPropsError(this.node.path, prop, detail);
    };

    if ((props.autoRedrive === undefined) === (props.policyTable === undefined)) {
      fail('autoRedrive', 'or policyTable: set exactly one of them (the AutoRedrive construct, or the policy table of one deployed elsewhere)');
    }
    this.policyTable = props.policyTable ?? props.autoRedrive!.policyTable;

    const key = policyKeyOf(props.stateMachine, fail);
    const stack = Stack.of(this);
    const item: Record<string, unknown> = { stateMachine: key };
    const set = (field: string, value: unknown) => {
      if (value !== undefined) item[field] = value;
    };
    set('enabled', props.enabled);
    set('maxRedrives', props.maxRedrives);
    set('intervalSeconds', seconds('interval', props.interval, fail));
    set('backoffRate', props.backoffRate);
    set('maxDelaySeconds', seconds('maxDelay', props.maxDelay, fail));
    set('jitter', props.jitter);
    set('errorEquals', props.errorEquals && [...props.errorEquals]);
    set('nonRetryableErrors', props.nonRetryableErrors && [...props.nonRetryableErrors]);
    set('statuses', props.statuses && [...props.statuses]);
    set('dryRun', props.dryRun);
    set('description', props.description);
    set('onExhausted', props.onExhausted);
    set('holdMarginHours', wholeUnits('holdMargin', props.holdMargin, 3600, 'hour', fail));
    set('breaker', breakerItem(props.breaker, fail));
    set('approval', props.approval);
    set('maxRedrivesPerHour', props.maxRedrivesPerHour);
    set('neverAtStates', props.neverAtStates && [...props.neverAtStates]);
    set('onlyAtStates', props.onlyAtStates && [...props.onlyAtStates]);
    item.managedBy = managedByValue(stack.stackName, pathInStack(this, stack));
    validate(item, fail);
    this.item = item;

    if (!Token.isUnresolved(key)) {
      const declared = KEYS_OF_TABLE.get(this.policyTable) ?? new Map<string, string>();
      KEYS_OF_TABLE.set(this.policyTable, declared);
      const other = declared.get(key);
      if (other !== undefined) fail('stateMachine', `'${key}' already has a RedrivePolicy in this table (${other}); one policy per key`);
      declared.set(key, this.node.path);
    }

    const writer = PolicyWriter.of(this);
    writer.grantItem(this.policyTable, key);
    const properties: PolicyResourceProperties = { TableName: this.policyTable.tableName, Policy: item };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: writer.function.functionArn,
      resourceType: POLICY_RESOURCE_TYPE,
      properties: { ...properties },
    });
  }
}

/** The item's key: the state machine's ARN, or the ARN or pattern given. */
function policyKeyOf(stateMachine: sfn.IStateMachine | string, fail: (prop: string, detail: string) => never): string {
  if (typeof stateMachine === 'string') return stateMachine;
  if (stateMachine instanceof sfn.StateMachine) {
    const type = (stateMachine.node.defaultChild as sfn.CfnStateMachine | undefined)?.stateMachineType;
    if (type === sfn.StateMachineType.EXPRESS) {
      fail('stateMachine', `${stateMachine.node.path} is an EXPRESS state machine; only Standard executions can be redriven`);
    }
  }
  return stateMachine.stateMachineArn;
}

function seconds(prop: string, d: Duration | undefined, fail: (prop: string, detail: string) => never): number | undefined {
  return wholeUnits(prop, d, 1, 'second', fail);
}

/** A Duration as a whole number of `unitSeconds`-long units, or a failure naming the prop. */
function wholeUnits(prop: string, d: Duration | undefined, unitSeconds: number, unit: string, fail: (prop: string, detail: string) => never): number | undefined {
  if (d === undefined) return undefined;
  if (d.isUnresolved()) return d.toSeconds() / unitSeconds;
  const n = d.toMilliseconds() / 1000 / unitSeconds;
  if (!Number.isInteger(n)) fail(prop, `must be a whole number of ${unit}s, got ${d.toHumanString()}`);
  return n;
}

/** The item's `breaker` map (field names of the policy schema), or false. */
function breakerItem(b: RedrivePolicyBreaker | false | undefined, fail: (prop: string, detail: string) => never): Record<string, unknown> | false | undefined {
  if (b === undefined || b === false) return b;
  const out: Record<string, unknown> = {};
  const set = (field: string, value: unknown) => {
    if (value !== undefined) out[field] = value;
  };
  set('enabled', b.enabled);
  set('threshold', b.threshold);
  set('redriveFailureThreshold', b.redriveFailureThreshold);
  set('windowSeconds', seconds('breaker.window', b.window, fail));
  set('probeIntervalSeconds', seconds('breaker.probeInterval', b.probeInterval, fail));
  set('maxProbeIntervalSeconds', seconds('breaker.maxProbeInterval', b.maxProbeInterval, fail));
  set('probeTimeoutSeconds', seconds('breaker.probeTimeout', b.probeTimeout, fail));
  return out;
}

function pathInStack(c: IConstruct, stack: Stack): string {
  const scopes = c.node.scopes;
  return scopes.slice(scopes.indexOf(stack) + 1).map((s) => s.node.id).join('/');
}

const hasToken = (v: unknown): boolean =>
  Token.isUnresolved(v) || (Array.isArray(v) && v.some(hasToken));

/**
 * The shared schema on what is known at synth. A value that is a token (a state machine
 * created in the same stack has no ARN yet) is left to the custom resource, which
 * validates the resolved item with the same schema before writing anything.
 */
function validate(item: Record<string, unknown>, fail: (prop: string, detail: string) => never): void {
  const known: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(item)) if (!hasToken(value)) known[field] = value;
  const keyKnown = 'stateMachine' in known;
  if (!keyKnown) known.stateMachine = '*';
  const parsed = parsePolicyItem(known);
  if (parsed.ok) return;
  const issue = parsed.error.issues.find((i) => keyKnown || i.field !== 'stateMachine');
  if (!issue) return;
  const [top, nested] = issue.field.split('.');
  const prop = top === 'breaker' && nested ? `breaker.${BREAKER_PROP_OF_FIELD[nested] ?? nested}` : (PROP_OF_FIELD[top] ?? issue.field);
  const field = prop === issue.field ? '' : ` (policy field ${issue.field})`;
  fail(prop, `${issue.message}${field}`);
}
