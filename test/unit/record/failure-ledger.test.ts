/**
 * The failure ledger's state machine on dynalite, one test per transition and per refused
 * conditional write. Every test reads the stored item back and compares all of it: the
 * never-twice guarantee rests on exactly which attributes each write sets and removes
 * (a pending or claimed record without `dueShard` would drop out of the drain's index).
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '../../../lambda/record/audit-trail';
import {
  type Claim,
  executionPk,
  type FailureFacts,
  FailureLedger,
  type FailureRecord,
  LIVE_RECORD_MIN_LIFE_MS,
  MAX_DECISIONS_IN_RECORD,
  recordExpiresAt,
  settlesWithDecision,
  toRecordState,
} from '../../../lambda/record/failure-ledger';
import { useLedgerTable } from '../../support/dynalite';
import { HELD_EXHAUSTED_SHARD, heldShard } from '../../../contract/breaker';
import { shardOf } from '../../../contract/due-shards';
import { failureFacts, T0 } from '../helpers';

const RETENTION_DAYS = 30;
const TIMEOUT = 120_000;
const ARN = failureFacts().executionArn;
const PK = `EXEC#${ARN}`;
/** The stored key format: old ledger records must keep being found. */
const SK0 = 'FAILURE#0000000';

const table = useLedgerTable();
const ledger = () => new FailureLedger(table().doc, table().name, RETENTION_DAYS);
const stored = (sk = SK0) => table().item({ pk: PK, sk });
const ttl = (now: number) => Math.floor(now / 1000) + RETENTION_DAYS * 86_400;

const facts = failureFacts;

/** The stored item of a failure in `state`, as each write leaves it (key and facts included). */
const item = (extra: Record<string, unknown>, f: FailureFacts = facts()) => ({ pk: PK, sk: SK0, ...f, ...extra });

async function claimed(at = T0): Promise<Claim> {
  const claim = await ledger().claim(facts(), at, TIMEOUT);
  if (!claim) throw new Error('setup: claim refused');
  return claim;
}

describe('claim', () => {
  /** A record claimed at `at` with `token`: expiry and due time one claim timeout later, in the byDue index. */
  const claimedItem = (at: number, token: string, extra: Record<string, unknown> = {}) =>
    item({ state: 'claimed', claimToken: token, claimExpiresAt: at + TIMEOUT, dueShard: 'DUE#0', dueAt: at + TIMEOUT, attempts: 1, updatedAt: at, expiresAt: ttl(at), ...extra });

  it('none -> claimed: a token, an expiry that is also its due time (byDue index), attempts 1, the facts, a TTL', async () => {
    const claim = await ledger().claim(facts(), T0, TIMEOUT);
    expect(claim).toEqual({ executionArn: ARN, redriveCount: 0, token: expect.stringMatching(/^[0-9a-f-]{36}$/), attempts: 1 });
    expect(await stored()).toEqual(
      item({ state: 'claimed', claimToken: claim!.token, claimExpiresAt: T0 + TIMEOUT, dueShard: 'DUE#0', dueAt: T0 + TIMEOUT, attempts: 1, updatedAt: T0, expiresAt: ttl(T0) }),
    );
  });

  it('skipped -> claimed: a skip does not block a later redrive (the facts are refreshed, the reason stays)', async () => {
    await ledger().skip(facts({ policyKey: null }), 'paused', T0);
    const claim = await ledger().claim(facts(), T0 + 5_000, TIMEOUT);
    expect(claim?.attempts).toBe(1);
    expect(await stored()).toEqual(claimedItem(T0 + 5_000, claim!.token, { reason: 'paused' }));
  });

  it('pending -> claimed once due (dueAt <= now)', async () => {
    await ledger().schedule(facts(), T0 + 10_000, T0);
    const claim = await ledger().claim(facts(), T0 + 10_000, TIMEOUT);
    expect(claim?.attempts).toBe(1);
    expect(await stored()).toEqual(claimedItem(T0 + 10_000, claim!.token, { reason: 'backoff' }));
  });

  it('abandoned claim -> claimed again (retake): a new token, attempts 2, a new expiry', async () => {
    const first = await claimed(T0);
    const retake = await ledger().claim(facts(), T0 + TIMEOUT, TIMEOUT);
    expect(retake).toEqual({ executionArn: ARN, redriveCount: 0, token: expect.any(String), attempts: 2 });
    expect(retake!.token).not.toBe(first.token);
    expect(await stored()).toMatchObject({ state: 'claimed', claimToken: retake!.token, claimExpiresAt: T0 + 2 * TIMEOUT, dueAt: T0 + 2 * TIMEOUT, attempts: 2 });
  });

  it('refused while another claim holds (not yet expired); the holder keeps it', async () => {
    const holder = await claimed(T0);
    const before = await stored();
    await expect(ledger().claim(facts(), T0 + TIMEOUT - 1, TIMEOUT)).resolves.toBeUndefined();
    expect(await stored()).toEqual(before);
    expect((await stored())?.claimToken).toBe(holder.token);
  });

  it('refused for a pending redrive that is not due yet', async () => {
    await ledger().schedule(facts(), T0 + 10_000, T0);
    const before = await stored();
    await expect(ledger().claim(facts(), T0 + 9_999, TIMEOUT)).resolves.toBeUndefined();
    expect(await stored()).toEqual(before);
  });

  it('refused once the failure was redriven (already settled), however late', async () => {
    await ledger().markRedriven(await claimed(T0), T0 + 1_000);
    const before = await stored();
    await expect(ledger().claim(facts(), T0 + 10 * TIMEOUT, TIMEOUT)).resolves.toBeUndefined();
    expect(await stored()).toEqual(before);
  });

  it('two claims at the same moment: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => ledger().claim(facts(), T0, TIMEOUT)));
    const won = results.filter((c) => c !== undefined);
    expect(won).toHaveLength(1);
    expect((await stored())?.claimToken).toBe(won[0]!.token);
  });
});

