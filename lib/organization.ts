/**
 * Shared pieces of organization mode: the names both sides agree on and the validation of
 * the values they exchange (account ids, organization id, external id, role name, ARNs).
 * The central side is `AutoRedrive`'s `organization` prop (lib/auto-redrive.ts); the
 * member side is `AutoRedriveMember` (lib/auto-redrive-member.ts). See README.md ("Running across an Organization").
 */
import { Token } from 'aws-cdk-lib';
import { isStateMachineArn } from '../contract/arn';
import { REDRIVABLE_STATUSES } from '../contract/event-pattern';
import { SETTINGS } from '../contract/settings';

/** Default name of the central custom event bus the member accounts forward to. */
export const DEFAULT_CENTRAL_EVENT_BUS_NAME = SETTINGS.centralEventBusName.default;

/**
 * Validators return a problem description (to be prefixed with the prop or context key
 * by the caller), or undefined when the value is acceptable. Unresolved tokens are
 * accepted: they can only be checked at deploy time.
 */
export type Problem = string | undefined;

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

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

export function accountIdProblem(v: string): Problem {
  if (Token.isUnresolved(v)) return undefined;
  return ACCOUNT_ID.test(v) ? undefined : `${show(v)} is not a 12-digit account id`;
}

export function organizationIdProblem(v: string): Problem {
  if (Token.isUnresolved(v)) return undefined;
  return ORGANIZATION_ID.test(v) ? undefined : `must be an organization id (o- and 10 to 32 lowercase letters or digits), got ${show(v)}`;
}

export function externalIdProblem(v: string): Problem {
  if (Token.isUnresolved(v)) return undefined;
  return EXTERNAL_ID.test(v)
    ? undefined
    : `must be 2 to 1224 characters of letters, digits and _+=,.@:/- (what STS accepts as ExternalId), got ${v.length} characters${v.length <= 64 ? ` ${show(v)}` : ''}`;
}

export function roleNameProblem(v: string): Problem {
  if (Token.isUnresolved(v)) return undefined;
  return ROLE_NAME.test(v) ? undefined : `must be an IAM role name (1 to 64 letters, digits and _+=,.@-), got ${show(v)}`;
}

export function regionProblem(v: string): Problem {
  if (Token.isUnresolved(v)) return undefined;
  return REGION.test(v) ? undefined : `${show(v)} is not a Region name (like eu-west-1)`;
}

export function eventBusNameProblem(v: string): Problem {
  if (Token.isUnresolved(v)) return undefined;
  if (v === 'default') return "must not be 'default': the central bus is a custom bus, only for the forwarded events";
  if (v.startsWith('aws.')) return `must not start with 'aws.' (reserved for partner event buses), got ${show(v)}`;
  return EVENT_BUS_NAME.test(v) ? undefined : `must be 1 to 256 letters, digits and ._-, got ${show(v)}`;
}

export function eventBusArnProblem(v: string): Problem {
  if (Token.isUnresolved(v)) return undefined;
  return EVENT_BUS_ARN.test(v)
    ? undefined
    : `must be an event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>), got ${show(v)}`;
}

export function roleArnProblem(v: string): Problem {
  if (Token.isUnresolved(v)) return undefined;
  return ROLE_ARN.test(v) ? undefined : `${show(v)} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)`;
}

/** Account of a literal IAM role or event bus ARN (the fifth field). */
export function arnAccount(arn: string): string {
  return arn.split(':')[4];
}

/** Validates a list: non-empty, each element, no duplicates. Returns `name[i] problem` or `name problem`. */
export function listProblem(
  name: string,
  values: readonly string[],
  element: (v: string) => Problem,
  what: string,
): Problem {
  if (values.length === 0) return `${name} must contain at least one ${what}`;
  for (const [i, v] of values.entries()) {
    const problem = element(v);
    if (problem) return `${name}[${i}] ${problem}`;
  }
  const literal = values.filter((v) => !Token.isUnresolved(v));
  const dupe = literal.find((v, i) => literal.indexOf(v) !== i);
  return dupe === undefined ? undefined : `${name} contains duplicates: '${dupe}'`;
}

/** The same checks as the central construct's `statuses` prop. */
export function statusesProblem(name: string, statuses: readonly string[]): Problem {
  if (statuses.length === 0) return `${name} must contain at least one status`;
  for (const s of statuses) {
    if (!(REDRIVABLE_STATUSES as readonly string[]).includes(s)) {
      return `${name}: '${s}' is not one of ${REDRIVABLE_STATUSES.join(', ')}`;
    }
  }
  if (new Set(statuses).size !== statuses.length) return `${name} contains duplicates: ${statuses.join(', ')}`;
  return undefined;
}

export function stateMachineArnProblem(v: string): Problem {
  if (Token.isUnresolved(v)) return undefined;
  return isStateMachineArn(v)
    ? undefined
    : `${show(v)} is not a state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>)`;
}
