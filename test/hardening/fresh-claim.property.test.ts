/**
 * The fresh-failure claim (event-path.ts `redriveFreshFailure`, failure-ledger.ts
 * `claimNew`) against the read-first path it skips: two worlds run the same generated
 * history of one execution (failures, deliveries of any of its events in any order, late
 * and duplicated, hand redrives, drains, time passing), one with the fresh claim, one
 * with `readLedgerFirst`. After every step they must agree on everything: the decision
 * and its outcome, the redrive calls, the ledger, the audit trail. And the ledger
 * invariant that makes the skipped read safe holds throughout: a record of a later
 * failure is never there without record 0.
 */
import fc from 'fast-check';
import { type ControllerDeps, type Outcome, processStatusChange } from '../../lambda/event-path';
import { drain } from '../../lambda/scheduled-drain';
import type { RedriveResult } from '../../lambda/act/step-functions';
import { parsePolicyItem } from '../../contract/policy-schema';
import { fixtureEvent } from '../unit/helpers';
import { fakeWorld, type FakeWorld } from './support/fakes';
import { check, runAsyncProperty, same } from './support/fuzz-runner';

const T0 = 1_700_116_683_000;

/** The execution as Step Functions sees it, in one world. */
interface Execution {
  count: number;
  status: 'RUNNING' | 'FAILED';
  /** When each failure (by redriveCount) stopped. */
  readonly stops: number[];
  /** The clientToken of each redrive the controller made that went through. */
  readonly redrivenWith: string[];
}

type Op =
  | { readonly op: 'fail' }
  | { readonly op: 'hand-redrive' }
  | { readonly op: 'deliver'; readonly which: number }
  | { readonly op: 'advance'; readonly seconds: number }
  | { readonly op: 'drain' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant({ op: 'fail' as const }), weight: 2 },
  { arbitrary: fc.constant({ op: 'hand-redrive' as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('deliver' as const), which: fc.nat(4) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('advance' as const), seconds: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 250, max: 700 })) }), weight: 2 },
  { arbitrary: fc.constant({ op: 'drain' as const }), weight: 1 },
);

const policyItem = fc.record({
  stateMachine: fc.constant('*'),
  intervalSeconds: fc.constantFrom(0, 0, 30),
  maxRedrives: fc.integer({ min: 1, max: 3 }),
  jitter: fc.constant('NONE'),
});

interface World {
  readonly w: FakeWorld;
  readonly execution: Execution;
  readonly advance: (ms: number) => Promise<void>;
  /** Fresh claims won (claimNew). */
  readonly fresh: { won: number };
}

function world(item: Record<string, unknown>, readLedgerFirst: boolean): World {
  const execution: Execution = { count: 0, status: 'FAILED', stops: [T0], redrivenWith: [] };
  const event = fixtureEvent('failed0');
  const redrive = (): RedriveResult => {
    if (execution.status !== 'FAILED') return { kind: 'rejected', errorName: 'ExecutionNotRedrivable', message: 'running' };
    execution.count++;
    execution.status = 'RUNNING';
    execution.redrivenWith.push(w.sfn.redrives[w.sfn.redrives.length - 1].clientToken);
    return { kind: 'redriven', redriveDate: T0 };
  };
  const w = fakeWorld({
    now: T0,
    policies: new Map([['*', parsePolicyItem(item)]]),
    redrive,
    describe: () => ({
      executionArn: event.executionArn,
      stateMachineArn: event.stateMachineArn,
      name: event.name,
      cause: null,
      status: execution.status,
      redriveCount: execution.count,
      redriveStatus: execution.status === 'FAILED' ? 'REDRIVABLE' : 'NOT_REDRIVABLE',
      redriveStatusReason: execution.status === 'FAILED' ? null : 'Execution is RUNNING and cannot be redriven',
      startDate: event.startDate,
      stopDate: execution.status === 'FAILED' ? execution.stops[execution.count] : null,
      redriveDate: null,
      error: execution.status === 'FAILED' ? event.error : null,
    }),
  });
  const deps: ControllerDeps = { ...w.deps, readLedgerFirst };
  const fresh = { won: 0 };
  const claimNew = w.ledger.claimNew.bind(w.ledger);
  w.ledger.claimNew = async (...args) => {
    const claim = await claimNew(...args);
    if (claim) fresh.won++;
    return claim;
  };
  return { w: { ...w, deps }, execution, advance: (ms) => w.deps.sleep(ms), fresh };
}

