import { CfnOutput, DefaultStackSynthesizer, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AutoRedrive, AutoRedriveOrganization, AutoRedriveProps } from './auto-redrive';
import { AutoRedriveMember, AutoRedriveMemberProps } from './auto-redrive-member';
import {
  CONTEXT_KEYS,
  DurationUnit,
  SETTINGS,
  SETTING_LIST,
  Setting,
  UNIT_KIND,
  settingOfProp,
} from '../contract/settings';
import { REMOVAL_POLICIES, durationOf, isDurationUnit } from './settings';
import { AutoRedrivePropError } from './validation';

/**
 * Context keys read by the stacks, by name (`CONTEXT.drainIntervalMinutes` is
 * 'auto-redrive:drainIntervalMinutes'): every setting of contract/settings.ts that has a
 * context key. Values may come from cdk.json (JSON types) or from `cdk synth -c key=value`
 * (strings); both are accepted. An absent or empty value means the construct's default.
 */
export const CONTEXT = CONTEXT_KEYS;

export type AutoRedriveStackProps = StackProps;

/** The deployable stack: one {@link AutoRedrive}, configured from CDK context. */
export class AutoRedriveStack extends Stack {
  public readonly autoRedrive: AutoRedrive;

  constructor(scope: Construct, id: string, props: AutoRedriveStackProps = {}) {
    super(scope, id, { description: 'auto-redrive: automatically redrives failed Step Functions Standard executions', ...props });
    this.autoRedrive = fromContext(() => new AutoRedrive(this, 'AutoRedrive', propsFromContext(this)));
  }
}

/** Reads and validates the `auto-redrive:*` context into construct props. */
export function propsFromContext(scope: Construct): AutoRedriveProps {
  const props: Record<string, unknown> = {};
  for (const s of SETTING_LIST) {
    if (s.prop === undefined || s.context === undefined || s.prop.startsWith(ORGANIZATION)) continue;
    props[s.prop] = propValue(s, readContext(scope, s));
  }
  return { ...props, organization: organizationFromContext(scope) } as AutoRedriveProps;
}

/** The `organization` prop's fields, `organization.<field>` in the settings table. */
const ORGANIZATION = 'organization';
const ORGANIZATION_FIELDS = SETTING_LIST.filter((s) => s.context && s.prop?.startsWith(`${ORGANIZATION}.`));
/** Context keys that configure only organization mode of the central stack (no member prop). */
const CENTRAL_ORGANIZATION_KEYS = ORGANIZATION_FIELDS.filter((s) => s.memberProp === undefined).map((s) => s.context!);

/** The `organization` prop from context, when `auto-redrive:organization` is true. */
function organizationFromContext(scope: Construct): AutoRedriveOrganization | undefined {
  const get = (key: string): unknown => scope.node.tryGetContext(key);
  if (readContext(scope, SETTINGS.organization) !== true) {
    const stray = CENTRAL_ORGANIZATION_KEYS.find((k) => !isEmptyValue(get(k)));
    if (stray) contextError(stray, `is set but '${CONTEXT.organization}' is not true; set it to true to serve member accounts`);
    return undefined;
  }
  if (readContext(scope, SETTINGS.externalId) === undefined) {
    contextError(CONTEXT.externalId, `is required when '${CONTEXT.organization}' is true`);
  }
  const fields = Object.fromEntries(
    ORGANIZATION_FIELDS.map((s) => [s.prop!.slice(ORGANIZATION.length + 1), propValue(s, readContext(scope, s))]),
  );
  // memberAccounts is required: an empty list reaches the construct, which says why.
  return { ...fields, memberAccounts: fields.memberAccounts ?? [] } as AutoRedriveOrganization;
}

/** Whether the `auto-redrive:member` context asks for the member stack. */
export function memberStackRequested(scope: Construct): boolean {
  return readContext(scope, SETTINGS.member) === true;
}

/** Reads and validates the member-side context into {@link AutoRedriveMember} props. */
export function memberPropsFromContext(scope: Construct): AutoRedriveMemberProps {
  const props: Record<string, unknown> = {};
  for (const s of SETTING_LIST) {
    if (s.memberProp === undefined || s.context === undefined) continue;
    props[s.memberProp] = propValue(s, readContext(scope, s));
  }
  const isRequired = `is required for the member stack ('${CONTEXT.member}' is true)`;
  const required: Array<[Setting & { memberProp: string; context: string }, string]> = [
    [SETTINGS.centralEventBusArn, isRequired],
    [SETTINGS.controllerRoleArns, 'is required for the member stack: the central ControllerRoleArn and DrainRoleArn outputs'],
    [SETTINGS.externalId, isRequired],
  ];
  for (const [s, message] of required) {
    if (props[s.memberProp] === undefined) contextError(s.context, message);
  }
  return props as unknown as AutoRedriveMemberProps;
}

export type AutoRedriveMemberStackProps = StackProps;

/**
 * The member-account stack: one {@link AutoRedriveMember}, configured from CDK context.
 * Deploy it with `cdk deploy AutoRedriveMember` in each member account and Region, or use
 * its synthesized template as a CloudFormation StackSet template: it has no assets, no
 * bootstrap-version rule, and names no account or Region of its own (pseudo parameters).
 */
