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
import { parsePolicyItem } from '../contract/policy-schema';
import { POLICY_RESOURCE_TYPE, managedByValue, type PolicyResourceProperties } from '../contract/policy-resource';
import { PolicyWriter } from './policy-writer';

export type { AddRedrivePolicyOptions, PolicyTableOwner, RedrivePolicyBreaker, RedrivePolicyOptions, RedrivePolicyProps } from './redrive-policy-props';
import type { RedrivePolicyBreaker, RedrivePolicyProps } from './redrive-policy-props';

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
  openAfterSeconds: 'openAfter',
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
  set('openAfterSeconds', seconds('breaker.openAfter', b.openAfter, fail));
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