describe('schedule', () => {
  it('none -> pending: reason backoff, in the byDue index at dueAt, attempts 0', async () => {
    await expect(ledger().schedule(facts(), T0 + 30_000, T0)).resolves.toBe(true);
    expect(await stored()).toEqual(item({ state: 'pending', reason: 'backoff', dueShard: 'DUE#0', dueAt: T0 + 30_000, attempts: 0, updatedAt: T0, expiresAt: ttl(T0) }));
  });

  it('skipped -> pending: the skip is replaced whole', async () => {
    await ledger().skip(facts(), 'paused', T0);
    await expect(ledger().schedule(facts(), T0 + 30_000, T0 + 1_000)).resolves.toBe(true);
    expect(await stored()).toEqual(
      item({ state: 'pending', reason: 'backoff', dueShard: 'DUE#0', dueAt: T0 + 30_000, attempts: 0, updatedAt: T0 + 1_000, expiresAt: ttl(T0 + 1_000) }),
    );
  });

  it.each([
    ['pending (even once due)', async () => void (await ledger().schedule(facts(), T0, T0))],
    ['claimed (even once expired)', async () => void (await claimed(T0 - 10 * TIMEOUT))],
    ['redriven', async () => void (await ledger().markRedriven(await claimed(T0 - 1_000), T0 - 500))],
  ])('refused over a record that is %s', async (_state, setup) => {
    await setup();
    const before = await stored();
    await expect(ledger().schedule(facts(), T0 + 30_000, T0)).resolves.toBe(false);
    expect(await stored()).toEqual(before);
  });
});

describe('skip', () => {
  it('none -> skipped: the reason, attempts 0, not in the byDue index', async () => {
    await expect(ledger().skip(facts(), 'limit-reached', T0)).resolves.toBe(true);
    expect(await stored()).toEqual(item({ state: 'skipped', reason: 'limit-reached', attempts: 0, updatedAt: T0, expiresAt: ttl(T0) }));
  });

  it('skipped -> skipped: the newer reason replaces the older', async () => {
    await ledger().skip(facts(), 'paused', T0);
    await expect(ledger().skip(facts(), 'dry-run', T0 + 1_000)).resolves.toBe(true);
    expect(await stored()).toEqual(item({ state: 'skipped', reason: 'dry-run', attempts: 0, updatedAt: T0 + 1_000, expiresAt: ttl(T0 + 1_000) }));
  });

  it('due pending -> skipped (the drain dropped it): it leaves the byDue index', async () => {
    await ledger().schedule(facts(), T0, T0 - 30_000);
    await expect(ledger().skip(facts(), 'not-redrivable', T0)).resolves.toBe(true);
    expect(await stored()).toEqual(item({ state: 'skipped', reason: 'not-redrivable', attempts: 0, updatedAt: T0, expiresAt: ttl(T0) }));
    await expect(ledger().due(T0 + 1, 10)).resolves.toEqual([]);
  });

  it('abandoned claim -> skipped: token and expiry go, attempts stay', async () => {
    await claimed(T0 - TIMEOUT);
    await expect(ledger().skip(facts(), 'not-redrivable', T0)).resolves.toBe(true);
    expect(await stored()).toEqual(item({ state: 'skipped', reason: 'not-redrivable', attempts: 1, updatedAt: T0, expiresAt: ttl(T0) }));
  });

  it.each([
    ['claimed by a live claim', async () => void (await claimed(T0))],
    ['pending and not due yet', async () => void (await ledger().schedule(facts(), T0 + 30_000, T0))],
    ['redriven', async () => void (await ledger().markRedriven(await claimed(T0 - 1_000), T0 - 500))],
  ])('refused over a record that is %s', async (_state, setup) => {
    await setup();
    const before = await stored();
    await expect(ledger().skip(facts(), 'paused', T0 + 1)).resolves.toBe(false);
    expect(await stored()).toEqual(before);
  });
});

