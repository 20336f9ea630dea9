/**
 * Synth-time validation of the constructs' props, one validator per rule, shared by
 * `AutoRedrive` and `AutoRedriveMember`: a number in its range, a duration in whole units
 * of its range, a list (ARNs, account ids, Regions) element by element, the statuses; plus
 * the shapes of the values organization mode exchanges. Ranges and defaults come from the
 * settings table (contract/settings.ts). A failure is an {@link AutoRedrivePropError} that
 * names the construct and the prop; the stacks map the prop to its context key.
 */
import { Duration, Token } from 'aws-cdk-lib';
import { isStateMachineArn } from '../contract/arn';
import { type RedrivableStatus, statusesProblem } from '../contract/event-pattern';
import type { DurationUnit, NumberRange, Setting } from '../contract/settings';
import { UNIT_MS, durationOf } from './settings';

export type ConstructName = 'AutoRedrive' | 'AutoRedriveMember';

/**
 * A prop failed validation at synth. The message is `<construct>: <problem>`; `prop` is
 * the prop's name (`organization.externalId` for a field of the `organization` prop).
 */
export class AutoRedrivePropError extends Error {
  constructor(
    readonly construct: ConstructName,
    readonly prop: string,
    problem: string,
  ) {
    super(`${construct}: ${problem}`);
    this.name = 'AutoRedrivePropError';
  }
}

/**
 * A problem description (prefixed with the prop by the caller unless it starts with it),
 * or undefined when the value is acceptable.
 */
export type Problem = string | undefined;

type NumberSetting = Setting & { readonly range: NumberRange; readonly default: number };
type DurationSetting = NumberSetting & { readonly unit: DurationUnit };

export interface ListRule {
  /** The problem of one element (prefixed with `name[i]`), or undefined. */
  readonly element: (value: string) => Problem;
  /** What an element is, for "must contain at least one <what>". */
  readonly what: string;
  /** The problem of an empty list (after the name), when it needs to say more. */
  readonly empty?: string;
}

/** The validators, bound to the construct whose props they check. */
export class PropValidator {
  constructor(readonly construct: ConstructName) {}

  fail(prop: string, problem: string): never {
    throw new AutoRedrivePropError(this.construct, prop, problem);
  }

  /** Fails with `problem`, prefixed with the prop unless it already starts with it. */
  check(prop: string, problem: Problem): void {
    if (problem) this.fail(prop, problem.startsWith(prop) ? problem : `${prop} ${problem}`);
  }

  /** A number prop within its setting's range (tokens pass), or the setting's default. */
  number(s: NumberSetting, value: number | undefined): number {
    const prop = this.propOf(s);
    const { min, max = Infinity, integer } = s.range;
    const n = value ?? s.default;
    if (Token.isUnresolved(n)) return n;
    if (!Number.isFinite(n) || n < min || n > max) this.fail(prop, `${prop} must be between ${min} and ${max}, got ${n}`);
    if (integer && !Number.isInteger(n)) this.fail(prop, `${prop} must be a whole number, got ${n}`);
    return n;
  }

  /**
   * A Duration prop as a whole number of its setting's unit within the setting's range.
   * Absent: `fallback`, by default the setting's default.
   */
  duration(s: DurationSetting, value: Duration | undefined, fallback = durationOf(s.unit, s.default)): number {
    const prop = this.propOf(s);
    const { min, max = Infinity } = s.range;
    const unit = s.unit.slice(0, -1); // 'seconds' -> 'second'
    const d = value ?? fallback;
    if (d.isUnresolved()) this.fail(prop, `${prop} must be a concrete duration, not a token`);
    const amount = d.toMilliseconds({ integral: false }) / UNIT_MS[s.unit];
    if (!Number.isInteger(amount)) this.fail(prop, `${prop} must be a whole number of ${unit}s, got ${d.toHumanString()}`);
    if (amount < min || amount > max) {
      const within = max === Infinity ? `at least ${min} ${unit}${min === 1 ? '' : 's'}` : `between ${min} and ${max} ${unit}s`;
      this.fail(prop, `${prop} must be ${within}, got ${d.toHumanString()}`);
    }
    return amount;
  }

  /** A list prop: not empty, every element acceptable, no duplicates (tokens pass). */
  list<T extends readonly string[]>(prop: string, values: T, rule: ListRule): T {
    this.check(prop, listProblem(prop, values, rule));
    return values;
  }

  /** The statuses prop (contract/event-pattern.ts statusesProblem), or the setting's default. */
  statuses(s: Setting & { readonly default: readonly RedrivableStatus[] }, value: readonly RedrivableStatus[] | undefined) {
    const statuses = value ?? s.default;
    const prop = this.propOf(s);
    this.check(prop, statusesProblem(prop, statuses));
    return statuses;
  }

