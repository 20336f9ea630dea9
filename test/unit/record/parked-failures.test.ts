/**
 * The directory of parked-failure families on dynalite: one entry per (reason, state
 * machine), touched before a park (at most once a minute per instance), listed for the
 * drain, and forgotten only when untouched for FORGET_AFTER_MS (conditionally: a writer
 * that touched it meanwhile keeps it). The park write itself is in failure-ledger.test.ts
 * style here too: a parked record stays in the byDue index under its family.
 */
import { PARKED_DIRECTORY, parkedFamily } from '../../../contract/due-shards';
import { FailureLedger } from '../../../lambda/record/failure-ledger';
import { FORGET_AFTER_MS, ParkedDirectory, TOUCH_EVERY_MS } from '../../../lambda/record/parked-failures';
import { useLedgerTable } from '../../support/dynalite';
import { failureFacts, T0 } from '../helpers';

const table = useLedgerTable();
const SM = failureFacts().stateMachineArn;
const BASE = parkedFamily('paused', SM);
const entry = () => table().item({ pk: BASE, sk: 'PARKED' });

test('touch writes the entry under PARKED_DIRECTORY; again only after TOUCH_EVERY_MS (per instance)', async () => {
  const dir = new ParkedDirectory(table().doc, table().name);
  await dir.touch('paused', SM, T0);
  expect(await entry()).toEqual({ pk: BASE, sk: 'PARKED', reason: 'paused', stateMachineArn: SM, dueShard: PARKED_DIRECTORY, dueAt: T0 });
  await dir.touch('paused', SM, T0 + TOUCH_EVERY_MS - 1);
  expect(await entry()).toMatchObject({ dueAt: T0 });
  await dir.touch('paused', SM, T0 + TOUCH_EVERY_MS);
  expect(await entry()).toMatchObject({ dueAt: T0 + TOUCH_EVERY_MS });
  expect(await dir.families()).toEqual([{ reason: 'paused', stateMachineArn: SM, base: BASE, touchedAt: T0 + TOUCH_EVERY_MS }]);
});

test('forget: not while recently touched; not when another writer touched it after the read; yes once untouched long enough', async () => {
  const drain = new ParkedDirectory(table().doc, table().name);
  await new ParkedDirectory(table().doc, table().name).touch('policy-disabled', SM, T0);
  const [family] = await drain.families();
  expect(await drain.forget(family, T0 + FORGET_AFTER_MS - 1)).toBe(false);
  // Another instance touches it (about to park a failure) after the drain read the directory.
  await new ParkedDirectory(table().doc, table().name).touch('policy-disabled', SM, T0 + FORGET_AFTER_MS);
  expect(await drain.forget(family, T0 + FORGET_AFTER_MS + 1)).toBe(false);
  expect(await drain.families()).toHaveLength(1);
  const [fresh] = await drain.families();
  expect(await drain.forget(fresh, T0 + 2 * FORGET_AFTER_MS)).toBe(true);
  expect(await drain.families()).toEqual([]);
});

test('park: the record is skipped with its reason, listed in its family at its stop time, with a live TTL; a claim takes it back', async () => {
  const ledger = new FailureLedger(table().doc, table().name, 1);
  await ledger.hold(failureFacts(), 'breaker-open', 'HELD#x', T0);
  expect(await ledger.park(failureFacts(), 'paused', T0 + 1_000)).toBe(true);
  const [record] = await ledger.failuresOf(failureFacts().executionArn);
  expect(record).toMatchObject({ state: 'skipped', reason: 'paused', dueShard: `${BASE}#0`, dueAt: failureFacts().stopDate, heldAt: T0 });
  expect((record as unknown as { expiresAt: number }).expiresAt).toBeGreaterThan(Math.floor(T0 / 1000) + 14 * 86_400);
  expect(await ledger.parked.families()).toEqual([expect.objectContaining({ base: BASE, touchedAt: T0 + 1_000 })]);
  expect(await ledger.heldCount(BASE)).toBe(1);
  expect(await ledger.claim(failureFacts(), T0 + 2_000, 60_000)).toBeDefined();
  expect(await ledger.heldCount(BASE)).toBe(0);
});