describe('settling a claim', () => {
  it('claimed -> redriven: out of the byDue index; the token stays as a trace; the TTL counts from the settling', async () => {
    const claim = await claimed(T0);
    await expect(ledger().markRedriven(claim, T0 + 2_000)).resolves.toBe(true);
    expect(await stored()).toEqual(item({ state: 'redriven', reason: 'redriven', claimToken: claim.token, attempts: 1, updatedAt: T0 + 2_000, expiresAt: ttl(T0 + 2_000) }));
  });

  it('claimed -> skipped (RedriveExecution refused): the reason recorded, out of the byDue index', async () => {
    const claim = await claimed(T0);
    await expect(ledger().markRejected(claim, 'not-redrivable', T0 + 2_000)).resolves.toBe(true);
    expect(await stored()).toEqual(item({ state: 'skipped', reason: 'not-redrivable', claimToken: claim.token, attempts: 1, updatedAt: T0 + 2_000, expiresAt: ttl(T0 + 2_000) }));
  });

  it('claimed -> pending (defer): due again at the given time; the next claim counts attempt 2', async () => {
    const claim = await claimed(T0);
    await expect(ledger().defer(claim, T0 + 30_000, 'rate-limited', T0 + 2_000)).resolves.toBe(true);
    expect(await stored()).toEqual(
      item({ state: 'pending', reason: 'rate-limited', claimToken: claim.token, dueShard: 'DUE#0', dueAt: T0 + 30_000, attempts: 1, updatedAt: T0 + 2_000, expiresAt: ttl(T0) }),
    );
    await expect(ledger().claim(facts(), T0 + 30_000, TIMEOUT)).resolves.toMatchObject({ attempts: 2 });
  });

  const SETTLE = {
    markRedriven: (c: Claim, at: number) => ledger().markRedriven(c, at),
    markRejected: (c: Claim, at: number) => ledger().markRejected(c, 'not-redrivable', at),
    defer: (c: Claim, at: number) => ledger().defer(c, at + 30_000, 'transient:ThrottlingException', at),
  };
  const settles = Object.entries(SETTLE);

  it.each(settles)('%s is refused with a stale token (the claim expired and was retaken)', async (_op, settle) => {
    const stale = await claimed(T0);
    const retake = await ledger().claim(facts(), T0 + TIMEOUT, TIMEOUT);
    const before = await stored();
    await expect(settle(stale, T0 + TIMEOUT + 1)).resolves.toBe(false);
    expect(await stored()).toEqual(before);
    expect(before?.claimToken).toBe(retake!.token);
  });

  it.each(settles)('%s is refused once the claim was already settled (redriven)', async (_op, settle) => {
    const claim = await claimed(T0);
    await ledger().markRedriven(claim, T0 + 1_000);
    const before = await stored();
    await expect(settle(claim, T0 + 2_000)).resolves.toBe(false);
    expect(await stored()).toEqual(before);
  });

  it.each(settles)('%s is refused once the claim was given back (deferred to pending)', async (_op, settle) => {
    const claim = await claimed(T0);
    await ledger().defer(claim, T0 + 30_000, 'rate-limited', T0 + 1_000);
    const before = await stored();
    await expect(settle(claim, T0 + 2_000)).resolves.toBe(false);
    expect(await stored()).toEqual(before);
  });

  it.each(settles)('%s writes nothing for a failure the ledger does not know', async (_op, settle) => {
    const forged: Claim = { executionArn: ARN, redriveCount: 0, token: 'forged', attempts: 1 };
    await expect(settle(forged, T0)).resolves.toBe(false);
    expect(await stored()).toBeUndefined();
  });
});

describe('reads', () => {
  it('failuresOf: every failure of one execution, lowest redriveCount first (zero-padded keys), nothing else', async () => {
    for (const redriveCount of [10, 2, 0]) await ledger().skip(facts({ redriveCount }), 'paused', T0);
    await ledger().skip(facts({ executionArn: `${ARN}-other` }), 'paused', T0);
    // An audit entry shares the execution's partition; it is not a failure.
    await table().doc.send(new PutCommand({ TableName: table().name, Item: { pk: executionPk(ARN), sk: 'AUDIT#2023-11-14T22:13:20.000Z#abcd1234' } }));
    const failures = await ledger().failuresOf(ARN);
    expect(failures.map((f) => [f.redriveCount, (f as FailureRecord & { sk: string }).sk])).toEqual([
      [0, 'FAILURE#0000000'],
      [2, 'FAILURE#0000002'],
      [10, 'FAILURE#0000010'],
    ]);
  });

  it('get: the stored record of one failure, or undefined', async () => {
    await ledger().schedule(facts({ redriveCount: 1 }), T0 + 5_000, T0);
    await expect(ledger().get(ARN, 1)).resolves.toMatchObject({ ...facts({ redriveCount: 1 }), state: 'pending', dueAt: T0 + 5_000 });
    await expect(ledger().get(ARN, 0)).resolves.toBeUndefined();
  });

  it('due: pending redrives and claims due at now, oldest first, up to the limit; nothing else', async () => {
    const at = (name: string) => facts({ executionArn: `${ARN}-${name}`, name });
    await ledger().schedule(at('later'), T0 + 1, T0 - 60_000);
    await ledger().schedule(at('due-second'), T0 - 1_000, T0 - 60_000);
    await ledger().claim(at('abandoned-first'), T0 - 2 * TIMEOUT, TIMEOUT); // expired at T0 - TIMEOUT
    await ledger().claim(at('live'), T0, TIMEOUT);
    await ledger().skip(at('skipped'), 'paused', T0 - 60_000);
    await ledger().markRedriven((await ledger().claim(at('redriven'), T0 - 3 * TIMEOUT, TIMEOUT))!, T0 - 3 * TIMEOUT);
    const names = (records: FailureRecord[]) => records.map((r) => r.name);
    expect(names(await ledger().due(T0, 10))).toEqual(['abandoned-first', 'due-second']);
    expect(names(await ledger().due(T0, 1))).toEqual(['abandoned-first']);
  });

  it('backlog: how many records are pending or claimed, and the oldest due time', async () => {
    await expect(ledger().backlog()).resolves.toEqual({ count: 0, oldestDueAt: null });
    await ledger().schedule(facts({ redriveCount: 0 }), T0 + 60_000, T0);
    await ledger().claim(facts({ redriveCount: 1 }), T0, TIMEOUT);
    await ledger().skip(facts({ redriveCount: 2 }), 'paused', T0);
    await expect(ledger().backlog()).resolves.toEqual({ count: 2, oldestDueAt: T0 + 60_000 });
  });
});

