/**
 * The RedriveExecution clientToken for one failure: derived from (executionArn,
 * redriveCount), so every attempt at the same redrive, from any invocation or from the
 * drain, sends the same token and Step Functions answers a repeat idempotently.
 * Step Functions keeps only the last 10 tokens, for 15 minutes each
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html),
 * so the ledger claim, not the token, is what prevents a second redrive later on.
 * Constraints: 1-64 characters of [!-~].
 */
import { createHash } from 'node:crypto';

export function redriveClientToken(executionArn: string, redriveCount: number): string {
  const digest = createHash('sha256').update(`${executionArn}\n${redriveCount}`).digest('hex').slice(0, 40);
  return `ar-${redriveCount}-${digest}`;
}
