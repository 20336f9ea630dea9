/**
 * The state a failure happened at, from the execution's history read newest first
 * (GetExecutionHistory reverseOrder): a pure reader fed one page at a time, so the caller
 * asks for another page only while the answer is still open.
 *
 * How: the terminal event (ExecutionFailed) names the event that caused it
 * (previousEventId), and so on back: ExecutionFailed <- TaskFailed <- TaskStarted <-
 * TaskScheduled <- TaskStateEntered. The first `*StateEntered` on that chain that is not
 * part of an earlier, completed state (a `*StateExited` opens one) is the innermost failed
 * state. A failure inside a Parallel branch or an inline Map iteration passes through
 * ParallelStateFailed / MapStateFailed (+ MapIterationFailed, which names the Map) first;
 * the reader follows the chain back until every such enclosing state is named (its
 * `*StateEntered`), and no further, so a Task failure of a long linear workflow costs one
 * small page. A redriven run's chain ends at ExecutionRedriven: the reader goes on from the
 * previous run's ExecutionFailed. An execution that timed out or was aborted as a whole
 * has no failed state (name null).
 * Event shapes: https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
 */

/** The failure's state: the innermost state that failed and the Parallel / Map states around it. */
export interface FailedState {
  /** null: no state failed (the execution timed out or was aborted as a whole, or failed before any state). */
  readonly name: string | null;
  /** The Parallel and inline Map states enclosing it, innermost first (empty at the top level). */
  readonly enclosing: readonly string[];
}

/** The fields of a history event this reader uses (the SDK's HistoryEvent has them all). */
export interface HistoryEventView {
  readonly id?: number;
  readonly previousEventId?: number;
  readonly type?: string;
  readonly stateEnteredEventDetails?: { readonly name?: string };
  readonly mapIterationFailedEventDetails?: { readonly name?: string };
}

const TERMINAL_WITHOUT_STATE = new Set(['ExecutionTimedOut', 'ExecutionAborted']);
const CONTAINER_ENTERED = new Set(['ParallelStateEntered', 'MapStateEntered']);
const CONTAINER_FAILED = new Set(['ParallelStateFailed', 'MapStateFailed']);

/** The failed state of an execution's last run, from its history pages (newest first). */
export class FailedStateReader {
  private phase: 'terminal' | 'chain' | 'seek-failure' | 'newest-entered' | 'done' = 'terminal';
  private wanted: number | undefined;
  private innermost: string | undefined;
  private readonly enclosing: string[] = [];
  /** Completed states being walked through (their Exited seen, Entered not yet). */
  private depth = 0;
  /** Parallel / Map failures on the chain above the innermost state: enclosing states to name. */
  private containers = 0;
  private answer: FailedState | undefined;

  /** Feeds one page (newest first). The answer, once it is known; undefined: read the next page. */
  feed(events: readonly HistoryEventView[]): FailedState | undefined {
    for (const e of events) {
      if (this.answer) break;
      this.step(e);
    }
    return this.answer;
  }

  /** The history has no more pages: the best answer from what was read. */
  end(): FailedState {
    return this.answer ?? this.finish();
  }

  private step(e: HistoryEventView): void {
    const type = e.type ?? '';
    if (this.phase === 'terminal') {
      if (TERMINAL_WITHOUT_STATE.has(type)) return void (this.answer = { name: null, enclosing: [] });
      if (type === 'ExecutionFailed') return this.follow(e);
      // Not ended (redriven since the failure): the failure asked about is the latest one.
      this.phase = 'seek-failure';
      return;
    }
    if (this.phase === 'seek-failure') {
      if (type === 'ExecutionFailed') this.follow(e);
      return;
    }
    if (this.phase === 'newest-entered') {
      if (type.endsWith('StateEntered')) this.innermost = e.stateEnteredEventDetails?.name ?? '';
      if (this.innermost !== undefined || type === 'ExecutionStarted' || type === 'ExecutionRedriven') this.answer = this.finish();
      return;
    }
    if (e.id !== this.wanted) return;

    if (type === 'ExecutionStarted') return void (this.answer = this.finish());
    if (type === 'ExecutionRedriven') {
      // This run started here, inside the state that failed before: the previous run's chain names the rest.
      this.phase = 'seek-failure';
      this.depth = 0;
      return;
    }
    if (type.endsWith('StateExited')) this.depth++;
    else if (type.endsWith('StateEntered')) this.entered(type, e.stateEnteredEventDetails?.name);
    else if (this.innermost === undefined && CONTAINER_FAILED.has(type)) this.containers++;
    else if (this.innermost === undefined && type === 'MapIterationFailed') this.name(e.mapIterationFailedEventDetails?.name);

    if (this.innermost !== undefined && this.enclosing.length >= this.containers) return void (this.answer = this.finish());
    this.follow(e);
  }

  private entered(type: string, name: string | undefined): void {
    if (this.depth > 0) return void this.depth--;
    if (this.innermost === undefined) this.innermost = name ?? '';
    else if (CONTAINER_ENTERED.has(type)) this.name(name);
  }

  private name(container: string | undefined): void {
    if (container !== undefined && container !== this.innermost && !this.enclosing.includes(container)) this.enclosing.push(container);
  }

  /**
   * Goes on to the event `e` came from. A broken chain (no previousEventId) ends the
   * search, or before the innermost state is known, takes the newest state entered.
   */
  private follow(e: HistoryEventView): void {
    this.phase = 'chain';
    this.wanted = e.previousEventId;
    if (this.wanted) return;
    if (this.innermost === undefined) this.phase = 'newest-entered';
    else this.answer = this.finish();
  }

  private finish(): FailedState {
    this.phase = 'done';
    return { name: this.innermost ?? null, enclosing: [...this.enclosing] };
  }
}

/** Reads pages (newest first) until the failed state is known. */
export async function findFailedState(pages: AsyncIterable<readonly HistoryEventView[]>): Promise<FailedState> {
  const reader = new FailedStateReader();
  for await (const page of pages) {
    const answer = reader.feed(page);
    if (answer) return answer;
  }
  return reader.end();
}

/** How a failed state reads in decisions and `redrivectl explain`: `Charge (in Each, in Fanout)`. */
export function describeFailedState(state: FailedState, status: string): string {
  if (state.name === null) return `no failed state (the execution ${status === 'FAILED' ? 'failed before any state' : `${status.toLowerCase().replace('_', ' ')} as a whole`})`;
  return state.enclosing.length ? `${state.name} (in ${state.enclosing.join(', in ')})` : state.name;
}
