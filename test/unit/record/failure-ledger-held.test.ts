/**
 * The ledger's held state on dynalite: which records may be held, what a held record
 * stores (its HELD shard and stop time, so a group's held failures are one Query away,
 * oldest first, and out of the drain's DUE shard), and how a held record leaves that state.
 */
import { HELD_EXHAUSTED_SHARD, heldShard } from '../../../contract/breaker';
import { type FailureFacts, FailureLedger } from '../../../lambda/record/failure-ledger';
import { useLedgerTable } from '../../support/dynalite';

const T0 = 1_700_000_000_000;
const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';
const arn = (i: number) => `arn:aws:states:us-east-1:123456789012:execution:orders:run-${i}`;
const SHARD = heldShard({ stateMachineArn: SM, errorName: 'Lambda.ServiceException' });

const table = useLedgerTable();
const ledger = () => new FailureLedger(table().doc, table().name, 30);
const stored = (i = 0, count = 0) => table().item({ pk: `EXEC#${arn(i)}`, sk: `FAILURE#${String(count).padStart(7, '0')}` });

function facts(i = 0, overrides: Partial<FailureFacts> = {}): FailureFacts {
  return {
    executionArn: arn(i),
    redriveCount: 0,
    stateMachineArn: SM,
    account: '123456789012',
    region: 'us-east-1',
    name: `run-${i}`,
    status: 'FAILED',
    startDate: T0 - 60_000,
    stopDate: T0 - 10_000 + i * 1000,
    errorName: 'Lambda.ServiceException',
    cause: 'downstream 503',
    policyKey: '*',
    ...overrides,
  };
}

test('hold: a new failure is stored held, in its HELD shard at its stop time, not in the DUE shard', async () => {
  expect(await ledger().hold(facts(), 'breaker-open', SHARD, T0)).toBe(true);
  expect(await stored()).toMatchObject({ state: 'held', reason: 'breaker-open', dueShard: SHARD, dueAt: T0 - 10_000, heldAt: T0, attempts: 0, errorName: 'Lambda.ServiceException' });
  expect(await ledger().due(T0 + 1e9, 100)).toEqual([]);
  expect((await ledger().backlog()).count).toBe(0);
  expect(await ledger().heldCount(SHARD)).toBe(1);
});

test('hold is allowed over a skip, a held record, a due pending redrive and an abandoned claim; refused over redriven, a live claim, a pending not due', async () => {
  const l = ledger();
  await l.skip(facts(1), 'paused', T0);
  expect(await l.hold(facts(1), 'breaker-open', SHARD, T0)).toBe(true);
  expect(await l.hold(facts(1), 'breaker-open', SHARD, T0 + 1)).toBe(true);
  await l.schedule(facts(2), T0, T0 - 5);
  expect(await l.hold(facts(2), 'breaker-open', SHARD, T0)).toBe(true);
  await l.schedule(facts(3), T0 + 60_000, T0);
  expect(await l.hold(facts(3), 'breaker-open', SHARD, T0)).toBe(false);
  const live = await l.claim(facts(4), T0, 180_000);
  expect(await l.hold(facts(4), 'breaker-open', SHARD, T0 + 1)).toBe(false);
  expect(await l.hold(facts(4), 'breaker-open', SHARD, T0 + 180_000)).toBe(true); // abandoned
  expect(await l.markRedriven(live!, T0 + 180_001)).toBe(false); // the old claim cannot settle it
  const done = await l.claim(facts(5), T0, 180_000);
  await l.markRedriven(done!, T0);
  expect(await l.hold(facts(5), 'breaker-open', SHARD, T0)).toBe(false);
  expect((await stored(5))?.state).toBe('redriven');
});

test('heldPage: oldest first, paged, narrowed by stop time or state machine; heldCount counts the shard', async () => {
  const l = ledger();
  for (const i of [3, 1, 4, 0, 2]) await l.hold(facts(i), 'breaker-open', SHARD, T0);
  await l.hold(facts(9, { stateMachineArn: `${SM}-other` }), 'exhausted', HELD_EXHAUSTED_SHARD, T0);
  await l.hold(facts(8), 'exhausted', HELD_EXHAUSTED_SHARD, T0);
  const first = await l.heldPage(SHARD, { limit: 3 });
  expect(first.items.map((r) => r.name)).toEqual(['run-0', 'run-1', 'run-2']);
  const rest = await l.heldPage(SHARD, { limit: 3, startKey: first.nextKey });
  expect(rest.items.map((r) => r.name)).toEqual(['run-3', 'run-4']);
  expect((await l.heldPage(SHARD, { limit: 10, stoppedBefore: T0 - 8_000 })).items.map((r) => r.name)).toEqual(['run-0', 'run-1']);
  expect((await l.heldPage(HELD_EXHAUSTED_SHARD, { limit: 10, stateMachineArn: SM })).items.map((r) => r.name)).toEqual(['run-8']);
  expect(await l.heldCount(SHARD)).toBe(5);
  expect(await l.heldCount(HELD_EXHAUSTED_SHARD)).toBe(2);
});

test('a held record leaves its shard when claimed (release, probe) or scheduled; a probe redrive is marked; rehold puts a claim back', async () => {
  const l = ledger();
  for (const i of [0, 1, 2]) await l.hold(facts(i), 'breaker-open', SHARD, T0);
  const claim = await l.claim(facts(0), T0 + 1, 180_000);
  expect(claim).toBeDefined();
  expect(await stored(0)).toMatchObject({ state: 'claimed', dueShard: 'DUE' });
  expect(await l.markRedriven(claim!, T0 + 2, 'probe-token')).toBe(true);
  expect(await stored(0)).toMatchObject({ state: 'redriven', reason: 'probe', probeToken: 'probe-token' });
  expect(await l.schedule(facts(1), T0 + 60_000, T0 + 1)).toBe(true);
  expect(await stored(1)).toMatchObject({ state: 'pending', dueShard: 'DUE' });
  const again = await l.claim(facts(2), T0 + 1, 180_000);
  expect(await l.rehold(again!, 'breaker-open', SHARD, T0 - 8_000, T0 + 2)).toBe(true);
  expect(await stored(2)).toMatchObject({ state: 'held', reason: 'breaker-open', dueShard: SHARD, dueAt: T0 - 8_000 });
  expect(await l.heldCount(SHARD)).toBe(1);
});

test('a skip over a held record (given up at the window end, or by decide() on release) takes it out of the shard', async () => {
  const l = ledger();
  await l.hold(facts(), 'exhausted', HELD_EXHAUSTED_SHARD, T0);
  expect(await l.skip(facts(), 'redrive-window-ending', T0 + 1)).toBe(true);
  const item = await stored();
  expect(item).toMatchObject({ state: 'skipped', reason: 'redrive-window-ending' });
  expect(item).not.toHaveProperty('dueShard');
  expect(await l.heldCount(HELD_EXHAUSTED_SHARD)).toBe(0);
});