describe('what is stored', () => {
  it('keeps the first 1000 characters of a cause, and a null cause as null', async () => {
    await ledger().skip(facts({ cause: 'x'.repeat(5_000) }), 'paused', T0);
    expect((await stored())?.cause).toBe('x'.repeat(1_000));
    await ledger().skip(facts({ cause: null }), 'paused', T0 + 1);
    expect((await stored())?.cause).toBeNull();
  });

  it('passes on errors other than a failed condition (a missing table is not a lost race)', async () => {
    const missing = new FailureLedger(table().doc, 'no-such-table', RETENTION_DAYS);
    await expect(missing.claim(facts(), T0, TIMEOUT)).rejects.toThrow(/non-existent table|not found/i);
    await expect(missing.skip(facts(), 'paused', T0)).rejects.toThrow();
  });
});

describe('toRecordState (what decide() sees of a record)', () => {
  const record = (overrides: Partial<FailureRecord>): FailureRecord => ({
    ...facts(),
    state: 'pending',
    reason: null,
    dueAt: null,
    claimToken: null,
    claimExpiresAt: null,
    attempts: 0,
    updatedAt: T0,
    ...overrides,
  });
  it.each<[string, Partial<FailureRecord>, ReturnType<typeof toRecordState>]>([
    ['pending', { state: 'pending', dueAt: T0 }, { state: 'pending', dueAt: T0 }],
    ['claimed', { state: 'claimed', claimExpiresAt: T0 + TIMEOUT }, { state: 'claimed', claimExpiresAt: T0 + TIMEOUT }],
    ['redriven', { state: 'redriven', reason: 'redriven' }, { state: 'redriven' }],
    ['skipped', { state: 'skipped', reason: 'paused' }, { state: 'skipped', reason: 'paused' }],
    ['pending without dueAt (due at once)', { state: 'pending' }, { state: 'pending', dueAt: 0 }],
    ['claimed without expiry (abandoned)', { state: 'claimed' }, { state: 'claimed', claimExpiresAt: 0 }],
    ['skipped without reason', { state: 'skipped' }, { state: 'skipped', reason: '' }],
  ])('%s', (_name, overrides, expected) => {
    expect(toRecordState(record(overrides))).toEqual(expected);
  });
});

// ---- held failures (the outage breaker, contract/breaker.ts) ------------------------------

/**
 * The held state: which records may be held, what a held record stores (its HELD shard and
 * stop time, so a group's held failures are one Query away, oldest first, and out of the
 * drain's DUE shard), and how a held record leaves that state.
 */
