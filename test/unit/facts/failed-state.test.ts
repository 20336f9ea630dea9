import { describeFailedState, type FailedState, findFailedState, FailedStateReader, type HistoryEventView } from '../../../lambda/facts/failed-state';

/**
 * Histories shaped as GetExecutionHistory returns them (API_HistoryEvent: id, previousEventId,
 * type, stateEnteredEventDetails.name, mapIterationFailedEventDetails.name), written oldest
 * first as in the console, read newest first as the controller asks for them.
 */
type Spec = [type: string, previous: number | 'prev', name?: string];

function history(specs: readonly Spec[]): HistoryEventView[] {
  return specs.map(([type, previous, name], i) => {
    const id = i + 1;
    const e: Record<string, unknown> = { id, previousEventId: previous === 'prev' ? i : previous, type, timestamp: new Date(1_700_000_000_000 + id) };
    if (type.endsWith('StateEntered')) e.stateEnteredEventDetails = { name, input: '{}' };
    if (type.endsWith('StateExited')) e.stateExitedEventDetails = { name, output: '{}' };
    if (type === 'MapIterationFailed' || type === 'MapIterationStarted' || type === 'MapIterationSucceeded') e.mapIterationFailedEventDetails = { name, index: 0 };
    if (type === 'ExecutionRedriven') e.executionRedrivenEventDetails = { redriveCount: 1 };
    return e as HistoryEventView;
  });
}

/** Pages of `size`, newest first; counts the pages read. */
function pages(events: readonly HistoryEventView[], size: number) {
  const newestFirst = [...events].reverse();
  const read = { pages: 0 };
  const iterable = {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < newestFirst.length; i += size) {
        read.pages++;
        yield newestFirst.slice(i, i + size);
      }
    },
  };
  return { iterable, read };
}

async function failedState(specs: readonly Spec[], size = 20): Promise<FailedState> {
  return findFailedState(pages(history(specs), size).iterable);
}

// A linear workflow: Validate (Pass) -> Charge (Task, fails).
const TASK_FAILURE: Spec[] = [
  ['ExecutionStarted', 0],
  ['PassStateEntered', 1, 'Validate'],
  ['PassStateExited', 2, 'Validate'],
  ['TaskStateEntered', 3, 'Charge'],
  ['TaskScheduled', 4],
  ['TaskStarted', 5],
  ['TaskFailed', 6],
  ['ExecutionFailed', 7],
];

