import type { RateGrant, RateLimiter } from '../../../lambda/act/rate-limiter';
import type { StepFunctionsGateway } from '../../../lambda/act/step-functions';
import type { HistoryEventView } from '../../../lambda/facts/failed-state';
import { FailedStateSource, NO_EXECUTION } from '../../../lambda/facts/failed-state-source';
import { fixtureEvent, policy } from '../helpers';

const SCOPED = policy({ neverAtStates: ['ChargeCard'] });
// Newest first: ExecutionFailed <- TaskFailed <- ... <- TaskStateEntered(ChargeCard), two events a page.
const EVENTS: HistoryEventView[] = [
  { id: 5, previousEventId: 4, type: 'ExecutionFailed' },
  { id: 4, previousEventId: 3, type: 'TaskFailed' },
  { id: 3, previousEventId: 2, type: 'TaskStarted' },
  { id: 2, previousEventId: 1, type: 'TaskScheduled' },
  { id: 1, previousEventId: 0, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'ChargeCard' } },
];

function world(options: { grants?: RateGrant[]; missing?: boolean; noHistory?: boolean } = {}) {
  const log: string[] = [];
  let now = 1_000;
  const gateway = {
    async *historyPages(arn: string) {
      log.push(`read ${arn.split(':').pop()}`);
      if (options.missing) throw Object.assign(new Error('no such execution'), { name: 'ExecutionDoesNotExist' });
      for (let i = 0; i < EVENTS.length; i += 2) {
        log.push(`page ${i / 2 + 1}`);
        yield EVENTS.slice(i, i + 2);
      }
    },
  } as unknown as StepFunctionsGateway;
  const grants = [...(options.grants ?? [])];
  const historyRate: RateLimiter = {
    acquire: async () => {
      log.push('acquire');
      return grants.shift() ?? { granted: true, at: now };
    },
    started: (at) => void log.push(`started at ${at}`),
  };
  const deps = {
    stepFunctions: options.noHistory ? ({} as StepFunctionsGateway) : gateway,
    historyRate,
    clock: () => now,
    sleep: async (ms: number) => {
      log.push(`sleep ${ms}`);
      now += ms;
    },
    maxRateWaitMs: 500,
  };
  return { log, deps };
}

describe('FailedStateSource', () => {
  it('reads a FAILED execution\'s history once, one rate slot per page fetched, waiting for a later slot', async () => {
    const { log, deps } = world({ grants: [{ granted: true, at: 1_200 }] });
    const source = new FailedStateSource(fixtureEvent('failed0'), deps, () => new Error('busy'));
    expect(await source.for(SCOPED)).toEqual({ name: 'ChargeCard', enclosing: [] });
    expect(await source.for(SCOPED)).toEqual({ name: 'ChargeCard', enclosing: [] });
    expect(log.filter((l) => l.startsWith('read'))).toHaveLength(1);
    expect(log).toEqual(['acquire', 'sleep 200', 'started at 1200', expect.stringMatching(/^read /), 'page 1', 'acquire', 'started at 1200', 'page 2', 'acquire', 'started at 1200', 'page 3']);
  });

  it('no read: a policy that is not state-scoped, a record that has it, a TIMED_OUT or ABORTED execution, a RUNNING event', async () => {
    const { log, deps } = world();
    const busy = () => new Error('busy');
    expect(await new FailedStateSource(fixtureEvent('failed0'), deps, busy).for(policy())).toBeUndefined();
    expect(await new FailedStateSource(fixtureEvent('failed0'), deps, busy).for(undefined)).toBeUndefined();
    const stored = { name: 'Validate', enclosing: [] };
    expect(await new FailedStateSource(fixtureEvent('failed0'), deps, busy).for(SCOPED, { failedState: stored })).toBe(stored);
    for (const status of ['TIMED_OUT', 'ABORTED'] as const) {
      expect(await new FailedStateSource(fixtureEvent('failed0', { status }), deps, busy).for(SCOPED)).toEqual({ name: null, enclosing: [] });
    }
    expect(await new FailedStateSource(fixtureEvent('running1'), deps, busy).for(SCOPED)).toBeUndefined();
    expect(log).toEqual([]);
  });

  it('no rate slot within the wait: the caller\'s busy error (the event is retried); a missing execution; a gateway without histories', async () => {
    const busy = world({ grants: [{ granted: false, retryAt: 9_000 }] });
    await expect(new FailedStateSource(fixtureEvent('failed0'), busy.deps, () => new Error('GetExecutionHistory busy')).for(SCOPED)).rejects.toThrow('GetExecutionHistory busy');
    // The slot is taken before the call: no GetExecutionHistory call was made.
    expect(busy.log.filter((l) => l.startsWith('read') || l.startsWith('page'))).toEqual([]);

    const missing = world({ missing: true });
    expect(await new FailedStateSource(fixtureEvent('failed0'), missing.deps, () => new Error('busy')).for(SCOPED)).toBe(NO_EXECUTION);
    const old = world({ noHistory: true });
    expect(await new FailedStateSource(fixtureEvent('failed0'), old.deps, () => new Error('busy')).for(SCOPED)).toBeUndefined();
  });

  it('hand-over: no slot within the wait answers history-busy with when to try again (no throw, no call); the next ask reads', async () => {
    const { log, deps } = world({ grants: [{ granted: false, retryAt: 9_000 }] });
    const source = new FailedStateSource(fixtureEvent('failed0'), deps, 'hand-over');
    expect(await source.for(SCOPED)).toEqual({ busy: 'history-busy', retryAt: 9_000 });
    expect(log.filter((l) => l.startsWith('read') || l.startsWith('page'))).toEqual([]);
    expect(await source.for(SCOPED)).toEqual({ name: 'ChargeCard', enclosing: [] });
    expect(log.filter((l) => l.startsWith('read'))).toHaveLength(1);
  });
});