/** What each world did at one step, to compare. */
const seen = (o: Outcome | undefined) => (o ? { decision: o.decision, action: o.action, actionDetail: o.actionDetail, dueAt: o.dueAt } : undefined);

async function step(x: World, o: Op): Promise<unknown> {
  const { w, execution } = x;
  const now = w.deps.clock();
  switch (o.op) {
    case 'fail':
      if (execution.status === 'RUNNING') {
        execution.status = 'FAILED';
        execution.stops[execution.count] = now;
      }
      return undefined;
    case 'hand-redrive':
      if (execution.status === 'FAILED') {
        execution.count++;
        execution.status = 'RUNNING';
      }
      return undefined;
    case 'advance':
      await x.advance(o.seconds * 1000);
      return undefined;
    case 'drain': {
      const report = await drain(w.deps);
      return report.outcomes.map(seen);
    }
    case 'deliver': {
      // The FAILED event of one failure that happened (any of them, again and again, late).
      const failures = execution.stops.length - (execution.status === 'RUNNING' ? 1 : 0);
      if (failures <= 0) return undefined;
      const n = o.which % failures;
      const stop = execution.stops[n];
      const event = fixtureEvent('failed0', { redriveCount: n, eventTime: stop, stopDate: stop, eventId: `e-${n}` });
      return seen(await processStatusChange(event, w.deps, { source: 'event' }));
    }
  }
}

/** Every record of a later failure has its record 0 beside it. */
function invariantHolds(w: FakeWorld): boolean {
  const counts = [...w.ledger.records.values()].map((r) => r.redriveCount);
  return counts.every((c) => c === 0) || counts.includes(0);
}

describe('the fresh-failure claim decides as the read-first path', () => {
  test('same decisions, outcomes, redrives, ledger and audit trail after every step of any history', async () => {
    let fastClaims = 0;
    await runAsyncProperty(
      'fresh claim vs read first',
      fc.asyncProperty(policyItem, fc.array(op, { minLength: 1, maxLength: 14 }), async (item, ops) => {
        const fast = world(item, false);
        const slow = world(item, true);
        for (const [i, o] of ops.entries()) {
          const [a, b] = [await step(fast, o), await step(slow, o)];
          const at = `step ${i} (${o.op})`;
          same(a, b, `${at}: outcome`);
          same(fast.w.sfn.redrives, slow.w.sfn.redrives, `${at}: redrive calls`);
          same(fast.w.ledger.states(), slow.w.ledger.states(), `${at}: ledger states`);
          same(
            [...fast.w.ledger.records.values()].map(({ claimToken: _t, decisions: _d, ...r }) => r),
            [...slow.w.ledger.records.values()].map(({ claimToken: _t, decisions: _d, ...r }) => r),
            `${at}: ledger records`,
          );
          same(fast.w.audit.entries, slow.w.audit.entries, `${at}: audit trail`);
          check(invariantHolds(fast.w), `${at}: a later failure's record without record 0`, fast.w.ledger.states());
          // Never twice: each failure record's redrive went through at most once.
          const tokens = fast.execution.redrivenWith;
          check(new Set(tokens).size === tokens.length, `${at}: one failure redriven twice`, tokens);
        }
        // Each decision stored with the ledger write is in the record, exactly once.
        const inRecords = [...fast.w.ledger.records.values()].flatMap((r) => r.decisions ?? []);
        same(inRecords.length, fast.w.audit.withLedgerWrite.length, 'decisions stored with ledger writes');
        same(slow.fresh.won, 0, 'no fresh claim when reading first');
        fastClaims += fast.fresh.won;
      }),
      Number(process.env.FUZZ_FRESH_RUNS ?? 400),
    );
    // The fast path was taken (not a comparison of two identical slow paths).
    expect(fastClaims).toBeGreaterThan(10);
  });
});
