/**
 * The breaker item on dynalite: what the counting update, the conditional transitions and
 * the listing read and write (pk BREAKER#..., the sparse byDue entry while active), and
 * concurrent writers racing for the same transition.
 */
import { breakerShard } from '../../../contract/breaker';
import { BREAKER_DEFAULTS } from '../../../contract/policy-schema';
import { bucketMs, CLOSED_STATE, counterName } from '../../../lambda/decide/breaker';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BreakerContentionError, BreakerStore } from '../../../lambda/record/breaker-store';
import { useLedgerTable } from '../../support/dynalite';

const T0 = 1_700_000_000_000;
// Threshold 5 keeps these store tests short; the defaults' numbers, and the wait before an
// opening (openAfterSeconds 0 here: at first sight), are decide/breaker's business.
const S = { ...BREAKER_DEFAULTS, threshold: 5, openAfterSeconds: 0 };
const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';
const GROUP = { stateMachineArn: SM, errorName: 'Lambda.ServiceException' };
const KEY = { pk: `BREAKER#${SM}#Lambda.ServiceException`, sk: 'BREAKER' };

const table = useLedgerTable();
let now = T0;
const store = () => new BreakerStore(table().doc, table().name, () => now);
beforeEach(() => {
  now = T0;
});
const failure = (at: number, i = 0) => ({ kind: 'failure' as const, at, executionArn: `arn:aws:states:us-east-1:123456789012:execution:orders:e-${i}`, redriveCount: 0 });

test('no item: closed, version 0', async () => {
  expect(await store().read(GROUP)).toEqual(CLOSED_STATE);
  expect(await store().active()).toEqual([]);
});

test('count: one UpdateItem adds to the bucket and returns the whole state; buckets just behind the window are removed', async () => {
  const s = store();
  const b = bucketMs(S);
  const old = `r_${b}_${Math.floor(T0 / b) - 8}`;
  await table().doc.send(new PutCommand({ TableName: table().name, Item: { ...KEY, [old]: 4 } }));
  const state = await s.count(GROUP, [counterName(T0, S)], S);
  expect(state.counts).toEqual({ [counterName(T0, S)]: 1 });
  await s.count(GROUP, [counterName(T0, S)], S);
  expect(await table().item(KEY)).toEqual({ ...KEY, stateMachineArn: SM, errorName: 'Lambda.ServiceException', [counterName(T0, S)]: 2 });
});

test('count: a redrive that failed again adds to both signals in the one UpdateItem; two such executions open it', async () => {
  const s = store();
  const first = counterName(T0, S, 'c');
  const again = counterName(T0, S, 'r');
  const b = bucketMs(S);
  const oldAgain = `r_${b}_${Math.floor(T0 / b) - 9}`;
  await table().doc.send(new PutCommand({ TableName: table().name, Item: { ...KEY, [oldAgain]: 3 } }));
  let state = await s.count(GROUP, [first, again], S);
  expect(state.counts).toEqual({ [first]: 1, [again]: 1 });
  expect((await s.transition(GROUP, failure(T0), S, state)).step.effects).toEqual([{ kind: 'pass' }]);
  expect(await table().item(KEY)).not.toHaveProperty(oldAgain);
  state = await s.count(GROUP, [again], S);
  expect(state.counts).toEqual({ [first]: 1, [again]: 2 });
  const { step } = await s.transition(GROUP, failure(T0, 1), S, state);
  expect(step.effects[0]).toMatchObject({ kind: 'opened', failuresInWindow: 1, redriveFailuresInWindow: 2 });
});

