/**
 * Policy keys: `*`, a state machine ARN, or a pattern with `*` (see policy-match.ts).
 * A typo in an ARN would silently match nothing, so the policy schema rejects such keys
 * and says which part is wrong (the Lambda then skips with policy-invalid only if that
 * key would have been the match, which a malformed key never is).
 */
import { isStateMachineArn } from './arn';

const PARTS: ReadonlyArray<readonly [string, RegExp, string]> = [
  ['prefix', /^arn$/, "must be 'arn'"],
  ['partition', /^aws(-[a-z]+)*$/, "is not an AWS partition (e.g. 'aws')"],
  ['service', /^states$/, "must be 'states'"],
  ['Region', /^[a-z]{2}(-[a-z]+)+-\d+$/, "is not an AWS Region (e.g. 'us-east-1')"],
  ['account', /^\d{12}$/, 'is not a 12-digit account id'],
  ['resource type', /^stateMachine$/, "must be 'stateMachine'"],
  ['name', /^[^:\s]{1,80}$/, 'is not a state machine name (1-80 characters, no spaces or colons)'],
];

const EXPECTED = "expected '*', a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>) or a pattern with *";

/** undefined when the key is usable, else why not. */
export function policyKeyProblem(key: string): string | undefined {
  if (key === '*') return undefined;
  if (key.trim() !== key || key === '') return `'${key}' has leading or trailing spaces or is empty; ${EXPECTED}`;
  if (/\s/.test(key)) return `'${key}' contains spaces; ${EXPECTED}`;
  if (key.length > 2048) return `key is longer than 2048 characters`;
  const isPattern = key.includes('*');
  if (!isPattern && isStateMachineArn(key)) return undefined;
  if (isPattern && !key.startsWith('arn:') && !key.startsWith('*')) return `'${key}' ${EXPECTED.replace('expected', 'is not a pattern of state machine ARNs; expected')}`;
  // Check every part before the first one with a `*` (a `*` may span colons).
  const parts = key.split(':');
  for (let i = 0; i < PARTS.length; i++) {
    const part = parts[i];
    if (part === undefined) return isPattern ? undefined : `'${key}' is not a state machine ARN: the ${PARTS[i][0]} is missing; ${EXPECTED}`;
    if (part.includes('*')) return undefined;
    const [name, re, message] = PARTS[i];
    if (!re.test(part)) return `'${key}' is not a state machine ARN: ${name} '${part}' ${message}`;
  }
  if (parts.length > PARTS.length) {
    return `'${key}' is not a state machine ARN: unexpected ':${parts.slice(PARTS.length).join(':')}' after the name (an execution ARN?)`;
  }
  return isPattern ? undefined : `'${key}' is not a state machine ARN; ${EXPECTED}`;
}
