/**
 * How redrivectl shows what the controller's event path did for each failure a person
 * released or approved (release, approve), and how such a long run stops on Ctrl-C.
 */
import type { Outcome } from '../lambda/event-path';
import { EXIT } from './errors';
import { table } from './output';

export const outcomeView = (o: Outcome) => ({
  executionArn: o.executionArn,
  redriveCount: o.decision.redriveCount,
  decision: o.decision.decision,
  reason: o.decision.reason,
  action: o.action,
  detail: [o.decision.detail, o.actionDetail].filter(Boolean).join(' / '),
});

export function outcomesTable(outcomes: readonly Outcome[]): string {
  return table(outcomes.map(outcomeView), [
    { header: 'execution', value: (r) => r.executionArn },
    { header: 'count', value: (r) => r.redriveCount },
    { header: 'decision', value: (r) => r.decision },
    { header: 'reason', value: (r) => r.reason },
    { header: 'action', value: (r) => r.action },
    { header: 'detail', value: (r) => r.detail },
  ]);
}

/**
 * Runs `work` with Ctrl-C asking it to stop after the failures in flight (`stopping()`);
 * a second Ctrl-C quits at once.
 */
export async function untilInterrupted<T>(what: string, work: (stopping: () => boolean) => Promise<T>): Promise<T> {
  let stopping = false;
  const onSigint = () => {
    if (stopping) process.exit(EXIT.interrupted);
    stopping = true;
    process.stderr.write(`\n${what}: stopping after the failures in flight (Ctrl-C again to quit at once)\n`);
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(() => stopping);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