test('open: written over the version read, listed in the BREAKER shard; closed for good: off the index, counters gone', async () => {
  const s = store();
  let state = CLOSED_STATE;
  for (let i = 0; i < 5; i++) state = await s.count(GROUP, [counterName(T0, S)], S);
  const { step } = await s.transition(GROUP, failure(T0), S, state);
  expect(step.effects.map((e) => e.kind)).toEqual(['opened', 'hold']);
  const item = await table().item(KEY);
  expect(item).toMatchObject({ status: 'open', version: 1, openedAt: T0, nextProbeAt: T0 + 30_000, dueShard: breakerShard(GROUP), dueAt: T0 + 30_000, failedProbes: 0 });
  expect(item).not.toHaveProperty('probe');
  expect(await s.active()).toEqual([{ group: GROUP, state: step.state }]);
  // The opening write owes its announcement (settled by the announcer, breaker-events.ts).
  expect(item).toMatchObject({ openedBy: 'redrive-failures', owedOpened: { owedSince: T0, status: 'open', openedAt: T0, reason: 'threshold', failuresInWindow: 5, openedBy: 'redrive-failures' } });
  expect(await s.settleAnnouncement(GROUP, 'opened', T0)).toBe(true);

  const probe = { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:orders:e-0', redriveCount: 0, token: 'tok', startedAt: T0 + 30_000 };
  await s.transition(GROUP, { kind: 'probe-started', probe }, S);
  expect(await table().item(KEY)).toMatchObject({ version: 2, probe, dueAt: T0 + 30_000 });
  await s.transition(GROUP, { kind: 'probe-result', token: 'tok', outcome: 'succeeded', at: T0 + 40_000 }, S);
  const releasing = await table().item(KEY);
  expect(releasing).toMatchObject({ status: 'releasing', version: 3, closedAt: T0 + 40_000, closeReason: 'probe-succeeded', dueShard: breakerShard(GROUP), dueAt: T0 + 40_000 });
  expect(Object.keys(releasing!).filter((k) => /^[crs]_/.test(k) || k === 'probe' || k === 'nextProbeAt')).toEqual([]);
  expect(releasing).toMatchObject({ owedClosed: { status: 'releasing', openedAt: T0, closedAt: T0 + 40_000, reason: 'probe-succeeded' } });
  expect(await s.settleAnnouncement(GROUP, 'closed', (releasing!.owedClosed as { owedSince: number }).owedSince)).toBe(true);
  await s.transition(GROUP, { kind: 'release-finished', at: T0 + 400_000 }, S);
  const closed = await table().item(KEY);
  expect(closed).toMatchObject({ status: 'closed', version: 4 });
  expect(closed).not.toHaveProperty('dueShard');
  expect(await s.active()).toEqual([]);
});

test('failing, not open yet (the default wait): failingSince and opensAt written and read back, off the index; the opening removes them; an item without them reads as not failing', async () => {
  const s = store();
  const W = { ...S, openAfterSeconds: undefined };
  let state = CLOSED_STATE;
  for (let i = 0; i < 5; i++) state = await s.count(GROUP, [counterName(T0, W)], W);
  const { step } = await s.transition(GROUP, { ...failure(T0), nextRedriveDelayMs: 60_000 }, W, state);
  expect(step.effects.map((e) => e.kind)).toEqual(['failing', 'pass']);
  const item = await table().item(KEY);
  expect(item).toMatchObject({ status: 'closed', version: 1, failingSince: T0, opensAt: T0 + 90_000 });
  expect(item).not.toHaveProperty('dueShard');
  expect(await s.active()).toEqual([]);
  expect(await store().read(GROUP)).toMatchObject({ failingSince: T0, opensAt: T0 + 90_000 });
  const opened = await s.transition(GROUP, failure(T0 + 90_000, 1), W);
  expect(opened.step.effects.map((e) => e.kind)).toEqual(['opened', 'hold']);
  const open = await table().item(KEY);
  expect(open).toMatchObject({ status: 'open', version: 2, openedAt: T0 + 90_000 });
  expect(open).not.toHaveProperty('failingSince');
  expect(open).not.toHaveProperty('opensAt');
  // Items written before this wait existed carry neither attribute.
  await table().doc.send(new PutCommand({ TableName: table().name, Item: { ...KEY, stateMachineArn: SM, errorName: GROUP.errorName, status: 'closed', version: 7 } }));
  expect(await store().read(GROUP)).toMatchObject({ status: 'closed', version: 7, failingSince: null, opensAt: null });
});

test('the outbox: a breaker owing an announcement does not close for good; a settle removes only the entry it names', async () => {
  const s = store();
  let state = CLOSED_STATE;
  for (let i = 0; i < 5; i++) state = await s.count(GROUP, [counterName(T0, S, 'c'), counterName(T0, S, 'r')], S);
  await s.transition(GROUP, failure(T0), S, state);
  expect(await table().item(KEY)).toMatchObject({ openedBy: 'redrive-failures', owedOpened: { openedBy: 'redrive-failures', owedSince: T0 } });
  now = T0 + 1_000;
  await s.transition(GROUP, { kind: 'closed-by-hand', at: now }, S);
  // A stale stamp (an older entry of the same kind) settles nothing.
  expect(await s.settleAnnouncement(GROUP, 'closed', T0)).toBe(false);
  expect(await s.settleAnnouncement(GROUP, 'opened', T0)).toBe(true);
  expect(await s.settleAnnouncement(GROUP, 'opened', T0)).toBe(false);
  const finish = { kind: 'release-finished' as const, at: T0 + 400_000 };
  const refused = await s.transition(GROUP, finish, S);
  expect(refused.step).toMatchObject({ changed: false, effects: [{ kind: 'ignored', why: 'an announcement is still owed' }] });
  expect(await s.active()).toHaveLength(1);
  expect(await s.settleAnnouncement(GROUP, 'closed', T0 + 1_000)).toBe(true);
  expect((await s.transition(GROUP, finish, S)).step.effects).toEqual([{ kind: 'finished' }]);
  expect(await s.active()).toEqual([]);
  expect(Object.keys((await table().item(KEY))!).filter((k) => k.startsWith('owed'))).toEqual([]);
});

test('an item written before the outbox (no owed attributes) owes nothing and closes for good as before', async () => {
  const s = store();
  await table().doc.send(new PutCommand({ TableName: table().name, Item: { ...KEY, stateMachineArn: SM, errorName: GROUP.errorName, status: 'releasing', version: 3, closedAt: T0, closeReason: 'probe-succeeded', dueShard: breakerShard(GROUP), dueAt: T0 } }));
  expect((await s.transition(GROUP, { kind: 'release-finished', at: T0 + 400_000 }, S)).step.effects).toEqual([{ kind: 'finished' }]);
});

test('concurrent openers on separate clients: one opens, the others lose the write, read again and hold', async () => {
  const writers = Array.from({ length: 12 }, () => store());
  // Everyone has counted (the 12th count makes 12 >= 5) before anyone transitions.
  let last = CLOSED_STATE;
  for (const w of writers) last = await w.count(GROUP, [counterName(T0, S)], S);
  const results = await Promise.all(writers.map((w, i) => w.transition(GROUP, failure(T0, i), S, { ...last, version: 0, status: 'closed' })));
  expect(results.filter((r) => r.step.effects.some((e) => e.kind === 'opened'))).toHaveLength(1);
  expect(results.every((r) => r.step.effects.some((e) => e.kind === 'hold'))).toBe(true);
  expect(await table().item(KEY)).toMatchObject({ status: 'open', version: 1 });
});

test('a writer that keeps losing gives up with BreakerContentionError (the event is retried)', async () => {
  const s = store();
  for (let i = 0; i < 5; i++) await s.count(GROUP, [counterName(T0, S)], S);
  // Someone bumps the version between every read and write.
  const inner = s as unknown as { read: (g: typeof GROUP) => Promise<typeof CLOSED_STATE> };
  const read = inner.read.bind(s);
  let bump = 0;
  inner.read = async (g) => {
    const state = await read(g);
    await table().doc.send(
      new UpdateCommand({ TableName: table().name, Key: KEY, UpdateExpression: 'SET version = :v', ExpressionAttributeValues: { ':v': 100 + ++bump } }),
    );
    return state;
  };
  await expect(s.transition(GROUP, failure(T0), S)).rejects.toBeInstanceOf(BreakerContentionError);
});

test('readCached reuses a read for a second of the caller clock, then reads again', async () => {
  const reader = store();
  const writer = store();
  expect((await reader.readCached(GROUP, T0)).status).toBe('closed');
  for (let i = 0; i < 5; i++) await writer.count(GROUP, [counterName(T0, S)], S);
  await writer.transition(GROUP, failure(T0), S);
  expect((await reader.readCached(GROUP, T0 + 999)).status).toBe('closed');
  expect((await reader.readCached(GROUP, T0 + 1000)).status).toBe('open');
});

test('active breakers spread over BREAKER#<k> index values; one written before sharding (dueShard BREAKER) is still listed', async () => {
  const groups = Array.from({ length: 40 }, (_, i) => ({ stateMachineArn: `${SM}-${i}`, errorName: 'Lambda.ServiceException' }));
  expect(new Set(groups.map(breakerShard)).size).toBeGreaterThan(8);
  const legacy = { pk: `BREAKER#${SM}-old#Lambda.ServiceException`, sk: 'BREAKER' };
  await table().doc.send(
    new PutCommand({ TableName: table().name, Item: { ...legacy, stateMachineArn: `${SM}-old`, errorName: 'Lambda.ServiceException', status: 'open', version: 1, openedAt: T0, nextProbeAt: T0, failedProbes: 0, dueShard: 'BREAKER', dueAt: T0 } }),
  );
  const s = store();
  for (const g of groups.slice(0, 3)) {
    let state = await s.read(g);
    for (let i = 0; i < 5; i++) state = await s.count(g, [counterName(T0, S)], S, T0);
    await s.transition(g, failure(T0), S, state);
  }
  const active = await s.active();
  expect(active.map((a) => a.group.stateMachineArn).sort()).toEqual([`${SM}-0`, `${SM}-1`, `${SM}-2`, `${SM}-old`]);
  expect(active.every((a) => a.state.status === 'open')).toBe(true);
});