  /** The name of the setting's prop on this validator's construct. */
  propOf(s: Setting): string {
    const prop = this.construct === 'AutoRedrive' ? s.prop : s.memberProp;
    if (prop === undefined) throw new Error(`${this.construct} has no prop for this setting: ${s.meaning}`);
    return prop;
  }
}

/** Validates a list: non-empty, each element, no duplicates. Returns `name[i] problem` or `name problem`. */
export function listProblem(name: string, values: readonly string[], rule: ListRule): Problem {
  if (values.length === 0) return `${name} ${rule.empty ?? `must contain at least one ${rule.what}`}`;
  for (const [i, v] of values.entries()) {
    const problem = rule.element(v);
    if (problem) return `${name}[${i}] ${problem}`;
  }
  const literal = values.filter((v) => !Token.isUnresolved(v));
  const dupe = literal.find((v, i) => literal.indexOf(v) !== i);
  return dupe === undefined ? undefined : `${name} contains duplicates: '${dupe}'`;
}

// ---- Value shapes (unresolved tokens pass: they can only be checked at deploy time) --------

const ACCOUNT_ID = /^\d{12}$/;
/** AWS Organizations organization id: "o-" and 10 to 32 lowercase letters or digits. */
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
/** STS AssumeRole ExternalId: 2 to 1224 characters of [\w+=,.@:/-]. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
/** IAM role name: 1 to 64 characters of [\w+=,.@-]. */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** Custom event bus names: 1 to 256 of [.-_A-Za-z0-9], not "default", not "aws.*". */
const EVENT_BUS_NAME = /^[.\-_A-Za-z0-9]{1,256}$/;
const EVENT_BUS_ARN = /^arn:aws(-[a-z]+)*:events:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:event-bus\/[.\-_A-Za-z0-9]{1,256}$/;
const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** CloudWatch dashboard names: letters, digits, '-' and '_', up to 255 characters. */
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

/** Applies `test` to a literal value; a token is accepted. */
function literal(v: string, test: (v: string) => Problem): Problem {
  return Token.isUnresolved(v) ? undefined : test(v);
}

export const accountIdProblem = (v: string): Problem =>
  literal(v, () => (ACCOUNT_ID.test(v) ? undefined : `${show(v)} is not a 12-digit account id`));

export const organizationIdProblem = (v: string): Problem =>
  literal(v, () => (ORGANIZATION_ID.test(v) ? undefined : `must be an organization id (o- and 10 to 32 lowercase letters or digits), got ${show(v)}`));

export const externalIdProblem = (v: string): Problem =>
  literal(v, () =>
    EXTERNAL_ID.test(v)
      ? undefined
      : `must be 2 to 1224 characters of letters, digits and _+=,.@:/- (what STS accepts as ExternalId), got ${v.length} characters${v.length <= 64 ? ` ${show(v)}` : ''}`,
  );

export const roleNameProblem = (v: string): Problem =>
  literal(v, () => (ROLE_NAME.test(v) ? undefined : `must be an IAM role name (1 to 64 letters, digits and _+=,.@-), got ${show(v)}`));

export const regionProblem = (v: string): Problem =>
  literal(v, () => (REGION.test(v) ? undefined : `${show(v)} is not a Region name (like eu-west-1)`));

export const eventBusNameProblem = (v: string): Problem =>
  literal(v, () => {
    if (v === 'default') return "must not be 'default': the central bus is a custom bus, only for the forwarded events";
    if (v.startsWith('aws.')) return `must not start with 'aws.' (reserved for partner event buses), got ${show(v)}`;
    return EVENT_BUS_NAME.test(v) ? undefined : `must be 1 to 256 letters, digits and ._-, got ${show(v)}`;
  });

export const eventBusArnProblem = (v: string): Problem =>
  literal(v, () =>
    EVENT_BUS_ARN.test(v) ? undefined : `must be an event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>), got ${show(v)}`,
  );

export const roleArnProblem = (v: string): Problem =>
  literal(v, () => (ROLE_ARN.test(v) ? undefined : `${show(v)} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)`));

export const stateMachineArnProblem = (v: string): Problem =>
  literal(v, () =>
    isStateMachineArn(v) ? undefined : `${show(v)} is not a state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>)`,
  );

export const dashboardNameProblem = (v: string): Problem =>
  literal(v, () => (DASHBOARD_NAME.test(v) ? undefined : `must be 1 to 255 letters, digits, '-' or '_', got '${v}'`));

export const runbookUrlProblem = (v: string): Problem =>
  literal(v, () =>
    v.trim() === '' || /[\s()#]/.test(v)
      ? `must be a URL or path without spaces, parentheses or '#' (the section anchors are appended), got '${v}'`
      : undefined,
  );

export const emailProblem = (v: string): Problem =>
  literal(v, () => (EMAIL.test(v) ? undefined : `must be an e-mail address, got '${v}'`));