describe('held failures', () => {
  const T0 = 1_700_000_000_000;
  const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';
  const heldArn = (i: number) => `arn:aws:states:us-east-1:123456789012:execution:orders:run-${i}`;
  const SHARD = heldShard({ stateMachineArn: SM, errorName: 'Lambda.ServiceException' });

  const heldLedger = () => new FailureLedger(table().doc, table().name, 30);
  const storedHeld = (i = 0, count = 0) => table().item({ pk: `EXEC#${heldArn(i)}`, sk: `FAILURE#${String(count).padStart(7, '0')}` });

  function heldFacts(i = 0, overrides: Partial<FailureFacts> = {}): FailureFacts {
    return {
      executionArn: heldArn(i),
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
    expect(await heldLedger().hold(heldFacts(), 'breaker-open', SHARD, T0)).toBe(true);
    expect(await storedHeld()).toMatchObject({ state: 'held', reason: 'breaker-open', dueShard: `${SHARD}#0`, dueAt: T0 - 10_000, heldAt: T0, attempts: 0, errorName: 'Lambda.ServiceException' });
    expect(await heldLedger().due(T0 + 1e9, 100)).toEqual([]);
    expect((await heldLedger().backlog()).count).toBe(0);
    expect(await heldLedger().heldCount(SHARD)).toBe(1);
  });

  test('hold is allowed over a skip, a held record, a due pending redrive and an abandoned claim; refused over redriven, a live claim, a pending not due', async () => {
    const l = heldLedger();
    await l.skip(heldFacts(1), 'paused', T0);
    expect(await l.hold(heldFacts(1), 'breaker-open', SHARD, T0)).toBe(true);
    expect(await l.hold(heldFacts(1), 'breaker-open', SHARD, T0 + 1)).toBe(true);
    await l.schedule(heldFacts(2), T0, T0 - 5);
    expect(await l.hold(heldFacts(2), 'breaker-open', SHARD, T0)).toBe(true);
    await l.schedule(heldFacts(3), T0 + 60_000, T0);
    expect(await l.hold(heldFacts(3), 'breaker-open', SHARD, T0)).toBe(false);
    const live = await l.claim(heldFacts(4), T0, 180_000);
    expect(await l.hold(heldFacts(4), 'breaker-open', SHARD, T0 + 1)).toBe(false);
    expect(await l.hold(heldFacts(4), 'breaker-open', SHARD, T0 + 180_000)).toBe(true); // abandoned
    expect(await l.markRedriven(live!, T0 + 180_001)).toBe(false); // the old claim cannot settle it
    const done = await l.claim(heldFacts(5), T0, 180_000);
    await l.markRedriven(done!, T0);
    expect(await l.hold(heldFacts(5), 'breaker-open', SHARD, T0)).toBe(false);
    expect((await storedHeld(5))?.state).toBe('redriven');
  });

  test('held: oldest first, narrowed by stop time or state machine; heldCount counts the family', async () => {
    const l = heldLedger();
    for (const i of [3, 1, 4, 0, 2]) await l.hold(heldFacts(i), 'breaker-open', SHARD, T0);
    await l.hold(heldFacts(9, { stateMachineArn: `${SM}-other` }), 'exhausted', HELD_EXHAUSTED_SHARD, T0);
    await l.hold(heldFacts(8), 'exhausted', HELD_EXHAUSTED_SHARD, T0);
    const names = async (stream: AsyncIterable<FailureRecord>) => {
      const out: string[] = [];
      for await (const r of stream) out.push(r.name);
      return out;
    };
    expect(await names(l.held(SHARD, { pageSize: 2 }))).toEqual(['run-0', 'run-1', 'run-2', 'run-3', 'run-4']);
    expect(await names(l.held(SHARD, { stoppedBefore: T0 - 8_000 }))).toEqual(['run-0', 'run-1']);
    expect(await names(l.held(HELD_EXHAUSTED_SHARD, { stateMachineArn: SM, pageSize: 1 }))).toEqual(['run-8']);
    expect(await l.heldCount(SHARD)).toBe(5);
    expect(await l.heldCount(HELD_EXHAUSTED_SHARD)).toBe(2);
  });

  test('a held record leaves its shard when claimed (release, probe) or scheduled; a probe redrive is marked; holdClaim holds a claim', async () => {
    const l = heldLedger();
    for (const i of [0, 1, 2]) await l.hold(heldFacts(i), 'breaker-open', SHARD, T0);
    const claim = await l.claim(heldFacts(0), T0 + 1, 180_000);
    expect(claim).toBeDefined();
    expect(await storedHeld(0)).toMatchObject({ state: 'claimed', dueShard: 'DUE#0' });
    expect(await l.markRedriven(claim!, T0 + 2, 'probe-token')).toBe(true);
    expect(await storedHeld(0)).toMatchObject({ state: 'redriven', reason: 'probe', probeToken: 'probe-token' });
    expect(await l.schedule(heldFacts(1), T0 + 60_000, T0 + 1)).toBe(true);
    expect(await storedHeld(1)).toMatchObject({ state: 'pending', dueShard: 'DUE#0' });
    const again = await l.claim(heldFacts(2), T0 + 1, 180_000);
    expect(await l.holdClaim(again!, 'breaker-open', SHARD, T0 - 8_000, T0 + 2)).toBe(true);
    expect(await storedHeld(2)).toMatchObject({ state: 'held', reason: 'breaker-open', dueShard: `${SHARD}#0`, dueAt: T0 - 8_000, heldAt: T0 + 2 });
    expect(await storedHeld(2)).not.toHaveProperty('claimToken');
    expect(await l.holdClaim(again!, 'breaker-open', SHARD, T0 - 8_000, T0 + 3)).toBe(false); // no longer claimed
    expect(await l.heldCount(SHARD)).toBe(1);
  });

  test('a skip over a held record (given up at the window end, or by decide() on release) takes it out of the shard', async () => {
    const l = heldLedger();
    await l.hold(heldFacts(), 'exhausted', HELD_EXHAUSTED_SHARD, T0);
    expect(await l.skip(heldFacts(), 'redrive-window-ending', T0 + 1)).toBe(true);
    const item = await storedHeld();
    expect(item).toMatchObject({ state: 'skipped', reason: 'redrive-window-ending' });
    expect(item).not.toHaveProperty('dueShard');
    expect(await l.heldCount(HELD_EXHAUSTED_SHARD)).toBe(0);
  });
});