export class AutoRedriveMemberStack extends Stack {
  public readonly member: AutoRedriveMember;

  constructor(scope: Construct, id: string, props: AutoRedriveMemberStackProps = {}) {
    super(scope, id, {
      description: 'auto-redrive member: forwards Step Functions status changes to the central controller and lets it redrive here',
      // A StackSet template: no bootstrap-version rule (target accounts need no CDK
      // bootstrap for a StackSet) and no AWS::CDK::Metadata resource.
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
      analyticsReporting: false,
      ...props,
    });
    this.member = fromContext(() => new AutoRedriveMember(this, 'AutoRedriveMember', memberPropsFromContext(this)));
  }
}

/**
 * A stack's one construct, made from context: a prop error names the prop's context key,
 * and the construct's outputs get stable keys (PolicyTableName, ...) for operators and
 * redrivectl, instead of the hashed logical ids that nesting in the construct would give.
 */
function fromContext<T extends Construct>(create: () => T): T {
  let construct: T;
  try {
    construct = create();
  } catch (e) {
    throw withContextKey(e);
  }
  for (const child of construct.node.children) {
    if (child instanceof CfnOutput) child.overrideLogicalId(child.node.id);
  }
  return construct;
}

/**
 * The constructs validate their props and name the prop in an AutoRedrivePropError
 * ("AutoRedrive: drainInterval must be ..."); here every prop comes from context, so the
 * error names the prop's context key (from the settings table) as well.
 */
function withContextKey(e: unknown): unknown {
  if (!(e instanceof AutoRedrivePropError)) return e;
  const key = settingOfProp(e.construct, e.prop)?.context;
  return key ? new Error(`Context '${key}': ${e.message}`, { cause: e }) : e;
}

// ---- Context parsing -----------------------------------------------------------------

/**
 * One setting's context value, parsed by its unit's kind: a number (whole for integer
 * ranges and durations), a boolean, a trimmed string or a list of strings; undefined when
 * absent or empty.
 */
function readContext(scope: Construct, s: Setting): unknown {
  const key = s.context!;
  const v = scope.node.tryGetContext(key);
  switch (UNIT_KIND[s.unit]) {
    case 'number':
      return s.range?.integer || isDurationUnit(s.unit) ? integer(key, v) : number(key, v);
    case 'boolean':
      return boolean(key, v);
    case 'list':
      return nonEmpty(stringList(key, v));
    case 'string': {
      const str = optionalString(key, v)?.trim();
      return str === '' ? undefined : str;
    }
  }
}

/** A context value as the construct prop: a Duration of the setting's unit, or a CDK enum. */
function propValue(s: Setting, v: unknown): unknown {
  if (v === undefined) return undefined;
  switch (s.propType) {
    case 'Duration':
      return durationOf(s.unit as DurationUnit, v as number);
    case 'logs.RetentionDays':
      return retentionDays(s.context!, v as number);
    case 'RemovalPolicy':
      return removalPolicy(s, v as string);
    default:
      return v;
  }
}

function contextError(key: string, message: string): never {
  throw new Error(`Context '${key}': ${message}`);
}

function isAbsent(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

/** Absent, or an empty list (cdk.json's "no value" for list keys). */
function isEmptyValue(v: unknown): boolean {
  return isAbsent(v) || (Array.isArray(v) && v.length === 0);
}

function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? list : undefined;
}

function stringList(key: string, v: unknown): string[] | undefined {
  if (isAbsent(v)) return undefined;
  let list: unknown = v;
  if (typeof v === 'string') {
    const t = v.trim();
    list = t.startsWith('[') ? parseJson(key, t) : t.split(',').map((s) => s.trim()).filter((s) => s !== '');
  }
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
    contextError(key, `must be a list of strings (JSON array or comma-separated), got ${JSON.stringify(v)}`);
  }
  return list as string[];
}

function parseJson(key: string, s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return contextError(key, `is not valid JSON: ${s}`);
  }
}

function number(key: string, v: unknown): number | undefined {
  if (isAbsent(v)) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n)) contextError(key, `must be a number, got ${JSON.stringify(v)}`);
  return n;
}

function integer(key: string, v: unknown): number | undefined {
  const n = number(key, v);
  if (n !== undefined && !Number.isInteger(n)) contextError(key, `must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

function boolean(key: string, v: unknown): boolean | undefined {
  if (isAbsent(v)) return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return contextError(key, `must be true or false, got ${JSON.stringify(v)}`);
}

function optionalString(key: string, v: unknown): string | undefined {
  if (isAbsent(v)) return undefined;
  if (typeof v !== 'string') contextError(key, `must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function removalPolicy(s: Setting, v: string): RemovalPolicy {
  const name = v.toLowerCase();
  if (!s.allowed?.includes(name)) contextError(s.context!, `must be one of ${s.allowed!.join(', ')}, got '${v}'`);
  return REMOVAL_POLICIES[name as keyof typeof REMOVAL_POLICIES];
}

function retentionDays(key: string, days: number): logs.RetentionDays {
  const valid = Object.values(logs.RetentionDays).filter((d): d is number => typeof d === 'number');
  if (!valid.includes(days)) {
    contextError(key, `must be one of ${valid.sort((a, b) => a - b).join(', ')}, got ${days}`);
  }
  return days as logs.RetentionDays;
}
