/**
 * Where the event path gets a failure's failed state (lambda/facts/failed-state.ts): from
 * the failure's ledger record when an earlier path stored it there, else from the
 * execution's history, read at most once per event under the controller-wide
 * GetExecutionHistory rate, and only for a state-scoped policy's FAILED execution (a
 * TIMED_OUT or ABORTED one has no failed state, known from its status).
 */
import { REDRIVABLE_STATUSES } from '../../contract/event-pattern';
import type { RedrivePolicy } from '../../contract/policy-schema';
import { LEASE_TIMING, type RateLimiter, takeSlot } from '../act/rate-limiter';
import { fractionalUnit, type LeaseTiming } from '../act/rate-shares';
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

/** Longest lease of the history rate: a dead holder's share is unused this long at most (a history read waits, nothing else). */
const HISTORY_MAX_LEASE_MS = 16_000;

/**
 * The history rate's leases (lambda/act/rate-shares.ts): 10/s over a burst's 20 or more
 * instances is under one call per second each, so shares are fractions (1/8 call per
 * second and up): every instance holds one and none polls the lease item for a turn.
 */
export const HISTORY_LEASE_TIMING: LeaseTiming = {
  ...LEASE_TIMING,
  maxLeaseMs: HISTORY_MAX_LEASE_MS,
  shareUnit: fractionalUnit(HISTORY_RATE_PER_SECOND, HISTORY_MAX_LEASE_MS),
};

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

/**
 * The history rate had no slot within the wait (only when the source hands over, see
 * FailedStateSource): the caller hands the failure to the drain, due at `retryAt`.
 */
export interface HistoryBusy {
  readonly busy: 'history-busy';
  readonly retryAt: number;
}

export type FailedStateAnswer = FailedState | undefined | typeof NO_EXECUTION | HistoryBusy;

export const isHistoryBusy = (answer: FailedStateAnswer): answer is HistoryBusy => typeof answer === 'object' && answer !== null && 'busy' in answer;

const NO_FAILED_STATE: FailedState = { name: null, enclosing: [] };

/** Thrown inside the rate-limited page reader when the source hands over instead of throwing `busy`. */
class NoSlot extends Error {
  constructor(readonly retryAt: number) {
    super('no GetExecutionHistory slot');
  }
}

/** One event's failed state, read at most once however many paths ask. */
export class FailedStateSource {
  private read: Promise<FailedStateAnswer> | undefined;

  constructor(
    private readonly event: StatusChange,
    private readonly deps: FailedStateDeps,
    /**
     * When the rate has no room within the wait budget: an error to throw (the drain keeps
     * the record due; a tool's caller retries), or 'hand-over': answer HistoryBusy, and the
     * event path hands the failure to the drain (a throw would send the event to Lambda's
     * retries and dead-letter queue while the rate is simply full).
     */
    private readonly busy: (() => Error) | 'hand-over',
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

  private async fromHistory(): Promise<FailedStateAnswer> {
    const { stepFunctions } = this.deps;
    if (!stepFunctions.historyPages) return undefined;
    try {
      return await findFailedState(this.rateLimited(stepFunctions.historyPages(this.event.executionArn)));
    } catch (e) {
      if ((e as { name?: string }).name === 'ExecutionDoesNotExist') return NO_EXECUTION;
      if (e instanceof NoSlot) {
        // Not read: a later path (the drain) reads it, so the next ask may try again.
        this.read = undefined;
        return { busy: 'history-busy', retryAt: e.retryAt };
      }
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
    const { historyRate, maxRateWaitMs } = this.deps;
    if (!historyRate) return;
    // Waiting longer than for a redrive slot is fine: the redrive waits for this answer anyway.
    const grant = await takeSlot(historyRate, maxRateWaitMs * 4, this.deps);
    if (!grant.granted) throw this.busy === 'hand-over' ? new NoSlot(grant.retryAt) : this.busy();
  }
}