describe('failed state from the execution history', () => {
  it('a Task failure: the Task', async () => {
    expect(await failedState(TASK_FAILURE)).toEqual({ name: 'Charge', enclosing: [] });
  });

  it('a Task that failed after retries: the Task', async () => {
    expect(
      await failedState([
        ['ExecutionStarted', 0],
        ['TaskStateEntered', 1, 'Charge'],
        ['TaskScheduled', 2],
        ['TaskStarted', 3],
        ['TaskFailed', 4],
        ['TaskScheduled', 5],
        ['TaskStarted', 6],
        ['TaskFailed', 7],
        ['ExecutionFailed', 8],
      ]),
    ).toEqual({ name: 'Charge', enclosing: [] });
  });

  it('a Fail state: the Fail state', async () => {
    expect(
      await failedState([
        ['ExecutionStarted', 0],
        ['TaskStateEntered', 1, 'Lookup'],
        ['TaskScheduled', 2],
        ['TaskStarted', 3],
        ['TaskSucceeded', 4],
        ['TaskStateExited', 5, 'Lookup'],
        ['ChoiceStateEntered', 6, 'Found?'],
        ['ChoiceStateExited', 7, 'Found?'],
        ['FailStateEntered', 8, 'NotFound'],
        ['ExecutionFailed', 9],
      ]),
    ).toEqual({ name: 'NotFound', enclosing: [] });
  });

  it('inside a Parallel branch: the branch state, enclosed by the Parallel state (the other branch interleaved)', async () => {
    expect(
      await failedState([
        ['ExecutionStarted', 0],
        ['ParallelStateEntered', 1, 'Fanout'],
        ['ParallelStateStarted', 2],
        ['TaskStateEntered', 3, 'Notify'], // 4: branch 1
        ['TaskStateEntered', 3, 'Charge'], // 5: branch 2
        ['TaskScheduled', 4],
        ['TaskScheduled', 5], // 7
        ['TaskStarted', 6], // 8
        ['TaskStarted', 7], // 9
        ['TaskSucceeded', 8], // 10
        ['TaskStateExited', 10, 'Notify'], // 11
        ['TaskFailed', 9], // 12: Charge
        ['ParallelStateFailed', 12], // 13
        ['ExecutionFailed', 13],
      ]),
    ).toEqual({ name: 'Charge', enclosing: ['Fanout'] });
  });

  it('inside an inline Map iteration, after an earlier state of the iteration: the iteration state, enclosed by the Map', async () => {
    expect(
      await failedState([
        ['ExecutionStarted', 0],
        ['MapStateEntered', 1, 'EachItem'],
        ['MapStateStarted', 2],
        ['MapIterationStarted', 3, 'EachItem'], // 4
        ['PassStateEntered', 4, 'Shape'], // 5
        ['PassStateExited', 5, 'Shape'], // 6
        ['TaskStateEntered', 6, 'Ship'], // 7
        ['TaskScheduled', 7],
        ['TaskStarted', 8],
        ['TaskFailed', 9], // 10
        ['MapIterationFailed', 10, 'EachItem'], // 11
        ['MapStateFailed', 11],
        ['ExecutionFailed', 12],
      ]),
    ).toEqual({ name: 'Ship', enclosing: ['EachItem'] });
  });

  it('a Map inside a Parallel branch: both enclosing states, innermost first', async () => {
    expect(
      await failedState([
        ['ExecutionStarted', 0],
        ['ParallelStateEntered', 1, 'Fanout'],
        ['ParallelStateStarted', 2],
        ['MapStateEntered', 3, 'EachItem'], // 4
        ['MapStateStarted', 4],
        ['MapIterationStarted', 5, 'EachItem'], // 6
        ['TaskStateEntered', 6, 'Ship'], // 7
        ['TaskScheduled', 7],
        ['TaskStarted', 8],
        ['TaskFailed', 9], // 10
        ['MapIterationFailed', 10, 'EachItem'],
        ['MapStateFailed', 11], // 12
        ['ParallelStateFailed', 12], // 13
        ['ExecutionFailed', 13],
      ]),
    ).toEqual({ name: 'Ship', enclosing: ['EachItem', 'Fanout'] });
  });

  it('after a redrive: the state whose failure ended the last run', async () => {
    expect(
      await failedState([
        ...TASK_FAILURE, // 1-8: run 0 failed at Charge
        ['ExecutionRedriven', 8], // 9
        ['TaskStateEntered', 9, 'Charge'], // 10
        ['TaskScheduled', 10],
        ['TaskStarted', 11],
        ['TaskSucceeded', 12],
        ['TaskStateExited', 13, 'Charge'], // 14
        ['TaskStateEntered', 14, 'Receipt'], // 15
        ['TaskScheduled', 15],
        ['TaskStarted', 16],
        ['TaskFailed', 17],
        ['ExecutionFailed', 18],
      ]),
    ).toEqual({ name: 'Receipt', enclosing: [] });
  });

  it('after a redrive that resumed inside a Parallel branch: the enclosing state from the earlier run', async () => {
    expect(
      await failedState([
        ['ExecutionStarted', 0],
        ['ParallelStateEntered', 1, 'Fanout'],
        ['ParallelStateStarted', 2],
        ['TaskStateEntered', 3, 'Charge'], // 4
        ['TaskScheduled', 4],
        ['TaskStarted', 5],
        ['TaskFailed', 6], // 7
        ['ParallelStateFailed', 7],
        ['ExecutionFailed', 8], // 9
        ['ExecutionRedriven', 9], // 10
        ['TaskScheduled', 10], // 11: the failed branch rescheduled
        ['TaskStarted', 11],
        ['TaskFailed', 12], // 13
        ['ParallelStateFailed', 13],
        ['ExecutionFailed', 14],
      ]),
    ).toEqual({ name: 'Charge', enclosing: ['Fanout'] });
  });

  it('TIMED_OUT and ABORTED executions have no failed state, read from the first event alone', async () => {
    for (const terminal of ['ExecutionTimedOut', 'ExecutionAborted']) {
      const { iterable, read } = pages(history([['ExecutionStarted', 0], ['TaskStateEntered', 1, 'Wait'], ['TaskScheduled', 2], ['TaskStarted', 3], [terminal, 4]]), 1);
      expect(await findFailedState(iterable)).toEqual({ name: null, enclosing: [] });
      expect(read.pages).toBe(1);
    }
  });

  it('a failure before any state: no failed state', async () => {
    expect(await failedState([['ExecutionStarted', 0], ['ExecutionFailed', 1]])).toEqual({ name: null, enclosing: [] });
  });

  it('reads the next page only while the answer is open', async () => {
    // 100 completed states before the failure: one small page holds the failure's chain.
    const long: Spec[] = [['ExecutionStarted', 0]];
    for (let i = 0; i < 100; i++) long.push(['PassStateEntered', 'prev', `Step${i}`], ['PassStateExited', 'prev', `Step${i}`]);
    long.push(['TaskStateEntered', 'prev', 'Charge'], ['TaskScheduled', 'prev'], ['TaskStarted', 'prev'], ['TaskFailed', 'prev'], ['ExecutionFailed', 'prev']);
    const linear = pages(history(long), 20);
    expect(await findFailedState(linear.iterable)).toEqual({ name: 'Charge', enclosing: [] });
    expect(linear.read.pages).toBe(1);

    // The failure's chain spread over pages of 3: read on until the Task's entry.
    const paged = pages(history(TASK_FAILURE), 3);
    expect(await findFailedState(paged.iterable)).toEqual({ name: 'Charge', enclosing: [] });
    expect(paged.read.pages).toBe(2);
  });

  it('a Parallel failure reads back to the Parallel state, across pages', async () => {
    const specs: Spec[] = [['ExecutionStarted', 0], ['ParallelStateEntered', 1, 'Fanout'], ['ParallelStateStarted', 2], ['TaskStateEntered', 3, 'Charge']];
    // 60 events of a busy sibling branch between the failing Task's start and its failure.
    specs.push(['TaskScheduled', 4]);
    for (let i = 0; i < 30; i++) specs.push(['PassStateEntered', 3, `Sibling${i}`], ['PassStateExited', 'prev', `Sibling${i}`]);
    specs.push(['TaskFailed', 5], ['ParallelStateFailed', 'prev'], ['ExecutionFailed', 'prev']);
    const { iterable, read } = pages(history(specs), 20);
    expect(await findFailedState(iterable)).toEqual({ name: 'Charge', enclosing: ['Fanout'] });
    expect(read.pages).toBe(4);
  });

  it('a history without previousEventId links: the newest state entered of the last run', async () => {
    const unlinked = history(TASK_FAILURE).map(({ previousEventId: _, ...e }) => e);
    expect(new FailedStateReader().feed([...unlinked].reverse())).toEqual({ name: 'Charge', enclosing: [] });
    // Linked up to the TaskStarted, then broken.
    const partly = history(TASK_FAILURE).map((e) => (e.type === 'TaskStarted' ? { ...e, previousEventId: 0 } : e));
    expect(new FailedStateReader().feed([...partly].reverse())).toEqual({ name: 'Charge', enclosing: [] });
    // No state entered in the run: none.
    const reader = new FailedStateReader();
    expect(reader.feed([{ id: 2, type: 'ExecutionFailed' }])).toBeUndefined();
    expect(reader.end()).toEqual({ name: null, enclosing: [] });
  });

  it('describes the state for decisions and explain', () => {
    expect(describeFailedState({ name: 'Charge', enclosing: [] }, 'FAILED')).toBe('Charge');
    expect(describeFailedState({ name: 'Ship', enclosing: ['EachItem', 'Fanout'] }, 'FAILED')).toBe('Ship (in EachItem, in Fanout)');
    expect(describeFailedState({ name: null, enclosing: [] }, 'TIMED_OUT')).toBe('no failed state (the execution timed out as a whole)');
  });
});
