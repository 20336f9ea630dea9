/** The drain lease against dynalite: DynamoDB's conditional-write semantics decide who runs. */
import { DrainLease } from '../../../lambda/record/drain-lease';
import { useLedgerTable } from '../../support/dynalite';

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const ledger = useLedgerTable();

/** A lease on this test's fresh ledger table. */
async function freshLease(): Promise<DrainLease> {
  return new DrainLease(ledger().doc, ledger().name);
}

test('a free lease is taken; while it is held, another run is refused and told who holds it until when', async () => {
  const lease = await freshLease();
  expect(await lease.acquire('run-a', T0, T0 + 5 * MIN)).toEqual({ acquired: true, expired: undefined });
  expect(await lease.acquire('run-b', T0 + MIN, T0 + 6 * MIN)).toEqual({ acquired: false, heldBy: { holder: 'run-a', until: T0 + 5 * MIN } });
  // Up to the last millisecond of the lease.
  expect((await lease.acquire('run-b', T0 + 5 * MIN - 1, T0 + 10 * MIN)).acquired).toBe(false);
});

test('a released lease is free for the next run at once', async () => {
  const lease = await freshLease();
  await lease.acquire('run-a', T0, T0 + 5 * MIN);
  await lease.release('run-a');
  expect(await lease.current()).toBeUndefined();
  expect(await lease.acquire('run-b', T0 + MIN, T0 + 6 * MIN)).toEqual({ acquired: true, expired: undefined });
});

test('an expired lease (a run that crashed) is taken over, and the takeover says whose it was', async () => {
  const lease = await freshLease();
  await lease.acquire('run-a', T0, T0 + 5 * MIN);
  expect(await lease.acquire('run-b', T0 + 5 * MIN, T0 + 10 * MIN)).toEqual({ acquired: true, expired: { holder: 'run-a', until: T0 + 5 * MIN } });
  expect(await lease.current()).toEqual({ holder: 'run-b', until: T0 + 10 * MIN });
});

test('a run whose lease was taken over cannot release the new holder\'s lease', async () => {
  const lease = await freshLease();
  await lease.acquire('run-a', T0, T0 + 5 * MIN);
  await lease.acquire('run-b', T0 + 6 * MIN, T0 + 11 * MIN);
  await lease.release('run-a'); // the late run finishes after all
  expect(await lease.current()).toEqual({ holder: 'run-b', until: T0 + 11 * MIN });
  expect((await lease.acquire('run-c', T0 + 7 * MIN, T0 + 12 * MIN)).acquired).toBe(false);
});

test('the holder may renew its own lease', async () => {
  const lease = await freshLease();
  await lease.acquire('run-a', T0, T0 + 5 * MIN);
  expect(await lease.acquire('run-a', T0 + MIN, T0 + 6 * MIN)).toEqual({ acquired: true, expired: undefined });
  expect(await lease.current()).toEqual({ holder: 'run-a', until: T0 + 6 * MIN });
});

test('of two runs racing for a free lease, exactly one gets it', async () => {
  const lease = await freshLease();
  const results = await Promise.all(['run-a', 'run-b', 'run-c'].map((h) => lease.acquire(h, T0, T0 + 5 * MIN)));
  expect(results.filter((r) => r.acquired)).toHaveLength(1);
});
