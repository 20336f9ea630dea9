/**
 * Where the event path gets a failure's failed state (lambda/facts/failed-state.ts): from
 * the failure's ledger record when an earlier path stored it there, else from the
 * execution's history, read at most once per event under the controller-wide
 * GetExecutionHistory rate, and only for a state-scoped policy's FAILED execution (a
 * TIMED_OUT or ABORTED one has no failed state, known from its status).
 */
import { REDRIVABLE_STATUSES } from '../../contract/event-pattern';
import type { RedrivePolicy } from '../../contract/policy-schema';
import type { RateLimiter } from '../act/rate-limiter';
import type { StepFunctionsGateway } from '../act/step-functions';
import { usesFailedState } from '../decide/state-scope';
import type { StatusChange } from '../event/status-change';
import { type FailedState, findFailedState } from './failed-state';

/**
 * The controller's GetExecutionHistory calls per second, at most, across instances: half
 * of the API's 20/s refill (per account and Region), leaving the rest to the console and
 * other tools that read histories.
 */
export const HISTORY_RATE_PER_SECOND = 10;

export interface FailedStateDeps {
  readonly stepFunctions: StepFunctionsGateway;
  /** @default none: history reads are not rate limited (tests, tools) */
  readonly historyRate?: RateLimiter;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly maxRateWaitMs: number;
}

/** No such execution (GetExecutionHistory: ExecutionDoesNotExist). */
export const NO_EXECUTION = 'no-execution';

export type FailedStateAnswer = FailedState | undefined | typeof NO_EXECUTION;

const NO_FAILED_STATE: FailedState = { name: null, enclosing: [] };

/** One event's failed state, read at most once however many paths ask. */
export class FailedStateSource {
  private read: Promise<FailedState | undefined | typeof NO_EXECUTION> | undefined;

  constructor(
    private readonly event: StatusChange,
    private readonly deps: FailedStateDeps,
    /** The error to throw when the rate has no room within the wait budget (the event is retried). */
    private readonly busy: () => Error,
  ) {}

  /**
   * The failed state decide() needs under `policy`: undefined when the policy is not
   * state-scoped (or the gateway cannot read histories), the stored one when `record` has
   * it, else read from the history.
   */
  async for(policy: RedrivePolicy | undefined, record?: { readonly failedState?: FailedState }): Promise<FailedStateAnswer> {
    if (!policy || !usesFailedState(policy) || !(REDRIVABLE_STATUSES as readonly string[]).includes(this.event.status)) return undefined;
    if (record?.failedState) return record.failedState;
    if (this.event.status !== 'FAILED') return NO_FAILED_STATE;
    this.read ??= this.fromHistory();
    return this.read;
  }

  private async fromHistory(): Promise<FailedState | undefined | typeof NO_EXECUTION> {
    const { stepFunctions } = this.deps;
    if (!stepFunctions.historyPages) return undefined;
    try {
      return await findFailedState(this.rateLimited(stepFunctions.historyPages(this.event.executionArn)));
    } catch (e) {
      if ((e as { name?: string }).name === 'ExecutionDoesNotExist') return NO_EXECUTION;
      throw e;
    }
  }

  /** Each page's call waits for its slot of the history rate (the reader stops asking once it knows). */
  private async *rateLimited<T>(pages: AsyncIterable<T>): AsyncIterable<T> {
    const iterator = pages[Symbol.asyncIterator]();
    for (;;) {
      await this.slot();
      const page = await iterator.next();
      if (page.done) return;
      yield page.value;
    }
  }

  private async slot(): Promise<void> {
    const { historyRate, clock, sleep, maxRateWaitMs } = this.deps;
    if (!historyRate) return;
    // Waiting longer than for a redrive slot is fine: the redrive waits for this answer anyway.
    const grant = await historyRate.acquire(maxRateWaitMs * 4);
    if (!grant.granted) throw this.busy();
    const wait = grant.at - clock();
    if (wait > 0) await sleep(wait);
    historyRate.started?.(clock());
  }
}
