/**
 * Conditional writes: the ledger, the rate limiter and the sweep schedule change state only
 * by writes DynamoDB applies if a condition holds. A failed condition is an answer
 * (someone else got there first), not an error.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

export function isConditionFailure(e: unknown): boolean {
  // By name too: a second copy of the SDK (a bundle, a test double) defeats instanceof.
  return e instanceof ConditionalCheckFailedException || (e as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/** The write's output, or undefined when its condition did not hold; other errors are thrown. */
export async function ifConditionHolds<T>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (e) {
    if (isConditionFailure(e)) return undefined;
    throw e;
  }
}
