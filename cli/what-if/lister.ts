/**
 * What what-if looks at: the Standard state machines (all the caller can list, or the one
 * given), and their FAILED, TIMED_OUT and ABORTED executions that stopped within the
 * window, listed with the controller's own gateway (lambda/act/step-functions.ts).
 *
 * ListExecutions lists newest *start* first, and a Standard execution may run for up to a
 * year, so "stopped within the window" cannot end the listing at the first execution
 * that started before it. The listing goes on past the window's start by the longest run
 * the reconciliation sweep also assumes (reconcileMaxRunHours, 24 h by default, or
 * --max-run), filtering by stop date; an execution that ran longer than that and stopped
 * in the window is missed, as the sweep misses it (its event still reaches the controller).
 */
import { DescribeStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { REDRIVABLE_STATUSES } from '../../contract/event-pattern';
import type { ListedExecution } from '../../lambda/act/step-functions';
import { SdkStepFunctions } from '../../lambda/act/step-functions';

/** The statuses what-if lists: every unsuccessful end, whatever a policy covers (decide() says which it would skip). */
export const LISTED_STATUSES = REDRIVABLE_STATUSES;

export class Lister {
  private readonly gateway: SdkStepFunctions;

  constructor(
    private readonly client: SFNClient,
    private readonly maxRunMs: number,
  ) {
    this.gateway = new SdkStepFunctions(client);
  }

  /** Standard state machines, sorted (Express ones have no ListExecutions and no redrive). */
  async stateMachines(only?: string): Promise<string[]> {
    if (only !== undefined) return [only];
    const arns: string[] = [];
    for await (const arn of this.gateway.listStateMachines()) arns.push(arn);
    return arns.sort();
  }

  /** Executions of one state machine that stopped at or after `since`, unsuccessfully. */
  async *failures(stateMachineArn: string, since: number): AsyncIterable<ListedExecution> {
    for (const status of LISTED_STATUSES) {
      yield* this.gateway.listStopped(stateMachineArn, status, since, since - this.maxRunMs);
    }
  }

  /** The number of states in the definition, nested ones included (the transitions estimate). */
  async stateCount(stateMachineArn: string): Promise<number> {
    const out = await this.client.send(new DescribeStateMachineCommand({ stateMachineArn }));
    return countStates(out.definition ?? '{}');
  }
}

/** States of an ASL definition: top-level, in Parallel branches and in Map processors. */
export function countStates(definition: string): number {
  let doc: unknown;
  try {
    doc = JSON.parse(definition);
  } catch {
    return 0;
  }
  const walk = (machine: unknown): number => {
    const states = (machine as { States?: Record<string, Record<string, unknown>> })?.States;
    if (!states || typeof states !== 'object') return 0;
    let n = 0;
    for (const state of Object.values(states)) {
      n += 1;
      for (const branch of (state?.Branches as unknown[] | undefined) ?? []) n += walk(branch);
      n += walk(state?.ItemProcessor ?? state?.Iterator);
    }
    return n;
  };
  return walk(doc);
}