describe('a fresh failure: claimNew, supersede, and the audit entry in the settling write', () => {
  const decision = (at: number, action: AuditEntry['action'] = 'redriven'): AuditEntry => ({
    at, executionArn: ARN, stateMachineArn: facts().stateMachineArn, eventId: 'e-1', source: 'event', redriveCount: 0, status: 'FAILED',
    errorName: facts().errorName, decision: 'redrive', reason: 'no-delay', detail: 'redrive 1 of 3', policyKey: '*', action,
  });

  it('none -> claimed: the same item a claim writes (one PutItem, no read)', async () => {
    const claim = await ledger().claimNew(facts(), T0, TIMEOUT);
    expect(claim).toEqual({ executionArn: ARN, redriveCount: 0, token: expect.stringMatching(/^[0-9a-f-]{36}$/), attempts: 1 });
    expect(await stored()).toEqual(
      item({ state: 'claimed', claimToken: claim!.token, claimExpiresAt: T0 + TIMEOUT, dueShard: expect.stringMatching(/^DUE#\d+$/), dueAt: T0 + TIMEOUT, attempts: 1, updatedAt: T0, expiresAt: ttl(T0) }),
    );
  });

  it.each([
    ['skipped', () => ledger().skip(facts(), 'paused', T0 - 1_000)],
    ['due pending', () => ledger().schedule(facts(), T0 - 1, T0 - 1_000)],
    ['abandoned claim', () => ledger().claim(facts(), T0 - 2 * TIMEOUT, TIMEOUT)],
    ['redriven', async () => ledger().markRedriven((await ledger().claim(facts(), T0 - 1_000, TIMEOUT))!, T0 - 500)],
    ['held', () => ledger().hold(facts(), 'breaker-open', 'HELD#x', T0 - 1_000)],
    ['superseded', () => ledger().supersede(facts({ redriveCount: 1 }), T0 - 1_000)],
  ])('refused over any record, even a takeable one (%s): the caller reads the history', async (_state, setup) => {
    await setup();
    const before = await stored();
    await expect(ledger().claimNew(facts(), T0, TIMEOUT)).resolves.toBeUndefined();
    expect(await stored()).toEqual(before);
  });

  it('two at the same moment: exactly one wins', async () => {
    const claims = await Promise.all([ledger().claimNew(facts(), T0, TIMEOUT), ledger().claimNew(facts(), T0, TIMEOUT), ledger().claim(facts(), T0, TIMEOUT)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('supersede: record 0 as a stale-event skip that names the later failure, without the later failure\'s stop, error or cause', async () => {
    await expect(ledger().supersede(facts({ redriveCount: 2 }), T0)).resolves.toBe(true);
    expect(await stored()).toEqual(
      item({ state: 'skipped', reason: 'stale-event', supersededBy: 2, attempts: 0, updatedAt: T0, expiresAt: ttl(T0) }, facts({ redriveCount: 0, stopDate: null, errorName: null, cause: null })),
    );
    await expect(ledger().supersede(facts({ redriveCount: 3 }), T0 + 1)).resolves.toBe(false);
    expect((await stored())?.supersededBy).toBe(2);
  });

  it('supersede writes nothing over an existing record 0', async () => {
    await ledger().markRedriven((await ledger().claimNew(facts(), T0, TIMEOUT))!, T0 + 1);
    const before = await stored();
    await expect(ledger().supersede(facts({ redriveCount: 1 }), T0 + 2)).resolves.toBe(false);
    expect(await stored()).toEqual(before);
  });

  it('each settling write appends its decision (undefined fields dropped); one per claim attempt', async () => {
    const first = (await ledger().claimNew(facts(), T0, TIMEOUT))!;
    await expect(ledger().defer(first, T0 + 30_000, 'rate-limited', T0 + 1, { ...decision(T0 + 1, 'deferred'), actionDetail: undefined, dueAt: T0 + 30_000 })).resolves.toBe(true);
    const second = (await ledger().claim(facts(), T0 + 30_000, TIMEOUT))!;
    await expect(ledger().markRedriven(second, T0 + 30_001, undefined, decision(T0 + 30_001))).resolves.toBe(true);
    const record = (await stored()) as unknown as FailureRecord;
    expect(record.state).toBe('redriven');
    expect(record.decisions).toEqual([{ ...decision(T0 + 1, 'deferred'), dueAt: T0 + 30_000 }, decision(T0 + 30_001)]);
    expect(record.decisions![0]).not.toHaveProperty('actionDetail');
  });

  it('a schedule over a rejected record (PutItem, the record replaced whole) keeps the decisions it is given', async () => {
    const claim = (await ledger().claimNew(facts(), T0, TIMEOUT))!;
    await ledger().markRejected(claim, 'not-redrivable', T0 + 1, decision(T0 + 1, 'rejected'));
    const read = (await ledger().get(ARN, 0))!;
    await expect(ledger().schedule(facts(), T0 + 60_000, T0 + 2, read.decisions)).resolves.toBe(true);
    expect(await stored()).toMatchObject({ state: 'pending', decisions: [decision(T0 + 1, 'rejected')] });
  });

  it.each([
    ['skip', (d: AuditEntry) => ledger().skip(facts(), 'paused', T0, d), 'skipped'],
    ['hold', (d: AuditEntry) => ledger().hold(facts(), 'breaker-open', 'HELD#x', T0, d), 'held'],
    ['schedule', (d: AuditEntry) => ledger().schedule(facts(), T0 + 60_000, T0, undefined, d), 'pending'],
  ] as const)('the first write of a failure (%s) stores its decision with it', async (_op, write, state) => {
    await expect(write(decision(T0, 'held'))).resolves.toBe(true);
    expect(await stored()).toMatchObject({ state, decisions: [decision(T0, 'held')] });
  });

  it('a refused skip or hold stores no decision', async () => {
    await ledger().markRedriven((await ledger().claimNew(facts(), T0, TIMEOUT))!, T0 + 1);
    await expect(ledger().skip(facts(), 'paused', T0 + 2, decision(T0 + 2, 'skipped'))).resolves.toBe(false);
    await expect(ledger().hold(facts(), 'breaker-open', 'HELD#x', T0 + 2, decision(T0 + 2, 'held'))).resolves.toBe(false);
    expect(await stored()).not.toHaveProperty('decisions');
  });

  it('a refused settling write stores no decision', async () => {
    const claim = (await ledger().claimNew(facts(), T0, TIMEOUT))!;
    await ledger().markRedriven(claim, T0 + 1, undefined, decision(T0 + 1));
    await expect(ledger().markRejected(claim, 'not-redrivable', T0 + 2, decision(T0 + 2, 'rejected'))).resolves.toBe(false);
    expect(((await stored()) as unknown as FailureRecord).decisions).toHaveLength(1);
  });

  it(`after ${MAX_DECISIONS_IN_RECORD} claim attempts the record takes no more decisions (its size stays bounded)`, async () => {
    const late: Claim = { ...(await claimed(T0)), attempts: MAX_DECISIONS_IN_RECORD + 1 };
    expect(settlesWithDecision(late)).toBe(false);
    await expect(ledger().markRedriven(late, T0 + 1, undefined, decision(T0 + 1))).resolves.toBe(true);
    expect(await stored()).not.toHaveProperty('decisions');
  });
});

/**
 * The write-sharded byDue index (contract/due-shards.ts): each record goes to its
 * execution's shard, readers merge every shard and the values written before sharding
 * (`DUE`, `HELD#…`, `HELD-EXHAUSTED`), and a smaller shard count later strands nothing.
 */
describe('sharded byDue index', () => {
  const SHARDS = 8;
  const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';
  const GROUP_BASE = heldShard({ stateMachineArn: SM, errorName: 'Lambda.ServiceException' });
  const sharded = (shards = SHARDS) => new FailureLedger(table().doc, table().name, RETENTION_DAYS, shards);
  const run = (i: number, extra: Partial<FailureFacts> = {}) => facts({ executionArn: `${ARN}-${i}`, name: `run-${i}`, stopDate: T0 - 100_000 + i, ...extra });
  const storedOf = (i: number) => table().item({ pk: `EXEC#${ARN}-${i}`, sk: SK0 });
  /** A record as a version before sharding stored it: the unsharded value. */
  const legacy = (i: number, state: 'pending' | 'held', dueShard: string, dueAt: number) =>
    table().doc.send(new PutCommand({ TableName: table().name, Item: { pk: `EXEC#${ARN}-${i}`, sk: SK0, ...run(i), state, reason: state === 'held' ? 'breaker-open' : 'backoff', dueShard, dueAt, attempts: 0, updatedAt: T0 - 200_000, expiresAt: ttl(T0) } }));

  it('writes each record under its execution\'s shard; 40 executions use several shards', async () => {
    const l = sharded();
    for (let i = 0; i < 40; i++) await l.schedule(run(i), T0 - 1_000 + i, T0 - 60_000);
    const values = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const dueShard = (await storedOf(i))?.dueShard as string;
      expect(dueShard).toBe(`DUE#${shardOf(`${ARN}-${i}`, SHARDS)}`);
      values.add(dueShard);
    }
    expect(values.size).toBeGreaterThan(4);
  });

  it('due: oldest first across every shard and the legacy DUE value, up to the limit; backlog counts them all', async () => {
    const l = sharded();
    for (let i = 0; i < 30; i++) await l.schedule(run(i), T0 - 1_000 + ((i * 7) % 30), T0 - 60_000);
    await legacy(100, 'pending', 'DUE', T0 - 5_000);
    await legacy(101, 'pending', 'DUE', T0 + 60_000); // not due yet
    const due = await l.due(T0, 50);
    expect(due).toHaveLength(31);
    expect(due[0].name).toBe('run-100');
    expect(due.map((r) => r.dueAt)).toEqual([...due.map((r) => r.dueAt!)].sort((a, b) => a - b));
    expect((await l.due(T0, 5)).map((r) => r.name)).toEqual(due.slice(0, 5).map((r) => r.name));
    expect(await l.backlog()).toEqual({ count: 32, oldestDueAt: T0 - 5_000 });
  });

  it('a legacy DUE record is claimed into its shard and settles as before', async () => {
    const l = sharded();
    await legacy(7, 'pending', 'DUE', T0 - 5_000);
    const claim = await l.claim(run(7), T0, TIMEOUT);
    expect(claim).toBeDefined();
    expect(await storedOf(7)).toMatchObject({ state: 'claimed', dueShard: `DUE#${shardOf(`${ARN}-7`, SHARDS)}` });
    expect(await l.markRedriven(claim!, T0 + 1)).toBe(true);
    expect(await l.backlog()).toEqual({ count: 0, oldestDueAt: null });
  });

  it('held: a group\'s shards and its legacy value merged oldest first; heldCount counts them all; exhausted likewise', async () => {
    const l = sharded();
    for (const i of [5, 3, 9, 1, 7]) await l.hold(run(i), 'breaker-open', GROUP_BASE, T0);
    await legacy(4, 'held', GROUP_BASE, T0 - 100_000 + 4);
    await l.hold(run(20), 'exhausted', HELD_EXHAUSTED_SHARD, T0);
    await legacy(21, 'held', HELD_EXHAUSTED_SHARD, T0 - 200_000);
    const names: string[] = [];
    for await (const r of l.held(GROUP_BASE, { pageSize: 1 })) names.push(r.name);
    expect(names).toEqual(['run-1', 'run-3', 'run-4', 'run-5', 'run-7', 'run-9']);
    expect(await l.heldCount(GROUP_BASE)).toBe(6);
    expect(await l.heldCount(HELD_EXHAUSTED_SHARD)).toBe(2);
    const exhausted: string[] = [];
    for await (const r of l.held(HELD_EXHAUSTED_SHARD, { stateMachineArn: SM })) exhausted.push(r.name);
    expect(exhausted).toEqual(['run-21', 'run-20']);
  });

  it('fewer shards after a deploy with more: records in the higher shards are still read', async () => {
    const before = sharded(32);
    for (let i = 0; i < 40; i++) await before.schedule(run(i), T0 - 1_000, T0 - 60_000);
    for (let i = 40; i < 50; i++) await before.hold(run(i), 'breaker-open', GROUP_BASE, T0);
    const high = [];
    for (let i = 0; i < 40; i++) if (shardOf(`${ARN}-${i}`, 32) >= 2) high.push(i);
    expect(high.length).toBeGreaterThan(30);
    const after = sharded(2);
    expect(await after.due(T0, 100)).toHaveLength(40);
    expect((await after.backlog()).count).toBe(40);
    expect(await after.heldCount(GROUP_BASE)).toBe(10);
  });

  it('more shards after a deploy with fewer, or after the unsharded version: everything is still read', async () => {
    await legacy(0, 'pending', 'DUE', T0 - 1_000);
    await sharded(1).schedule(run(1), T0 - 1_000, T0 - 60_000);
    await sharded(2).schedule(run(2), T0 - 1_000, T0 - 60_000);
    expect((await sharded(16).due(T0, 10)).map((r) => r.name).sort()).toEqual(['run-0', 'run-1', 'run-2']);
  });
});

describe('TTL: records that may still be redriven outlive the redrive window, whatever the audit retention', () => {
  /** The shortest retention the construct accepts. */
  const shortLedger = () => new FailureLedger(table().doc, table().name, 1);
  const STOP = T0 - 1_000;
  /** 14-day window + 72 h (the widest hold margin) from the stop, in epoch seconds. */
  const liveUntil = Math.ceil((STOP + LIVE_RECORD_MIN_LIFE_MS) / 1000);
  const oneDay = (now: number) => Math.floor(now / 1000) + 86_400;
  const expiresAt = async () => ((await stored()) as { expiresAt: number }).expiresAt;
  const GROUP = heldShard({ stateMachineArn: facts().stateMachineArn, errorName: 'Lambda.ServiceException' });

  it('the window is 14 days plus the maximum hold margin (72 h)', () => {
    expect(LIVE_RECORD_MIN_LIFE_MS).toBe((14 * 24 + 72) * 3_600_000);
  });

  it('held (hold, and a held claim), pending (schedule, defer) and claimed (claim, claimNew): until window + margin after the stop', async () => {
    await shortLedger().hold(facts(), 'breaker-open', GROUP, T0);
    expect(await expiresAt()).toBe(liveUntil);
    await table().doc.send(new PutCommand({ TableName: table().name, Item: { pk: PK, sk: SK0, state: 'skipped', reason: 'x' } }));
    await shortLedger().schedule(facts(), T0 + 60_000, T0);
    expect(await expiresAt()).toBe(liveUntil);
    const claim = await shortLedger().claim(facts(), T0 + 60_000, TIMEOUT);
    expect(await expiresAt()).toBe(liveUntil);
    await shortLedger().defer(claim!, T0 + 120_000, 'rate-limited', T0 + 60_000);
    expect(await expiresAt()).toBe(liveUntil);
    const again = await shortLedger().claim(facts(), T0 + 120_000, TIMEOUT);
    await shortLedger().holdClaim(again!, 'breaker-open', GROUP, STOP, T0 + 120_000);
    expect(await expiresAt()).toBe(liveUntil);
  });

  it('a fresh claim (claimNew) held by the settling write keeps the long TTL', async () => {
    const claim = await shortLedger().claimNew(facts(), T0, TIMEOUT);
    expect(await expiresAt()).toBe(liveUntil);
    await shortLedger().holdClaim(claim!, 'breaker-open', GROUP, STOP, T0);
    expect(await expiresAt()).toBe(liveUntil);
  });

  it('settled records (redriven, skipped, rejected) go back to the audit retention', async () => {
    const claim = await shortLedger().claim(facts(), T0, TIMEOUT);
    await shortLedger().markRedriven(claim!, T0 + 1_000);
    expect(await expiresAt()).toBe(oneDay(T0 + 1_000));
    await table().doc.send(new PutCommand({ TableName: table().name, Item: { pk: PK, sk: SK0, state: 'held', reason: 'breaker-open' } }));
    await shortLedger().skip(facts(), 'redrive-window-ending', T0 + 2_000);
    expect(await expiresAt()).toBe(oneDay(T0 + 2_000));
    const rejected = await shortLedger().claim(facts(), T0 + 3_000, TIMEOUT);
    await shortLedger().markRejected(rejected!, 'not-redrivable', T0 + 3_000);
    expect(await expiresAt()).toBe(oneDay(T0 + 3_000));
  });

  it('a long audit retention is kept (the longer of the two)', async () => {
    await ledger().hold(facts(), 'breaker-open', GROUP, T0);
    expect(await expiresAt()).toBe(ttl(T0));
  });

  it('counted from the stop, not from the hold: a failure held 10 days after it stopped still outlives its window', async () => {
    const tenDaysLater = STOP + 10 * 86_400_000;
    await shortLedger().hold(facts(), 'breaker-open', GROUP, tenDaysLater);
    expect(await expiresAt()).toBe(liveUntil);
    expect(recordExpiresAt(tenDaysLater, 1, { stopDate: null })).toBe(Math.ceil((tenDaysLater + LIVE_RECORD_MIN_LIFE_MS) / 1000));
  });
});
